// Timestamp evidence attached to an Authenticode SignerInfo as an unsigned
// attribute, parsed strictly and checked cryptographically (not for trust):
// - Microsoft's RFC 3161 countersignature (1.3.6.1.4.1.311.3.3.1): the value is
//   a TimeStampToken, i.e. a ContentInfo(SignedData) whose content is a TSTInfo
//   and whose messageImprint is a hash of the outer SignerInfo's signature value;
// - the legacy PKCS#9 countersignature (1.2.840.113549.1.9.6) on older Microsoft
//   files: a bare SignerInfo whose messageDigest attribute is a hash of that
//   signature value and whose signingTime attribute is the timestamp time; the
//   countersigner's certificate travels in the outer SignedData.
// Whether the TSA is trusted at the returned time is verify-signed-data.ts's job.

import { X509Certificate, createHash, timingSafeEqual, verify as cryptoVerify } from 'node:crypto';
import {
  CTX,
  SIGNATURE_ALGORITHMS,
  T,
  U,
  certificateTbs,
  derOf,
  derReader,
  hasIssuerAndSerial,
  isContext,
  strictFromDer,
  type Asn1,
} from './der-reader.js';

export const TIMESTAMP_OID = {
  rfc3161Countersignature: '1.3.6.1.4.1.311.3.3.1',
  pkcs9Countersignature: '1.2.840.113549.1.9.6',
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  timeStampingEku: '1.3.6.1.5.5.7.3.8',
} as const;

/** A token is a few KiB; anything near this is not one. */
const MAX_TOKEN_BYTES = 256 * 1024;

/** Why timestamp evidence was refused; the message says what exactly. */
export class TimestampError extends Error {
  override readonly name = 'TimestampError';
}

const bad = (why: string): TimestampError => new TimestampError(why);

// ---- strict forge helpers (der-reader.ts; each throws TimestampError on a shape mismatch) ----

/** forge's strict reader over a bounded input; TimestampError when too large or not DER. */
export function strictDer(bytes: Uint8Array, what: string): Asn1 {
  if (bytes.length > MAX_TOKEN_BYTES) throw bad(`${what} is too large`);
  try {
    return strictFromDer(bytes);
  } catch (error) {
    throw bad(`${what} is not valid DER: ${(error as Error).message}`);
  }
}

const reader = derReader(bad);
export const { children: kids, expect: tagged, primitive: prim, oid: oidAt, digestName: digestNameAt } = reader;
export const derBytes = derOf;

/** GeneralizedTime as RFC 3161/5280 require it: UTC ("Z"), optional fraction without trailing zeros. */
export function generalizedTime(text: string, what: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{0,8}[1-9]))?Z$/.exec(text);
  if (!m) throw bad(`${what}: not a UTC GeneralizedTime`);
  const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  const t = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], ms);
  const d = new Date(t);
  if (!Number.isFinite(t) || d.getUTCDate() !== +m[3] || d.getUTCHours() !== +m[4]) throw bad(`${what}: invalid date`);
  return d;
}

function timeAt(node: Asn1 | undefined, what: string): Date {
  if (node?.tagClass === U && node.type === T.GENERALIZEDTIME) return generalizedTime(prim(node, T.GENERALIZEDTIME, what).toString('latin1'), what);
  const text = prim(node, T.UTCTIME, what).toString('latin1');
  const m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) throw bad(`${what}: not a UTC UTCTime`);
  const year = +m[1] < 50 ? 2000 + +m[1] : 1900 + +m[1];
  return new Date(Date.UTC(year, +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

// ---- SignerInfo (PKCS#7 v1 / CMS v1 or v3) ----

type SignerId = { readonly issuer: Buffer; readonly serial: Buffer } | { readonly keyId: Buffer };

interface ParsedSigner {
  readonly sid: SignerId;
  readonly digestAlgorithm: string;
  /** The signed attributes re-encoded as SET OF: what the signature covers. */
  readonly attributeSet: Buffer;
  readonly contentType?: string;
  readonly messageDigest: Buffer;
  readonly signingTime?: Date;
  readonly signature: Buffer;
}

function parseSigner(node: Asn1, what: string): ParsedSigner {
  const fields = kids(tagged(node, U, T.SEQUENCE, what), what);
  let i = 0;
  prim(fields[i++], T.INTEGER, `${what}.version`);
  const sidNode = fields[i++];
  let sid: SignerId;
  if (sidNode?.tagClass === CTX && sidNode.type === 0 && !sidNode.constructed) {
    sid = { keyId: Buffer.from(sidNode.value as string, 'binary') };
  } else {
    const [issuer, serial] = kids(tagged(sidNode, U, T.SEQUENCE, `${what}.sid`), `${what}.sid`);
    tagged(issuer, U, T.SEQUENCE, `${what}.issuer`);
    sid = { issuer: derBytes(issuer), serial: prim(serial, T.INTEGER, `${what}.serialNumber`) };
  }
  const digestAlgorithm = digestNameAt(fields[i++], `${what}.digestAlgorithm`);
  const attributesNode = tagged(fields[i++], CTX, 0, `${what}.signedAttributes`);
  const signatureAlgorithm = oidAt(kids(fields[i++], `${what}.signatureAlgorithm`)[0], `${what}.signatureAlgorithm`);
  if (!SIGNATURE_ALGORITHMS.has(signatureAlgorithm)) throw bad(`${what}: unsupported signature algorithm ${signatureAlgorithm}`);
  const signature = prim(fields[i++], T.OCTETSTRING, `${what}.signature`);
  if (isContext(fields[i], 1)) i++;
  if (fields.length !== i) throw bad(`${what}: unexpected elements`);

  const single = new Map<string, Asn1>();
  for (const attribute of kids(attributesNode, `${what}.signedAttributes`)) {
    const [type, values] = kids(tagged(attribute, U, T.SEQUENCE, 'Attribute'), 'Attribute');
    const id = oidAt(type, 'Attribute.type');
    const list = kids(tagged(values, U, T.SET, 'Attribute.values'), 'Attribute.values');
    if (id === TIMESTAMP_OID.contentType || id === TIMESTAMP_OID.messageDigest || id === TIMESTAMP_OID.signingTime) {
      if (list.length !== 1 || single.has(id)) throw bad(`${what}: attribute ${id} must occur once with one value`);
      single.set(id, list[0]);
    }
  }
  const digestNode = single.get(TIMESTAMP_OID.messageDigest);
  if (!digestNode) throw bad(`${what}: no messageDigest attribute`);
  const typeNode = single.get(TIMESTAMP_OID.contentType);
  const timeNode = single.get(TIMESTAMP_OID.signingTime);
  const attributeSet = derBytes(attributesNode);
  attributeSet[0] = 0x31;
  return {
    sid,
    digestAlgorithm,
    attributeSet,
    contentType: typeNode ? oidAt(typeNode, 'contentType') : undefined,
    messageDigest: prim(digestNode, T.OCTETSTRING, 'messageDigest'),
    signingTime: timeNode ? timeAt(timeNode, 'signingTime') : undefined,
    signature,
  };
}

/** The certificate's subjectKeyIdentifier, if any. */
function subjectKeyId(cert: X509Certificate): Buffer | undefined {
  const { tbs } = certificateTbs(cert);
  let keyId: Buffer | undefined;
  const extensions = tbs.find((n) => isContext(n, 3));
  if (extensions) {
    for (const ext of kids(kids(extensions, 'extensions')[0], 'extensions')) {
      const parts = kids(ext, 'extension');
      if (oidAt(parts[0], 'extnID') === '2.5.29.14') {
        const inner = strictDer(prim(parts[parts.length - 1], T.OCTETSTRING, 'extnValue'), 'subjectKeyIdentifier');
        keyId = prim(inner, T.OCTETSTRING, 'subjectKeyIdentifier');
      }
    }
  }
  return keyId;
}

function matches(cert: X509Certificate, sid: SignerId): boolean {
  if (!('keyId' in sid)) return hasIssuerAndSerial(cert, sid);
  try {
    return subjectKeyId(cert)?.equals(sid.keyId) === true;
  } catch {
    return false;
  }
}

const sameDigest = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);

/** The certificate that made `signer`'s signature over its attributes, or a TimestampError. */
function signerCertificate(signer: ParsedSigner, candidates: readonly X509Certificate[], what: string): X509Certificate {
  const cert = candidates.find((c) => matches(c, signer.sid));
  if (!cert) throw bad(`${what}: the signing certificate is not included`);
  let ok = false;
  try {
    ok = cryptoVerify(signer.digestAlgorithm, signer.attributeSet, cert.publicKey, signer.signature);
  } catch {
    ok = false;
  }
  if (!ok) throw bad(`${what}: the signature does not verify`);
  return cert;
}

// ---- RFC 3161 TimeStampToken ----

export interface TstInfo {
  readonly policy: string;
  readonly imprintAlgorithm: string;
  readonly imprint: Buffer;
  readonly serial: Buffer;
  readonly genTime: Date;
  /** INTEGER content bytes, when the TSA echoed a nonce. */
  readonly nonce?: Buffer;
}

export interface ParsedTimeStampToken {
  readonly info: TstInfo;
  readonly certificates: readonly X509Certificate[];
  /** The DER TSTInfo (the eContent the TSA signed). */
  readonly tstInfo: Buffer;
  readonly signer: ParsedSigner;
}

/** Parses a DER TimeStampToken (ContentInfo(SignedData) with a TSTInfo) strictly. */
export function parseTimeStampToken(der: Uint8Array): ParsedTimeStampToken {
  const [type, wrapped] = kids(tagged(strictDer(der, 'TimeStampToken'), U, T.SEQUENCE, 'TimeStampToken'), 'TimeStampToken');
  if (oidAt(type, 'TimeStampToken.contentType') !== TIMESTAMP_OID.signedData) throw bad('TimeStampToken is not a SignedData');
  const fields = kids(tagged(kids(tagged(wrapped, CTX, 0, 'TimeStampToken.content'), 'content')[0], U, T.SEQUENCE, 'SignedData'), 'SignedData');
  let i = 0;
  prim(fields[i++], T.INTEGER, 'SignedData.version');
  kids(tagged(fields[i++], U, T.SET, 'SignedData.digestAlgorithms'), 'digestAlgorithms');
  const [eType, eWrapped] = kids(tagged(fields[i++], U, T.SEQUENCE, 'encapContentInfo'), 'encapContentInfo');
  if (oidAt(eType, 'eContentType') !== TIMESTAMP_OID.tstInfo) throw bad('TimeStampToken content is not a TSTInfo');
  const tstInfo = prim(kids(tagged(eWrapped, CTX, 0, 'eContent'), 'eContent')[0], T.OCTETSTRING, 'eContent');
  const certificates = isContext(fields[i], 0)
    ? reader.certificateSet(fields[i++], 'certificates', {
        max: 32,
        unparseable: 'TimeStampToken carries an unparseable certificate',
        tooMany: 'TimeStampToken carries too many certificates',
      })
    : [];
  if (isContext(fields[i], 1)) i++;
  const signers = kids(tagged(fields[i++], U, T.SET, 'signerInfos'), 'signerInfos');
  if (fields.length !== i) throw bad('TimeStampToken: unexpected elements after signerInfos');
  if (signers.length !== 1) throw bad('TimeStampToken must have exactly one SignerInfo');
  const signer = parseSigner(signers[0], 'TimeStampToken SignerInfo');
  if (signer.contentType !== TIMESTAMP_OID.tstInfo) throw bad('TimeStampToken contentType attribute is not TSTInfo');
  return { info: parseTstInfo(tstInfo), certificates, tstInfo, signer };
}

function parseTstInfo(der: Buffer): TstInfo {
  const f = kids(tagged(strictDer(der, 'TSTInfo'), U, T.SEQUENCE, 'TSTInfo'), 'TSTInfo');
  const version = prim(f[0], T.INTEGER, 'TSTInfo.version');
  if (version.length !== 1 || version[0] !== 1) throw bad('TSTInfo version is not 1');
  const policy = oidAt(f[1], 'TSTInfo.policy');
  const [algorithm, hashed] = kids(tagged(f[2], U, T.SEQUENCE, 'messageImprint'), 'messageImprint');
  const imprintAlgorithm = digestNameAt(algorithm, 'messageImprint.hashAlgorithm');
  const imprint = prim(hashed, T.OCTETSTRING, 'messageImprint.hashedMessage');
  const serial = prim(f[3], T.INTEGER, 'TSTInfo.serialNumber');
  const genTime = generalizedTime(prim(f[4], T.GENERALIZEDTIME, 'TSTInfo.genTime').toString('latin1'), 'TSTInfo.genTime');
  let nonce: Buffer | undefined;
  for (const n of f.slice(5)) {
    if (n.tagClass === U && n.type === T.INTEGER) nonce = prim(n, T.INTEGER, 'TSTInfo.nonce');
  }
  return { policy, imprintAlgorithm, imprint, serial, genTime, nonce };
}

/** Checks the TSA's signature over the TSTInfo; returns the TSA certificate (trust not checked). */
export function verifyTimeStampTokenSignature(token: ParsedTimeStampToken, extra: readonly X509Certificate[] = []): X509Certificate {
  const digest = createHash(token.signer.digestAlgorithm).update(token.tstInfo).digest();
  if (!sameDigest(digest, token.signer.messageDigest)) throw bad('TimeStampToken messageDigest does not match its TSTInfo');
  return signerCertificate(token.signer, [...token.certificates, ...extra], 'TimeStampToken');
}

/** True when the token's messageImprint is the hash of `signatureValue`. */
export function imprintMatches(info: TstInfo, signatureValue: Uint8Array): boolean {
  return sameDigest(createHash(info.imprintAlgorithm).update(signatureValue).digest(), info.imprint);
}

// ---- both kinds, as verify-signed-data.ts consumes them ----

export interface TimestampEvidence {
  readonly kind: 'rfc3161' | 'pkcs9';
  readonly time: Date;
  readonly tsaCertificate: X509Certificate;
  /** Certificates that may complete the TSA's chain. */
  readonly certificates: readonly X509Certificate[];
}

/**
 * Checks one unsigned attribute value (DER) of type rfc3161Countersignature or
 * pkcs9Countersignature against the outer SignerInfo's `signatureValue`;
 * `outerCertificates` are the SignedData's certificates. Throws TimestampError.
 */
export function checkTimestampEvidence(
  type: string,
  value: Uint8Array,
  signatureValue: Uint8Array,
  outerCertificates: readonly X509Certificate[],
): TimestampEvidence {
  if (type === TIMESTAMP_OID.rfc3161Countersignature) {
    const token = parseTimeStampToken(value);
    if (!imprintMatches(token.info, signatureValue)) throw bad('the timestamp is not over this signature (messageImprint differs)');
    const tsaCertificate = verifyTimeStampTokenSignature(token, outerCertificates);
    return { kind: 'rfc3161', time: token.info.genTime, tsaCertificate, certificates: [...token.certificates, ...outerCertificates] };
  }
  if (type === TIMESTAMP_OID.pkcs9Countersignature) {
    const signer = parseSigner(strictDer(value, 'countersignature'), 'countersignature');
    if (!signer.signingTime) throw bad('countersignature has no signingTime');
    const digest = createHash(signer.digestAlgorithm).update(signatureValue).digest();
    if (!sameDigest(digest, signer.messageDigest)) throw bad('the countersignature is not over this signature (messageDigest differs)');
    const tsaCertificate = signerCertificate(signer, outerCertificates, 'countersignature');
    return { kind: 'pkcs9', time: signer.signingTime, tsaCertificate, certificates: outerCertificates };
  }
  throw bad(`attribute ${type} is not a timestamp`);
}
