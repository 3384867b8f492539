// One entry point for checking the Authenticode signature of a file on disk,
// whatever signable format it is: PE images (.exe/.dll/.sys), cabinets
// (.cab/.msu payloads) and compound files (.msi/.msp). Only headers, the
// signature and the digested ranges are read, through positioned reads and a
// 1 MiB hashing buffer, so a multi-GB file costs bounded memory. Bad content
// never throws (it is reported as a failure with a reason); I/O errors do.
//
// Only the primary signature is checked: nested signatures (unauthenticated
// attribute 1.3.6.1.4.1.311.2.4.1, e.g. a SHA-1 signature carrying a SHA-256
// one) are ignored, so a file is accepted when its primary signature verifies.

import { createHash, timingSafeEqual, type X509Certificate } from 'node:crypto';
import { open } from 'node:fs/promises';
import {
  SIGNABLE_HEADER_SIZE,
  SLOT_MARKER,
  SLOT_MARKER_AT,
  SLOT_OFFSET_AT,
  SLOT_SIZE_AT,
  RESERVE_AT,
  AUTHENTICODE_CAB_RESERVE,
} from '../cab/signature-slot.js';
import { CFB_MAGIC, openCompoundFile } from '../msi/compound-file.js';
import { FileStructureError, PositionedReader } from '../msi/positioned-reader.js';
import { msiAuthenticodeDigest, msiSignature } from './msi-authenticode.js';
import { peAuthenticodeDigest, peSignature } from './pe-authenticode.js';
import { looksLikePe, readPeLayout } from './pe-image.js';
import {
  AuthenticodeVerifyError,
  type AuthenticodeFailure,
  parseAuthenticodeSignedData,
  verifyParsedSignedData,
  type VerifiedSigner,
} from './verify-signed-data.js';

export type SignableKind = 'pe' | 'cab' | 'msi';

export type SignatureFailure = 'unsigned' | AuthenticodeFailure;

export type FileSignatureCheck =
  | { kind: SignableKind; ok: true; signer: { subject: string; thumbprintSha1: string }; timestampedAt?: Date }
  | { kind: SignableKind; ok: false; reason: SignatureFailure; detail: string };

const MAX_CAB_SIGNATURE_BYTES = 1024 * 1024;

/**
 * The signable kind by magic bytes: 'MZ' → pe, 'MSCF' → cab, the compound-file
 * signature → msi (MSI, MSP or any CFB). Eight bytes suffice; given 64 bytes or
 * more, an 'MZ' file whose e_lfanew lies within `head` must have a PE signature there.
 */
export function signableKindOf(head: Uint8Array): SignableKind | null {
  if (head.length >= 4 && Buffer.from(head.subarray(0, 4)).toString('latin1') === 'MSCF') return 'cab';
  if (head.length >= 8 && Buffer.from(head.subarray(0, 8)).equals(CFB_MAGIC)) return 'msi';
  return looksLikePe(head) === false ? null : 'pe';
}

/**
 * Verifies the file's Authenticode signature against `trust` at time `at`.
 * Null when the file is not a signable kind (including an 'MZ' file without a PE header).
 */
export async function verifyFileSignature(
  path: string,
  trust: readonly X509Certificate[],
  at: Date,
): Promise<FileSignatureCheck | null> {
  const handle = await open(path, 'r');
  try {
    const reader = new PositionedReader(handle, (await handle.stat()).size);
    const head = await reader.read(0, Math.min(reader.size, 8));
    const kind = signableKindOf(head);
    if (!kind) return null;
    try {
      return await verifyKind(kind, reader, trust, at);
    } catch (error) {
      return { kind, ok: false, ...failureOf(error) };
    }
  } finally {
    await handle.close();
  }
}

/** A file's own digest and its embedded SignedData (undefined when unsigned). */
interface Signable {
  signature: Buffer | undefined;
  digest(algorithm: string): Promise<Buffer>;
}

async function verifyKind(
  kind: SignableKind,
  reader: PositionedReader,
  trust: readonly X509Certificate[],
  at: Date,
): Promise<FileSignatureCheck | null> {
  let signable: Signable;
  if (kind === 'pe') {
    const layout = await readPeLayout(reader);
    if (!layout) return null;
    signable = { signature: await peSignature(reader, layout), digest: (a) => peAuthenticodeDigest(reader, layout, a) };
  } else if (kind === 'cab') {
    signable = await cabinetSignable(reader);
  } else {
    const file = await openCompoundFile(reader);
    signable = { signature: await msiSignature(file), digest: (a) => msiAuthenticodeDigest(file, a) };
  }
  if (!signable.signature) return { kind, ok: false, reason: 'unsigned', detail: 'the file has no Authenticode signature' };

  const parsed = parseAuthenticodeSignedData(signable.signature);
  // Chain and signature first: cheap, and spares hashing gigabytes for an untrusted signer.
  const signer: VerifiedSigner & { timestampedAt?: Date } = verifyParsedSignedData(parsed, trust, at);
  const actual = await signable.digest(parsed.indirect.digestAlgorithm);
  const expected = parsed.indirect.digest;
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    return { kind, ok: false, reason: 'digest-mismatch', detail: 'the file does not match its signed digest' };
  }
  const result: FileSignatureCheck = {
    kind,
    ok: true,
    signer: { subject: signer.subject, thumbprintSha1: signer.thumbprintSha1 },
  };
  if (signer.timestampedAt) result.timestampedAt = signer.timestampedAt;
  return result;
}

/**
 * A cabinet's signature slot and digest (see signature-slot.ts and
 * cabinetAuthenticodeDigest), read from the file instead of memory.
 */
async function cabinetSignable(reader: PositionedReader): Promise<Signable> {
  if (reader.size < 36) throw new FileStructureError('cabinet: truncated header');
  const header = await reader.read(0, Math.min(reader.size, SIGNABLE_HEADER_SIZE));
  const flags = header.readUInt16LE(30);
  const cbCabinet = header.readUInt32LE(8);
  const unsigned = { signature: undefined, digest: () => Promise.reject(new Error('unsigned')) };
  if (
    header.length < SIGNABLE_HEADER_SIZE ||
    !(flags & 0x0004) ||
    header.readUInt32LE(RESERVE_AT) !== AUTHENTICODE_CAB_RESERVE.header ||
    header.readUInt32LE(SLOT_MARKER_AT) !== SLOT_MARKER
  ) {
    return unsigned;
  }
  const offset = header.readUInt32LE(SLOT_OFFSET_AT);
  const size = header.readUInt32LE(SLOT_SIZE_AT);
  if (offset === 0 && size === 0) return unsigned;
  if (flags & 0x0003) throw new FileStructureError('cabinet: signed cabinet sets are not supported');
  if (offset !== cbCabinet || size === 0 || offset + size !== reader.size) {
    throw new FileStructureError('cabinet: the signature slot does not describe the bytes after the cabinet');
  }
  if (size > MAX_CAB_SIGNATURE_BYTES) throw new FileStructureError('cabinet: signature too large');
  const signature = await reader.read(offset, size);
  // An unsigned but signable cabinet carries a zero-filled placeholder slot (see signature-slot.ts).
  if (signature.every((b) => b === 0)) return unsigned;
  return {
    signature,
    async digest(algorithm) {
      // The header minus reserved1 (4..7) and iCabinet through the slot's offset/size (34..55).
      const hash = createHash(algorithm);
      await reader.hashRange(hash, 0, 4);
      await reader.hashRange(hash, 8, 34);
      await reader.hashRange(hash, 56, cbCabinet);
      return hash.digest();
    },
  };
}

function failureOf(error: unknown): { reason: SignatureFailure; detail: string } {
  if (error instanceof AuthenticodeVerifyError) return { reason: error.code, detail: error.message };
  if (error instanceof FileStructureError) return { reason: 'malformed', detail: error.message };
  // fs errors (EIO, EISDIR, …) carry a syscall: those are I/O failures, not content.
  if (error && typeof error === 'object' && 'syscall' in error) throw error;
  return { reason: 'malformed', detail: (error as Error)?.message ?? String(error) };
}
