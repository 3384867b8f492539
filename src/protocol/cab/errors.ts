// One error type for every way a cabinet can be refused, so callers that take
// cabinets from the network (MS-WSUSSS GetUpdateData) need a single catch.

/**
 * Why a cabinet was refused:
 * - `corrupt`: the structure or the compressed stream is inconsistent;
 * - `truncated`: the data ends before a structure or a stream does;
 * - `unsupported`: valid per [MS-CAB] but outside what this reader handles
 *   (Quantum, cabinet sets);
 * - `limit`: a caller-supplied cap (size, member count) would be exceeded.
 */
export type CabinetErrorCode = 'corrupt' | 'truncated' | 'unsupported' | 'limit';

/** Raised for any malformed, truncated, unsupported or over-limit cabinet. */
export class CabinetFormatError extends Error {
  override readonly name = 'CabinetFormatError';
  readonly code: CabinetErrorCode;

  constructor(message: string, code: CabinetErrorCode = 'corrupt') {
    super(message);
    this.code = code;
  }
}
