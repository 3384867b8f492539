// Authenticode signatures on cabinets (digest, signing, extraction); the slot
// layout is described in signature-slot.ts.

import { createHash } from 'node:crypto';
import {
  OID,
  obsoleteSpcLink,
  signIndirectData,
  spcIndirectDataContent,
  type AuthenticodeSigner,
} from '../authenticode/signed-data.js';
import { buildCabinet } from './cabinet-writer.js';
import { CabinetFormatError } from './errors.js';
import {
  AUTHENTICODE_CAB_RESERVE,
  RESERVE_AT,
  SIGNABLE_HEADER_SIZE,
  SLOT_MARKER,
  SLOT_MARKER_AT,
  SLOT_OFFSET_AT,
  SLOT_PLACEHOLDER_BYTES,
  SLOT_SIZE_AT,
  cabinetSignatureSlot,
  isEmptySlot,
} from './signature-slot.js';

export { AUTHENTICODE_CAB_RESERVE, cabinetSignatureSlot } from './signature-slot.js';

const FLAG_RESERVE_PRESENT = 0x0004;
const FLAG_PREV_OR_NEXT = 0x0003;

/**
 * A one-folder cabinet with the header reserve a signature needs (see
 * signCabinet) and the placeholder slot osslsigncode accepts for signing.
 */
export function buildSignableCabinet(
  files: readonly { name: string; data: Uint8Array }[],
  compression: 'none' | 'mszip',
): Buffer {
  const cab = buildCabinet(files, compression, { reserve: AUTHENTICODE_CAB_RESERVE });
  cab.writeUInt32LE(SLOT_MARKER, SLOT_MARKER_AT);
  cab.writeUInt32LE(cab.length, SLOT_OFFSET_AT);
  cab.writeUInt32LE(SLOT_PLACEHOLDER_BYTES, SLOT_SIZE_AT);
  return Buffer.concat([cab, Buffer.alloc(SLOT_PLACEHOLDER_BYTES)]);
}

/**
 * The Authenticode digest of a cabinet, as osslsigncode computes it: the
 * header minus reserved1 (4..7) and iCabinet through the slot's offset/size
 * (34..55), then everything from the CFFOLDERs up to the signature.
 */
export function cabinetAuthenticodeDigest(cab: Uint8Array, algorithm = 'sha256'): Buffer {
  const view = Buffer.from(cab.buffer, cab.byteOffset, cab.byteLength);
  requireSignable(view);
  const end = view.readUInt32LE(8);
  return createHash(algorithm)
    .update(view.subarray(0, 4))
    .update(view.subarray(8, 34))
    .update(view.subarray(56, end))
    .digest();
}

/** The SignedData over a cabinet's Authenticode digest (SpcIndirectData of type spcCabData). */
export function cabinetSignedData(digest: Uint8Array, signer: AuthenticodeSigner, signingTime?: Date): Buffer {
  return signIndirectData(spcIndirectDataContent(OID.spcCabData, obsoleteSpcLink(), digest), signer, signingTime);
}

/** osslsigncode and signtool pad the blob with zeros to 8 bytes and record the padded size. */
export function padSignatureBlob(signature: Uint8Array): Buffer {
  const padded = Buffer.alloc(Math.ceil(signature.length / 8) * 8);
  padded.set(signature);
  return padded;
}

/**
 * Signs a cabinet made by buildSignableCabinet (any existing signature is
 * replaced) and returns the cabinet with its SignedData appended.
 */
export function signCabinet(cab: Uint8Array, signer: AuthenticodeSigner, signingTime?: Date): Buffer {
  const unsigned = Buffer.from(cab.subarray(0, requireSignable(Buffer.from(cab)).readUInt32LE(8)));
  const padded = padSignatureBlob(cabinetSignedData(cabinetAuthenticodeDigest(unsigned), signer, signingTime));
  unsigned.writeUInt32LE(unsigned.length, SLOT_OFFSET_AT);
  unsigned.writeUInt32LE(padded.length, SLOT_SIZE_AT);
  return Buffer.concat([unsigned, padded]);
}

/** The DER SignedData of a signed cabinet (padding included), or undefined when unsigned (or a placeholder). */
export function cabinetSignature(cab: Uint8Array): Uint8Array | undefined {
  const slot = cabinetSignatureSlot(cab);
  const bytes = slot ? cab.subarray(slot.offset, slot.offset + slot.size) : undefined;
  return bytes && bytes.length > 0 && !isEmptySlot(bytes) ? bytes : undefined;
}

/** Throws CabinetFormatError unless `view` starts with a signable CFHEADER (see signature-slot.ts). */
export function requireSignable(view: Buffer, totalLength = view.length): Buffer {
  const problem =
    view.length < SIGNABLE_HEADER_SIZE || view.toString('latin1', 0, 4) !== 'MSCF'
      ? 'not a cabinet'
      : !(view.readUInt16LE(30) & FLAG_RESERVE_PRESENT) || view.readUInt32LE(RESERVE_AT) !== 20
        ? 'cabinet lacks the 20-byte CFHEADER reserve a signature needs (build it with buildSignableCabinet)'
        : view.readUInt16LE(30) & FLAG_PREV_OR_NEXT
          ? 'cabinet sets cannot be signed'
          : view.readUInt32LE(8) > totalLength || view.readUInt32LE(8) < SIGNABLE_HEADER_SIZE
            ? 'cabinet is truncated'
            : undefined;
  if (problem) throw new CabinetFormatError(problem, problem === 'cabinet is truncated' ? 'truncated' : 'unsupported');
  return view;
}
