// Strict navigation of node-forge ASN.1 trees for the Authenticode and
// timestamp verifiers: every helper checks the shape it expects and throws the
// error its caller hands in (AuthenticodeVerifyError('malformed', …) in
// verify-signed-data.ts, TimestampError in timestamp-token.ts), so each parser
// keeps its own failure type while sharing one reading of the DER.

import { X509Certificate } from 'node:crypto';
import forge from 'node-forge';

const { asn1 } = forge;
export type Asn1 = forge.asn1.Asn1;

export const U = asn1.Class.UNIVERSAL;
export const CTX = asn1.Class.CONTEXT_SPECIFIC;
export const T = asn1.Type;

/** Digest algorithm OIDs accepted in signatures, tokens and countersignatures, by node:crypto name. */
export const DIGESTS: Readonly<Record<string, string>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** Signature algorithms a SignerInfo may name (RSA, plain or with a hash; ECDSA). */
export const SIGNATURE_ALGORITHMS: ReadonlySet<string> = new Set([
  '1.2.840.113549.1.1.1',
  '1.2.840.113549.1.1.5',
  '1.2.840.113549.1.1.11',
  '1.2.840.113549.1.1.12',
  '1.2.840.113549.1.1.13',
  '1.2.840.10045.4.3.2',
  '1.2.840.10045.4.3.3',
  '1.2.840.10045.4.3.4',
]);

/** forge's reader with the options its typings omit: strict, whole input, BIT STRINGs left opaque. Throws forge's errors. */
export function strictFromDer(bytes: Uint8Array): Asn1 {
  return (asn1.fromDer as unknown as (b: string, o: object) => Asn1)(Buffer.from(bytes).toString('binary'), {
    strict: true,
    parseAllBytes: true,
    decodeBitStrings: false,
  });
}

export const derOf = (node: Asn1): Buffer => Buffer.from(asn1.toDer(node).getBytes(), 'binary');

/** True when `node` is the context-specific [n] element (an optional field that is present). */
export const isContext = (node: Asn1 | undefined, n: number): boolean => node?.tagClass === CTX && node.type === n;

/** A certificate's tbsCertificate fields with its DER issuer Name and serialNumber INTEGER content. Throws forge's or `Error`s. */
export function certificateTbs(cert: X509Certificate): { tbs: Asn1[]; issuer: Buffer; serial: Buffer } {
  const tbs = plain.children(plain.children(strictFromDer(cert.raw), 'Certificate')[0], 'tbsCertificate');
  const v = tbs[0].tagClass === CTX ? 1 : 0; // [0] version
  return { tbs, serial: plain.primitive(tbs[v], T.INTEGER, 'serialNumber'), issuer: derOf(tbs[v + 2]) };
}

/** True when `cert` is the one an issuerAndSerialNumber names; never throws. */
export function hasIssuerAndSerial(cert: X509Certificate, id: { readonly issuer: Buffer; readonly serial: Buffer }): boolean {
  try {
    const own = certificateTbs(cert);
    return own.issuer.equals(id.issuer) && own.serial.equals(id.serial);
  } catch {
    return false;
  }
}

export interface CertificateSetLimits {
  /** More certificates than this is an error. */
  readonly max: number;
  readonly unparseable: string;
  readonly tooMany: string;
}

export interface DerReader {
  children(node: Asn1 | undefined, what: string): Asn1[];
  expect(node: Asn1 | undefined, tagClass: number, type: number, what: string): Asn1;
  /** The content bytes of a universal primitive of `type`. */
  primitive(node: Asn1 | undefined, type: number, what: string): Buffer;
  oid(node: Asn1 | undefined, what: string): string;
  /** The node:crypto name of an AlgorithmIdentifier's digest, if in DIGESTS. */
  digestName(algorithmIdentifier: Asn1 | undefined, what: string): string;
  /** A SignedData's certificates [0]: X.509 ones parsed (other CertificateChoices skipped), at most `limits.max`. */
  certificateSet(node: Asn1, what: string, limits: CertificateSetLimits): X509Certificate[];
}

/** The strict helpers, each throwing `fail(why)` on a shape mismatch. */
export function derReader(fail: (why: string) => Error): DerReader {
  const children = (node: Asn1 | undefined, what: string): Asn1[] => {
    if (!node || !node.constructed || !Array.isArray(node.value)) throw fail(`${what}: expected a constructed element`);
    return node.value as Asn1[];
  };
  const expect = (node: Asn1 | undefined, tagClass: number, type: number, what: string): Asn1 => {
    if (!node || node.tagClass !== tagClass || node.type !== type) throw fail(`${what}: unexpected element`);
    return node;
  };
  const primitive = (node: Asn1 | undefined, type: number, what: string): Buffer => {
    const n = expect(node, U, type, what);
    if (n.constructed || typeof n.value !== 'string') throw fail(`${what}: expected a primitive element`);
    return Buffer.from(n.value, 'binary');
  };
  const oid = (node: Asn1 | undefined, what: string): string => asn1.derToOid(primitive(node, T.OID, what).toString('binary'));
  return {
    children,
    expect,
    primitive,
    oid,
    digestName(algorithmIdentifier, what) {
      const id = oid(children(algorithmIdentifier, what)[0], what);
      const name = DIGESTS[id];
      if (!name) throw fail(`${what}: unsupported digest algorithm ${id}`);
      return name;
    },
    certificateSet(node, what, limits) {
      const certificates: X509Certificate[] = [];
      for (const cert of children(node, what)) {
        if (cert.tagClass !== U || cert.type !== T.SEQUENCE) continue;
        try {
          certificates.push(new X509Certificate(derOf(cert)));
        } catch {
          throw fail(limits.unparseable);
        }
        if (certificates.length > limits.max) throw fail(limits.tooMany);
      }
      return certificates;
    },
  };
}

const plain = derReader((why) => new Error(why));
