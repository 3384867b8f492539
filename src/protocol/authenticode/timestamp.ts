// RFC 3161 timestamps for our Authenticode signatures, the way signtool
// (/tr) and osslsigncode (-ts) attach them: the TSA is asked to stamp a SHA-256
// hash of the SignerInfo's signature value (encryptedDigest), and its token
// (a ContentInfo(SignedData) over a TSTInfo) goes back into that SignerInfo as
// the unsigned attribute 1.3.6.1.4.1.311.3.3.1. The HTTP exchange lives in
// src/services/signing/timestamp-client.ts; this file is bytes only.

import { createHash, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import {
  TIMESTAMP_OID,
  TimestampError,
  derBytes,
  kids,
  oidAt,
  parseTimeStampToken,
  prim,
  strictDer,
  tagged,
  verifyTimeStampTokenSignature,
} from './timestamp-token.js';
import { derElementLength } from './verify-signed-data.js';

export { TIMESTAMP_OID, TimestampError } from './timestamp-token.js';

const { asn1 } = forge;
type Asn1 = forge.asn1.Asn1;
const U = asn1.Class.UNIVERSAL;
const CTX = asn1.Class.CONTEXT_SPECIFIC;
const T = asn1.Type;

const SHA256 = '2.16.840.1.101.3.4.2.1';
const binary = (bytes: Uint8Array): string => Buffer.from(bytes).toString('binary');

/** The SignerInfo node of a DER ContentInfo(SignedData) with exactly one signer. */
function signerInfoOf(root: Asn1): Asn1 {
  const [type, wrapped] = kids(tagged(root, U, T.SEQUENCE, 'ContentInfo'), 'ContentInfo');
  if (oidAt(type, 'ContentInfo.contentType') !== TIMESTAMP_OID.signedData) throw new TimestampError('not a SignedData');
  const fields = kids(kids(tagged(wrapped, CTX, 0, 'ContentInfo.content'), 'content')[0], 'SignedData');
  const signers = kids(tagged(fields[fields.length - 1], U, T.SET, 'signerInfos'), 'signerInfos');
  if (signers.length !== 1) throw new TimestampError('expected exactly one SignerInfo');
  return tagged(signers[0], U, T.SEQUENCE, 'SignerInfo');
}

/** The SignerInfo's encryptedDigest (signature value): what an Authenticode timestamp covers. */
export function signatureValueOf(signedData: Uint8Array): Buffer {
  const fields = kids(signerInfoOf(strictDer(signedData, 'SignedData')), 'SignerInfo');
  // version, sid, digestAlgorithm, [0] attributes, signatureAlgorithm, signature, [1]?
  const signature = fields.find((n, i) => i >= 4 && n.tagClass === U && n.type === T.OCTETSTRING);
  if (!signature) throw new TimestampError('SignerInfo has no signature value');
  return prim(signature, T.OCTETSTRING, 'SignerInfo.signature');
}

export interface TimeStampRequest {
  readonly der: Buffer;
  /** INTEGER content bytes of the nonce, to check against the reply. */
  readonly nonce: Buffer;
  /** SHA-256 of the signature value. */
  readonly imprint: Buffer;
}

/** A TimeStampReq (v1, SHA-256 imprint of `signatureValue`, random 64-bit nonce, certReq true). */
export function buildTimeStampRequest(signatureValue: Uint8Array, nonce: Uint8Array = randomBytes(8)): TimeStampRequest {
  // A positive INTEGER in minimal form: no leading zero byte, high bit clear.
  const n = Buffer.from(nonce);
  n[0] = (n[0] & 0x7f) | 0x01;
  const imprint = createHash('sha256').update(signatureValue).digest();
  const request = asn1.create(U, T.SEQUENCE, true, [
    asn1.create(U, T.INTEGER, false, String.fromCharCode(1)),
    asn1.create(U, T.SEQUENCE, true, [
      asn1.create(U, T.SEQUENCE, true, [
        asn1.create(U, T.OID, false, asn1.oidToDer(SHA256).getBytes()),
        asn1.create(U, T.NULL, false, ''),
      ]),
      asn1.create(U, T.OCTETSTRING, false, binary(imprint)),
    ]),
    asn1.create(U, T.INTEGER, false, binary(n)),
    asn1.create(U, T.BOOLEAN, false, String.fromCharCode(0xff)),
  ]);
  return { der: derBytes(request), nonce: n, imprint };
}

const STATUS_TEXT = ['granted', 'grantedWithMods', 'rejection', 'waiting', 'revocationWarning', 'revocationNotification'];
const FAILURE_BITS = ['badAlg', '', 'badRequest', '', '', 'badDataFormat', '', '', '', '', '', '', '', '', 'timeNotAvailable', 'unacceptedPolicy', 'unacceptedExtension', 'addInfoNotAvailable', '', '', '', '', '', '', '', 'systemFailure'];

/**
 * Parses a DER TimeStampResp strictly: status granted or grantedWithMods, a
 * token whose imprint is the request's, whose nonce is echoed, and whose TSA
 * signature verifies (trust in the TSA is the verifier's business). Returns
 * the token's DER and its time.
 */
export function parseTimeStampResponse(der: Uint8Array, request: TimeStampRequest): { token: Buffer; genTime: Date } {
  // The same strict pre-scan as signatures get (definite minimal lengths, bounded depth), and nothing after it.
  let length: number;
  try {
    length = derElementLength(der);
  } catch (error) {
    throw new TimestampError(`TimeStampResp is not valid DER: ${(error as Error).message}`);
  }
  if (length !== der.length) throw new TimestampError('TimeStampResp has trailing bytes');
  const fields = kids(tagged(strictDer(der, 'TimeStampResp'), U, T.SEQUENCE, 'TimeStampResp'), 'TimeStampResp');
  if (fields.length < 1 || fields.length > 2) throw new TimestampError('TimeStampResp has an unexpected shape');
  const statusInfo = kids(tagged(fields[0], U, T.SEQUENCE, 'PKIStatusInfo'), 'PKIStatusInfo');
  const statusBytes = prim(statusInfo[0], T.INTEGER, 'PKIStatus');
  const status = statusBytes.length === 1 ? statusBytes[0] : -1;
  if (status !== 0 && status !== 1) {
    throw new TimestampError(`the TSA refused: ${statusDescription(status, statusInfo.slice(1))}`);
  }
  if (fields.length !== 2) throw new TimestampError('the TSA granted a timestamp but sent no token');
  const token = derBytes(tagged(fields[1], U, T.SEQUENCE, 'TimeStampToken'));
  const parsed = parseTimeStampToken(token);
  if (!parsed.info.imprint.equals(request.imprint)) {
    throw new TimestampError('the TSA stamped a different message imprint');
  }
  if (parsed.info.imprintAlgorithm !== 'sha256') throw new TimestampError('the TSA answered with a different imprint algorithm');
  if (!parsed.info.nonce || !stripZeros(parsed.info.nonce).equals(stripZeros(request.nonce))) {
    throw new TimestampError('the TSA answered with a different nonce (a replayed or foreign response)');
  }
  verifyTimeStampTokenSignature(parsed);
  return { token, genTime: parsed.info.genTime };
}

const stripZeros = (b: Buffer): Buffer => {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
};

function statusDescription(status: number, rest: Asn1[]): string {
  const parts = [STATUS_TEXT[status] ?? `status ${status}`];
  for (const node of rest) {
    if (node.tagClass === U && node.type === T.SEQUENCE) {
      const texts = kids(node, 'statusString').map((s) => (typeof s.value === 'string' ? forge.util.decodeUtf8(s.value) : ''));
      parts.push(JSON.stringify(texts.join('; ').slice(0, 200)));
    } else if (node.tagClass === U && node.type === T.BITSTRING && typeof node.value === 'string') {
      const bits = Buffer.from(node.value, 'binary').subarray(1);
      const names = FAILURE_BITS.filter((name, bit) => name && bits[bit >> 3] & (0x80 >> (bit & 7)));
      if (names.length > 0) parts.push(`(${names.join(', ')})`);
    }
  }
  return parts.join(' ');
}

/**
 * Adds `token` (a DER TimeStampToken) to the SignedData's only SignerInfo as
 * the unsigned attribute 1.3.6.1.4.1.311.3.3.1, replacing an earlier timestamp
 * of either kind; everything else is re-encoded unchanged (DER).
 */
export function embedTimeStampToken(signedData: Uint8Array, token: Uint8Array): Buffer {
  const root = strictDer(signedData, 'SignedData');
  const signerInfo = signerInfoOf(root);
  const fields = signerInfo.value as Asn1[];
  let unsigned = fields[fields.length - 1];
  if (!(unsigned.tagClass === CTX && unsigned.type === 1)) {
    unsigned = asn1.create(CTX, 1, true, []);
    fields.push(unsigned);
  }
  const kept = kids(unsigned, 'unauthenticatedAttributes').filter((attribute) => {
    const id = oidAt(kids(attribute, 'Attribute')[0], 'Attribute.type');
    return id !== TIMESTAMP_OID.rfc3161Countersignature && id !== TIMESTAMP_OID.pkcs9Countersignature;
  });
  const attribute = asn1.create(U, T.SEQUENCE, true, [
    asn1.create(U, T.OID, false, asn1.oidToDer(TIMESTAMP_OID.rfc3161Countersignature).getBytes()),
    asn1.create(U, T.SET, true, [strictDer(token, 'TimeStampToken')]),
  ]);
  // SET OF in DER order: by encoding.
  unsigned.value = [...kept, attribute].sort((a, b) => Buffer.compare(padTo(derBytes(a), derBytes(b)), padTo(derBytes(b), derBytes(a))));
  return derBytes(root);
}

const padTo = (a: Buffer, b: Buffer): Buffer => (a.length >= b.length ? a : Buffer.concat([a, Buffer.alloc(b.length - a.length)]));
