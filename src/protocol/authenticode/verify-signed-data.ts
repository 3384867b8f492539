// Verification of Authenticode PKCS#7 SignedData (the counterpart of
// signed-data.ts): parse the DER with node-forge's ASN.1 reader behind a strict,
// bounded pre-scan, check the messageDigest attribute against the
// SpcIndirectDataContent, the signer's signature over the authenticated
// attributes, and the chain from the signer to a trusted root at a given time.
// Every failure is an AuthenticodeVerifyError with a code; nothing else escapes.
//
// Timestamps: when the SignerInfo carries an RFC 3161 token (1.3.6.1.4.1.311.3.3.1)
// or a legacy PKCS#9 countersignature (1.2.840.113549.1.9.6) that verifies (its
// signature, its imprint of our signature value, a TSA chain to `trust` valid at
// the stamped time, the timeStamping EKU), the signer's chain is checked at the
// stamped time instead of `at`, as Windows does. A timestamp that does not verify
// is ignored, never fatal: the signature is then judged at `at` exactly as an
// untimestamped one, so a bad token cannot make a currently valid signature fail
// (VerifiedSigner.timestampIgnored says why it was not used).

import { X509Certificate, createHash, timingSafeEqual, verify as cryptoVerify } from 'node:crypto';
import { CTX, SIGNATURE_ALGORITHMS, T, U, derOf, derReader, hasIssuerAndSerial, isContext, strictFromDer, type Asn1 } from './der-reader.js';
import { OID } from './signed-data.js';
import { TIMESTAMP_OID, TimestampError, checkTimestampEvidence } from './timestamp-token.js';

export type AuthenticodeFailure =
  | 'malformed'
  | 'digest-mismatch'
  | 'bad-signature'
  | 'untrusted'
  | 'expired'
  | 'not-code-signing';

export class AuthenticodeVerifyError extends Error {
  override readonly name = 'AuthenticodeVerifyError';
  readonly code: AuthenticodeFailure;

  constructor(code: AuthenticodeFailure, message: string) {
    super(message);
    this.code = code;
  }
}

/** Upper bounds for the DER pre-scan: a signature blob is a few KiB, certificates included. */
export const SIGNED_DATA_LIMITS = { maxBytes: 1024 * 1024, maxDepth: 32, maxNodes: 20_000 } as const;
const MAX_CHAIN = 8;

const CODE_SIGNING_EKU = '1.3.6.1.5.5.7.3.3';
/** A timestamp later than `at` by more than this is not believed. */
const TIMESTAMP_FUTURE_SKEW_MS = 5 * 60_000;

export interface SpcIndirectData {
  /** SpcAttributeTypeAndOptionalValue type, e.g. spcCabData or spcPeImageData. */
  readonly dataType: string;
  /** node:crypto name of the file digest algorithm. */
  readonly digestAlgorithm: string;
  readonly digest: Buffer;
}

export interface ParsedSignedData {
  readonly indirect: SpcIndirectData;
  /** SHA of the SpcIndirectDataContent value (header excluded), per signer digest algorithm. */
  readonly contentValue: Buffer;
  readonly certificates: readonly X509Certificate[];
  readonly signer: {
    readonly issuer: Buffer;
    readonly serial: Buffer;
    readonly digestAlgorithm: string;
    /** The authenticated attributes re-encoded as SET OF (what is signed). */
    readonly attributeSet: Buffer;
    readonly messageDigest: Buffer;
    readonly signature: Buffer;
    /** Unauthenticated attributes (timestamps, nested signatures), each value as DER. */
    readonly unsignedAttributes: readonly { readonly type: string; readonly values: readonly Buffer[] }[];
  };
}

export interface VerifiedSigner {
  readonly subject: string;
  readonly thumbprintSha1: string;
  readonly certificate: X509Certificate;
  /** When a valid timestamp was used: the time the chain was checked at. */
  readonly timestampedAt?: Date;
  /** When a timestamp is present but was not used: why. */
  readonly timestampIgnored?: string;
}

const malformed = (why: string): AuthenticodeVerifyError => new AuthenticodeVerifyError('malformed', why);

/**
 * Length of the first DER TLV in `bytes` after checking it strictly: definite,
 * minimal lengths, low tag numbers, bounded depth and node count, children
 * exactly filling their parents. Trailing bytes (CAB padding) are not scanned.
 */
export function derElementLength(bytes: Uint8Array): number {
  let nodes = 0;
  const header = (pos: number, end: number): { tag: number; body: number; next: number } => {
    if (pos + 2 > end) throw malformed('truncated DER header');
    const tag = bytes[pos];
    if ((tag & 0x1f) === 0x1f) throw malformed('high-tag-number DER form');
    let length = bytes[pos + 1];
    let body = pos + 2;
    if (length & 0x80) {
      const n = length & 0x7f;
      if (n === 0) throw malformed('indefinite DER length');
      if (n > 4) throw malformed('DER length too large');
      if (body + n > end) throw malformed('truncated DER length');
      if (bytes[body] === 0) throw malformed('non-minimal DER length');
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + bytes[body + i];
      if (length < 0x80) throw malformed('non-minimal DER length');
      body += n;
    }
    const next = body + length;
    if (next > end) throw malformed('DER element overruns its container');
    return { tag, body, next };
  };
  const scan = (pos: number, end: number, depth: number): void => {
    while (pos < end) {
      if (++nodes > SIGNED_DATA_LIMITS.maxNodes) throw malformed('too many DER elements');
      const { tag, body, next } = header(pos, end);
      if (tag & 0x20) {
        if (depth >= SIGNED_DATA_LIMITS.maxDepth) throw malformed('DER nested too deeply');
        scan(body, next, depth + 1);
      }
      pos = next;
    }
  };
  const limit = Math.min(bytes.length, SIGNED_DATA_LIMITS.maxBytes);
  const top = header(0, limit);
  if (!(top.tag & 0x20)) throw malformed('SignedData is not a constructed element');
  scan(top.body, top.next, 1);
  return top.next;
}

// forge node helpers (der-reader.ts); each throws `malformed` on a shape mismatch.
const { children, expect, primitive, oid: oidOf, digestName, certificateSet } = derReader(malformed);

/** Parses a DER ContentInfo(SignedData) carrying an SpcIndirectDataContent; trailing zero padding is allowed. */
export function parseAuthenticodeSignedData(input: Uint8Array): ParsedSignedData {
  try {
    return parseUnchecked(input);
  } catch (error) {
    if (error instanceof AuthenticodeVerifyError) throw error;
    throw malformed(`unparseable SignedData: ${(error as Error)?.message ?? String(error)}`);
  }
}

function parseUnchecked(input: Uint8Array): ParsedSignedData {
  if (input.length > SIGNED_DATA_LIMITS.maxBytes) throw malformed('signature blob too large');
  const all = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const length = derElementLength(all);
  if (!all.subarray(length).every((b) => b === 0)) throw malformed('non-zero bytes after the SignedData');
  const root = strictFromDer(all.subarray(0, length));

  const [contentType, wrapped] = children(root, 'ContentInfo');
  if (oidOf(contentType, 'ContentInfo.contentType') !== OID.signedData) throw malformed('not a PKCS#7 SignedData');
  const signedData = children(expect(wrapped, CTX, 0, 'ContentInfo.content'), 'ContentInfo.content')[0];
  const fields = children(expect(signedData, U, T.SEQUENCE, 'SignedData'), 'SignedData');
  let i = 0;
  primitive(fields[i++], T.INTEGER, 'SignedData.version');
  children(expect(fields[i++], U, T.SET, 'SignedData.digestAlgorithms'), 'SignedData.digestAlgorithms');
  const [innerType, innerWrapped] = children(
    expect(fields[i++], U, T.SEQUENCE, 'SignedData.contentInfo'),
    'SignedData.contentInfo',
  );
  if (oidOf(innerType, 'contentInfo.contentType') !== OID.spcIndirectData) {
    throw malformed('content is not an SpcIndirectDataContent');
  }
  const indirectNode = expect(
    children(expect(innerWrapped, CTX, 0, 'contentInfo.content'), 'contentInfo.content')[0],
    U,
    T.SEQUENCE,
    'SpcIndirectDataContent',
  );
  const indirect = parseIndirect(indirectNode);
  const indirectDer = derOf(indirectNode);
  const contentValue = indirectDer.subarray(headerLength(indirectDer));

  const certificates = isContext(fields[i], 0)
    ? certificateSet(fields[i++], 'SignedData.certificates', {
        max: 64,
        unparseable: 'unparseable certificate in SignedData',
        tooMany: 'too many certificates',
      })
    : [];
  if (isContext(fields[i], 1)) i++; // crls, unused
  const signerInfos = children(expect(fields[i++], U, T.SET, 'SignedData.signerInfos'), 'SignedData.signerInfos');
  if (fields.length !== i) throw malformed('unexpected elements after signerInfos');
  if (signerInfos.length !== 1) throw malformed('Authenticode requires exactly one SignerInfo');

  return { indirect, contentValue, certificates, signer: parseSignerInfo(signerInfos[0]) };
}

function parseIndirect(node: Asn1): SpcIndirectData {
  const [data, digestInfo] = children(node, 'SpcIndirectDataContent');
  const dataType = oidOf(children(expect(data, U, T.SEQUENCE, 'SpcAttributeTypeAndOptionalValue'), 'data')[0], 'data.type');
  const [algorithm, digest] = children(expect(digestInfo, U, T.SEQUENCE, 'DigestInfo'), 'DigestInfo');
  const digestAlgorithm = digestName(algorithm, 'DigestInfo.digestAlgorithm');
  const bytes = primitive(digest, T.OCTETSTRING, 'DigestInfo.digest');
  if (bytes.length !== createHash(digestAlgorithm).digest().length) throw malformed('DigestInfo.digest has the wrong size');
  return { dataType, digestAlgorithm, digest: bytes };
}

function parseSignerInfo(node: Asn1): ParsedSignedData['signer'] {
  const fields = children(expect(node, U, T.SEQUENCE, 'SignerInfo'), 'SignerInfo');
  let i = 0;
  primitive(fields[i++], T.INTEGER, 'SignerInfo.version');
  const [issuer, serial] = children(expect(fields[i++], U, T.SEQUENCE, 'issuerAndSerialNumber'), 'issuerAndSerialNumber');
  expect(issuer, U, T.SEQUENCE, 'issuer');
  const serialBytes = primitive(serial, T.INTEGER, 'serialNumber');
  const digestAlgorithm = digestName(fields[i++], 'SignerInfo.digestAlgorithm');
  const attributesNode = expect(fields[i++], CTX, 0, 'SignerInfo.authenticatedAttributes');
  const attributes = children(attributesNode, 'authenticatedAttributes');
  const encryptionAlgorithm = oidOf(children(fields[i++], 'digestEncryptionAlgorithm')[0], 'digestEncryptionAlgorithm');
  if (!SIGNATURE_ALGORITHMS.has(encryptionAlgorithm)) {
    throw malformed(`unsupported signature algorithm ${encryptionAlgorithm}`);
  }
  const signature = primitive(fields[i++], T.OCTETSTRING, 'encryptedDigest');
  const unsignedAttributes: { type: string; values: Buffer[] }[] = [];
  if (isContext(fields[i], 1)) {
    for (const attribute of children(fields[i++], 'unauthenticatedAttributes')) {
      const [type, values] = children(expect(attribute, U, T.SEQUENCE, 'Attribute'), 'Attribute');
      const valueList = children(expect(values, U, T.SET, 'Attribute.values'), 'Attribute.values');
      unsignedAttributes.push({ type: oidOf(type, 'Attribute.type'), values: valueList.map(derOf) });
    }
  }
  if (fields.length !== i) throw malformed('unexpected elements in SignerInfo');

  let messageDigest: Buffer | undefined;
  let contentType: string | undefined;
  for (const attribute of attributes) {
    const [type, values] = children(expect(attribute, U, T.SEQUENCE, 'Attribute'), 'Attribute');
    const id = oidOf(type, 'Attribute.type');
    const valueList = children(expect(values, U, T.SET, 'Attribute.values'), 'Attribute.values');
    if (id === OID.messageDigest || id === OID.contentType) {
      if (valueList.length !== 1) throw malformed(`attribute ${id} must have one value`);
      if ((id === OID.messageDigest ? messageDigest : contentType) !== undefined) throw malformed(`duplicate attribute ${id}`);
      if (id === OID.messageDigest) messageDigest = primitive(valueList[0], T.OCTETSTRING, 'messageDigest');
      else contentType = oidOf(valueList[0], 'contentType');
    }
  }
  if (!messageDigest) throw malformed('no messageDigest attribute');
  if (contentType !== OID.spcIndirectData) throw malformed('contentType attribute is not SpcIndirectDataContent');

  // What was signed: the attributes as a SET OF, i.e. the [0] IMPLICIT encoding with a SET tag.
  const attributeSet = derOf(attributesNode);
  attributeSet[0] = 0x31;
  return { issuer: derOf(issuer), serial: serialBytes, digestAlgorithm, attributeSet, messageDigest, signature, unsignedAttributes };
}

/** Length of a DER tag + length header (single-byte tags only). */
function headerLength(encoded: Buffer): number {
  const first = encoded[1];
  return first < 0x80 ? 2 : 2 + (first & 0x7f);
}

// ---- certificate helpers ----

const sameCert = (a: X509Certificate, b: X509Certificate): boolean => a.raw.equals(b.raw);

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

function validAt(cert: X509Certificate, at: Date): boolean {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  return Number.isFinite(from) && Number.isFinite(to) && from <= at.getTime() && at.getTime() <= to;
}

/** A trust anchor or certificate as PEM, DER or an X509Certificate. */
export type CertificateInput = X509Certificate | string | Uint8Array;

export function toX509(input: CertificateInput): X509Certificate {
  return input instanceof X509Certificate ? input : new X509Certificate(typeof input === 'string' ? input : Buffer.from(input));
}

/** "CN=…, O=…" from node's newline-separated subject. */
const subjectLine = (cert: X509Certificate): string => cert.subject.split('\n').filter(Boolean).join(', ');

/**
 * Verifies a parsed SignedData: messageDigest against the indirect data, the
 * signer's signature over the authenticated attributes, then the chain to one
 * of `trust` (validity at `at`, codeSigning EKU on the leaf). The caller checks
 * `parsed.indirect.digest` against the file.
 */
export function verifyParsedSignedData(
  parsed: ParsedSignedData,
  trust: readonly X509Certificate[],
  at: Date,
): VerifiedSigner {
  const { signer } = parsed;
  const contentDigest = createHash(signer.digestAlgorithm).update(parsed.contentValue).digest();
  if (contentDigest.length !== signer.messageDigest.length || !timingSafeEqual(contentDigest, signer.messageDigest)) {
    throw new AuthenticodeVerifyError('digest-mismatch', 'messageDigest does not match the SpcIndirectDataContent');
  }

  const leaf = [...trust, ...parsed.certificates].find((cert) => hasIssuerAndSerial(cert, signer));
  if (!leaf) throw new AuthenticodeVerifyError('untrusted', 'the signer certificate is not in the SignedData');
  let signatureOk = false;
  try {
    signatureOk = cryptoVerify(signer.digestAlgorithm, signer.attributeSet, leaf.publicKey, signer.signature);
  } catch {
    signatureOk = false;
  }
  if (!signatureOk) throw new AuthenticodeVerifyError('bad-signature', 'the signature over the attributes does not verify');

  const chain = buildChain(leaf, parsed.certificates, trust);
  if (!chain) throw new AuthenticodeVerifyError('untrusted', 'no chain from the signer to a trusted root');
  const timestamp = trustedTimestamp(parsed, trust, at);
  const checkAt = timestamp.at ?? at;
  for (const cert of chain) {
    if (!validAt(cert, checkAt)) {
      const when = timestamp.at ? `the timestamp time ${checkAt.toISOString()}` : checkAt.toISOString();
      throw new AuthenticodeVerifyError('expired', `${subjectLine(cert)} is not valid at ${when}`);
    }
  }
  if (!(leaf.keyUsage ?? []).includes(CODE_SIGNING_EKU)) {
    throw new AuthenticodeVerifyError('not-code-signing', `${subjectLine(leaf)} lacks the codeSigning extended key usage`);
  }
  return {
    subject: subjectLine(leaf),
    thumbprintSha1: createHash('sha1').update(leaf.raw).digest('hex').toUpperCase(),
    certificate: leaf,
    ...(timestamp.at ? { timestampedAt: timestamp.at } : {}),
    ...(timestamp.ignored ? { timestampIgnored: timestamp.ignored } : {}),
  };
}

/**
 * The time of the first timestamp on the SignerInfo that verifies and whose
 * TSA chains to `trust` (valid at the stamped time, timeStamping EKU), or why
 * none was usable. Never throws.
 */
function trustedTimestamp(
  parsed: ParsedSignedData,
  trust: readonly X509Certificate[],
  at: Date,
): { at?: Date; ignored?: string } {
  const problems: string[] = [];
  for (const attribute of parsed.signer.unsignedAttributes) {
    if (attribute.type !== TIMESTAMP_OID.rfc3161Countersignature && attribute.type !== TIMESTAMP_OID.pkcs9Countersignature) continue;
    for (const value of attribute.values) {
      try {
        const evidence = checkTimestampEvidence(attribute.type, value, parsed.signer.signature, parsed.certificates);
        const tsa = evidence.tsaCertificate;
        if (evidence.time.getTime() > at.getTime() + TIMESTAMP_FUTURE_SKEW_MS) {
          throw new TimestampError(`the timestamp ${evidence.time.toISOString()} lies in the future`);
        }
        const chain = buildChain(tsa, evidence.certificates, trust);
        if (!chain) throw new TimestampError(`no chain from the TSA ${subjectLine(tsa)} to a trusted root`);
        const expired = chain.find((cert) => !validAt(cert, evidence.time));
        if (expired) throw new TimestampError(`${subjectLine(expired)} is not valid at the timestamp time`);
        if (!(tsa.keyUsage ?? []).includes(TIMESTAMP_OID.timeStampingEku)) {
          throw new TimestampError(`${subjectLine(tsa)} lacks the timeStamping extended key usage`);
        }
        return { at: evidence.time };
      } catch (error) {
        problems.push(error instanceof TimestampError || error instanceof AuthenticodeVerifyError ? error.message : String(error));
      }
    }
  }
  return problems.length > 0 ? { ignored: problems.join('; ') } : {};
}

/** leaf … trusted anchor, or undefined; intermediates must be CAs, at most MAX_CHAIN long. */
function buildChain(
  leaf: X509Certificate,
  embedded: readonly X509Certificate[],
  trust: readonly X509Certificate[],
): X509Certificate[] | undefined {
  const chain = [leaf];
  for (;;) {
    const current = chain[chain.length - 1];
    if (trust.some((anchor) => sameCert(anchor, current))) return chain;
    if (chain.length >= MAX_CHAIN) return undefined;
    const anchor = trust.find((c) => c.ca && issuedBy(current, c));
    if (anchor) return [...chain, anchor];
    const next = embedded.find((c) => c.ca && !chain.some((seen) => sameCert(seen, c)) && issuedBy(current, c));
    if (!next) return undefined;
    chain.push(next);
  }
}

/** Parse + verify in one call; throws only AuthenticodeVerifyError. */
export function verifyAuthenticodeSignedData(
  der: Uint8Array,
  trust: readonly CertificateInput[],
  at: Date,
): { parsed: ParsedSignedData; signer: VerifiedSigner } {
  const parsed = parseAuthenticodeSignedData(der);
  try {
    const anchors = trust.map(toX509);
    return { parsed, signer: verifyParsedSignedData(parsed, anchors, at) };
  } catch (error) {
    if (error instanceof AuthenticodeVerifyError) throw error;
    throw malformed(`verification failed: ${(error as Error)?.message ?? String(error)}`);
  }
}
