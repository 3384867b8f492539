// Authenticode verification of cabinets: the SignedData in the CFHEADER
// signature slot must verify (see verify-signed-data.ts) and its signed digest
// must equal the cabinet's own Authenticode digest. Never throws.

import { timingSafeEqual } from 'node:crypto';
import {
  AuthenticodeVerifyError,
  type AuthenticodeFailure,
  type CertificateInput,
  verifyAuthenticodeSignedData,
} from '../authenticode/verify-signed-data.js';
import { cabinetAuthenticodeDigest } from './authenticode-cab.js';
import { cabinetSignatureSlot, isEmptySlot } from './signature-slot.js';

export type CabinetVerification =
  | {
      readonly ok: true;
      readonly signer: { readonly subject: string; readonly thumbprintSha1: string };
      /** Set when a valid timestamp fixed the time the certificates were checked at. */
      readonly timestampedAt?: Date;
    }
  | { readonly ok: false; readonly reason: 'unsigned' | AuthenticodeFailure; readonly detail: string };

const fail = (reason: 'unsigned' | AuthenticodeFailure, detail: string): CabinetVerification => ({
  ok: false,
  reason,
  detail,
});

/**
 * Verifies a cabinet's Authenticode signature against `trust` (root or
 * directly trusted certificates) at time `at`.
 */
export function verifyCabinet(bytes: Uint8Array, trust: readonly CertificateInput[], at: Date = new Date()): CabinetVerification {
  try {
    return verifyUnchecked(bytes, trust, at);
  } catch (error) {
    if (error instanceof AuthenticodeVerifyError) return fail(error.code, error.message);
    return fail('malformed', (error as Error)?.message ?? String(error));
  }
}

function verifyUnchecked(bytes: Uint8Array, trust: readonly CertificateInput[], at: Date): CabinetVerification {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.length < 36 || view.toString('latin1', 0, 4) !== 'MSCF') return fail('malformed', 'not a cabinet');
  const slot = cabinetSignatureSlot(view);
  if (!slot) return fail('unsigned', 'the cabinet has no Authenticode signature');
  const cbCabinet = view.readUInt32LE(8);
  if (slot.offset !== cbCabinet || slot.offset + slot.size !== view.length) {
    return fail('malformed', 'the signature slot does not describe the bytes after the cabinet');
  }
  const blob = view.subarray(slot.offset, slot.offset + slot.size);
  if (isEmptySlot(blob)) return fail('unsigned', 'the cabinet has an empty signature slot (not signed yet)');
  const { parsed, signer } = verifyAuthenticodeSignedData(blob, trust, at);
  const actual = cabinetAuthenticodeDigest(view, parsed.indirect.digestAlgorithm);
  if (actual.length !== parsed.indirect.digest.length || !timingSafeEqual(actual, parsed.indirect.digest)) {
    return fail('digest-mismatch', 'the cabinet does not match the signed digest');
  }
  return {
    ok: true,
    signer: { subject: signer.subject, thumbprintSha1: signer.thumbprintSha1 },
    ...(signer.timestampedAt ? { timestampedAt: signer.timestampedAt } : {}),
  };
}
