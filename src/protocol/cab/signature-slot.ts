// Authenticode signatures on cabinets, laid out as signtool and osslsigncode do:
// a 20-byte CFHEADER reserve (cbCFHeader = 20) holding
//   +0 (file offset 40) u32 0x00100000   marker osslsigncode insists on
//   +4 (44)             u32 signature offset (= cbCabinet, the end of the cabinet)
//   +8 (48)             u32 signature size, padded to a multiple of 8
//   +12..19 (52..59)    zero
// and the DER PKCS#7 SignedData appended after cbCabinet bytes.
//
// An unsigned but signable cabinet cannot leave offset and size at 0:
// osslsigncode (2.5 through 2.9, cab_verify_header / cab_ctx_get) requires,
// whenever the 20-byte reserve is present, offset + size = file size and both
// non-zero, and refuses to sign anything else. So ours carry a placeholder: the
// slot describes SLOT_PLACEHOLDER_BYTES zero bytes after cbCabinet. Zeros are
// not DER, so no reader mistakes them for a signature (see isEmptySlot);
// signing replaces them (osslsigncode hashes up to the slot offset, as we do).

/** Reserve sizes a cabinet needs to be signable: CFHEADER 20, CFFOLDER and CFDATA none. */
export const AUTHENTICODE_CAB_RESERVE = { header: 20, folder: 0, data: 0 } as const;

export const RESERVE_AT = 36;
export const SLOT_MARKER_AT = 40;
export const SLOT_OFFSET_AT = 44;
export const SLOT_SIZE_AT = 48;
export const SLOT_MARKER = 0x00100000;
/** CFHEADER (36) + reserve sizes (4) + the 20-byte signature slot. */
export const SIGNABLE_HEADER_SIZE = 60;
const FLAG_RESERVE_PRESENT = 0x0004;
/** Zero bytes an unsigned signable cabinet carries in its slot (osslsigncode needs a non-empty slot). */
export const SLOT_PLACEHOLDER_BYTES = 8;

/** Where an existing signature lies, or undefined when the cabinet has no slot or it is empty. */
export function cabinetSignatureSlot(cab: Uint8Array): { offset: number; size: number } | undefined {
  const view = Buffer.from(cab.buffer, cab.byteOffset, cab.byteLength);
  if (cab.length < SIGNABLE_HEADER_SIZE || !(view.readUInt16LE(30) & FLAG_RESERVE_PRESENT)) return undefined;
  if (view.readUInt32LE(RESERVE_AT) !== AUTHENTICODE_CAB_RESERVE.header) return undefined;
  if (view.readUInt32LE(SLOT_MARKER_AT) !== SLOT_MARKER) return undefined;
  const offset = view.readUInt32LE(SLOT_OFFSET_AT);
  const size = view.readUInt32LE(SLOT_SIZE_AT);
  return offset === 0 || size === 0 ? undefined : { offset, size };
}


/** True when the slot's bytes are the unsigned placeholder (all zero): no signature yet. */
export function isEmptySlot(signature: Uint8Array): boolean {
  return signature.every((b) => b === 0);
}
