// Authenticode PKCS#7 SignedData (the structure signtool and osslsigncode embed
// in PE, CAB and MSI files), built directly with node-forge's ASN.1 primitives:
// forge's own pkcs7.createSignedData cannot carry SpcSpOpusInfo or
// SpcStatementType and does not DER-sort the signed attributes, which OpenSSL
// re-encodes (sorted) before checking the signature.

import { createHash } from 'node:crypto';
import forge from 'node-forge';

const { asn1 } = forge;
type Asn1 = forge.asn1.Asn1;

export const OID = {
  sha256: '2.16.840.1.101.3.4.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  spcIndirectData: '1.3.6.1.4.1.311.2.1.4',
  spcStatementType: '1.3.6.1.4.1.311.2.1.11',
  spcSpOpusInfo: '1.3.6.1.4.1.311.2.1.12',
  spcIndividualCodeSigning: '1.3.6.1.4.1.311.2.1.21',
  spcCabData: '1.3.6.1.4.1.311.2.1.25',
} as const;

export interface AuthenticodeSigner {
  readonly certificate: forge.pki.Certificate;
  readonly privateKey: forge.pki.rsa.PrivateKey;
  /** Intermediates to embed after the signing certificate. */
  readonly chain?: readonly forge.pki.Certificate[];
  /** Shown by Windows as the program name in the consent dialog (SpcSpOpusInfo). */
  readonly programName?: string;
  readonly moreInfoUrl?: string;
}

const U = asn1.Class.UNIVERSAL;
const CTX = asn1.Class.CONTEXT_SPECIFIC;
const T = asn1.Type;

const seq = (items: Asn1[]): Asn1 => asn1.create(U, T.SEQUENCE, true, items);
const set = (items: Asn1[]): Asn1 => asn1.create(U, T.SET, true, items);
const oid = (id: string): Asn1 => asn1.create(U, T.OID, false, asn1.oidToDer(id).getBytes());
const nul = (): Asn1 => asn1.create(U, T.NULL, false, '');
const octets = (bytes: Uint8Array): Asn1 => asn1.create(U, T.OCTETSTRING, false, binary(bytes));
const integer = (n: number): Asn1 => asn1.create(U, T.INTEGER, false, asn1.integerToDer(n).getBytes());
const explicit = (tag: number, inner: Asn1): Asn1 => asn1.create(CTX, tag, true, [inner]);
const algorithm = (id: string): Asn1 => seq([oid(id), nul()]);

const binary = (bytes: Uint8Array): string => Buffer.from(bytes).toString('binary');
const der = (node: Asn1): Buffer => Buffer.from(asn1.toDer(node).getBytes(), 'binary');

/** SpcString's unicode choice: [0] IMPLICIT BMPString. */
function spcUnicode(text: string): Asn1 {
  return asn1.create(CTX, 0, false, binary(Buffer.from(text, 'utf16le').swap16()));
}

/**
 * SpcLink as CAB and MSI signatures carry it: file [2] EXPLICIT SpcString
 * "<<<Obsolete>>>" (what signtool writes; the digest is what matters).
 */
export function obsoleteSpcLink(): Asn1 {
  return explicit(2, spcUnicode('<<<Obsolete>>>'));
}

/** SpcIndirectDataContent { SpcAttributeTypeAndOptionalValue, DigestInfo } for a SHA-256 file digest. */
export function spcIndirectDataContent(dataType: string, dataValue: Asn1, fileDigest: Uint8Array): Asn1 {
  return seq([seq([oid(dataType), dataValue]), seq([algorithm(OID.sha256), octets(fileDigest)])]);
}

/** X.690 SET OF ordering: by encoding, the shorter one padded with zeros. */
function derSetOrder(a: Buffer, b: Buffer): number {
  const length = Math.max(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function utcTime(date: Date): Asn1 {
  // RFC 5652: UTCTime up to 2049, GeneralizedTime after.
  return date.getUTCFullYear() < 2050
    ? asn1.create(U, T.UTCTIME, false, asn1.dateToUtcTime(date))
    : asn1.create(U, T.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
}

function signedAttributes(signer: AuthenticodeSigner, contentDigest: Buffer, signingTime: Date): Buffer[] {
  const opus: Asn1[] = [];
  if (signer.programName !== undefined) opus.push(explicit(0, spcUnicode(signer.programName)));
  if (signer.moreInfoUrl !== undefined) {
    opus.push(explicit(1, asn1.create(CTX, 0, false, signer.moreInfoUrl)));
  }
  const attribute = (type: string, value: Asn1): Buffer => der(seq([oid(type), set([value])]));
  return [
    attribute(OID.contentType, oid(OID.spcIndirectData)),
    attribute(OID.signingTime, utcTime(signingTime)),
    attribute(OID.spcSpOpusInfo, seq(opus)),
    attribute(OID.spcStatementType, seq([oid(OID.spcIndividualCodeSigning)])),
    attribute(OID.messageDigest, octets(contentDigest)),
  ].sort(derSetOrder);
}

/** Re-reads DER bytes as forge ASN.1 so they can be nested. */
const parse = (bytes: Buffer): Asn1 => asn1.fromDer(binary(bytes));

/**
 * Signs `indirectData` (an SpcIndirectDataContent) and returns the DER
 * ContentInfo(SignedData) that goes into the file's signature slot.
 */
export function signIndirectData(indirectData: Asn1, signer: AuthenticodeSigner, signingTime = new Date()): Buffer {
  // Authenticode, like PKCS#7 9.3, digests the content's value without its SEQUENCE header.
  const content = der(indirectData);
  const contentDigest = createHash('sha256').update(content.subarray(headerLength(content))).digest();

  const attributes = signedAttributes(signer, contentDigest, signingTime);
  const attributeSet = Buffer.concat([derHeader(0x31, attributes), ...attributes]);
  const md = forge.md.sha256.create();
  md.update(binary(attributeSet));
  const signature = Buffer.from(signer.privateKey.sign(md, 'RSASSA-PKCS1-V1_5'), 'binary');

  const certAsn1 = forge.pki.certificateToAsn1(signer.certificate);
  const tbs = certAsn1.value[0] as Asn1;
  const tbsFields = tbs.value as Asn1[];
  // tbsCertificate: [0] version (v3), serialNumber, signature, issuer, ...
  const hasVersion = tbsFields[0].tagClass === CTX;
  const serial = tbsFields[hasVersion ? 1 : 0];
  const issuer = tbsFields[hasVersion ? 3 : 2];

  const signerInfo = seq([
    integer(1),
    seq([issuer, serial]),
    algorithm(OID.sha256),
    // [0] IMPLICIT SET OF Attribute: same bytes as the signed SET, other tag.
    parse(Buffer.concat([derHeader(0xa0, attributes), ...attributes])),
    algorithm(OID.rsaEncryption),
    octets(signature),
  ]);
  const certificates = [signer.certificate, ...(signer.chain ?? [])].map((c) => forge.pki.certificateToAsn1(c));
  const signedData = seq([
    integer(1),
    set([algorithm(OID.sha256)]),
    seq([oid(OID.spcIndirectData), explicit(0, indirectData)]),
    asn1.create(CTX, 0, true, certificates),
    set([signerInfo]),
  ]);
  return der(seq([oid(OID.signedData), explicit(0, signedData)]));
}

/** Length of a DER tag + length header (single-byte tags only). */
function headerLength(encoded: Buffer): number {
  const first = encoded[1];
  return first < 0x80 ? 2 : 2 + (first & 0x7f);
}

/** A DER tag + definite length header for `parts` concatenated. */
function derHeader(tag: number, parts: readonly Buffer[]): Buffer {
  const length = parts.reduce((sum, p) => sum + p.length, 0);
  if (length < 0x80) return Buffer.from([tag, length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
}
