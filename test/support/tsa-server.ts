// A loopback RFC 3161 timestamp authority for tests: node:http, a private TSA
// root and a TSA certificate with the (critical) timeStamping EKU, TSTInfo
// signed as CMS SignedData with node:crypto. `mode` makes it misbehave in the
// ways a client must survive. Also issues test certificates (issueCertificate).

import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import forge from 'node-forge';

const { asn1 } = forge;
type Asn1 = forge.asn1.Asn1;
const U = asn1.Class.UNIVERSAL;
const CTX = asn1.Class.CONTEXT_SPECIFIC;
const T = asn1.Type;

export interface IssuedCert {
  readonly certificate: forge.pki.Certificate;
  readonly privateKey: forge.pki.rsa.PrivateKey;
  readonly key: KeyObject;
  readonly pem: string;
  readonly keyPem: string;
  readonly der: Buffer;
}

/** A certificate from node-generated RSA keys (fast), built and signed with forge. */
export function issueCertificate(options: {
  subject: string;
  issuer?: IssuedCert;
  ca?: boolean;
  eku?: 'codeSigning' | 'timeStamping' | 'serverAuth';
  notBefore?: Date;
  notAfter?: Date;
}): IssuedCert {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const forgePrivate = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const serial = randomBytes(16);
  serial[0] = (serial[0] & 0x7f) | 0x01;
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = options.notBefore ?? new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = options.notAfter ?? new Date(Date.now() + 365 * 86_400_000);
  const subject = [{ name: 'commonName', value: options.subject }];
  cert.setSubject(subject);
  cert.setIssuer(options.issuer ? options.issuer.certificate.subject.attributes : subject);
  const extensions: object[] = [{ name: 'basicConstraints', cA: options.ca ?? false, critical: true }];
  if (options.ca) extensions.push({ name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true, digitalSignature: true });
  else extensions.push({ name: 'keyUsage', critical: true, digitalSignature: true });
  if (options.eku) extensions.push({ name: 'extKeyUsage', [options.eku]: true, ...(options.eku === 'timeStamping' ? { critical: true } : {}) });
  extensions.push({ name: 'subjectKeyIdentifier' });
  cert.setExtensions(extensions);
  cert.sign(options.issuer?.privateKey ?? forgePrivate, forge.md.sha256.create());
  const der = Buffer.from(asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  return {
    certificate: cert,
    privateKey: forgePrivate,
    key: privateKey,
    pem: forge.pki.certificateToPem(cert),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    der,
  };
}

export type TsaMode =
  | 'ok'
  | 'http-500'
  | 'garbage'
  | 'wrong-nonce'
  | 'wrong-imprint'
  | 'rejection'
  | 'wrong-content-type'
  | 'oversized';

export interface TestTsa {
  readonly url: string;
  /** The TSA's root (what a verifier trusts) and the TSA certificate itself. */
  readonly root: IssuedCert;
  readonly tsa: IssuedCert;
  mode: TsaMode;
  /** genTime override; the current time otherwise. */
  time?: Date;
  requests: number;
  close(): Promise<void>;
}

const bin = (b: Uint8Array): string => Buffer.from(b).toString('binary');
const der = (n: Asn1): Buffer => Buffer.from(asn1.toDer(n).getBytes(), 'binary');
const oid = (id: string): Asn1 => asn1.create(U, T.OID, false, asn1.oidToDer(id).getBytes());
const seq = (items: Asn1[]): Asn1 => asn1.create(U, T.SEQUENCE, true, items);
const int = (bytes: Uint8Array): Asn1 => asn1.create(U, T.INTEGER, false, bin(bytes));
const octets = (bytes: Uint8Array): Asn1 => asn1.create(U, T.OCTETSTRING, false, bin(bytes));
const parse = (bytes: Uint8Array): Asn1 => asn1.fromDer(bin(bytes));

function derSet(items: Buffer[]): Asn1 {
  const sorted = [...items].sort((a, b) => Buffer.compare(a, b));
  return asn1.create(U, T.SET, true, sorted.map(parse));
}

/** The DER TimeStampResp for `request` (a DER TimeStampReq), per mode. */
function respond(tsa: TestTsa, request: Buffer): Buffer {
  const fields = parse(request).value as Asn1[];
  const imprintNode = fields[1];
  let nonce: Buffer | undefined;
  for (const f of fields.slice(2)) if (f.tagClass === U && f.type === T.INTEGER) nonce = Buffer.from(f.value as string, 'binary');
  if (tsa.mode === 'rejection') {
    return der(seq([seq([int(Buffer.from([2])), seq([asn1.create(U, T.UTF8, false, 'policy says no')]), asn1.create(U, T.BITSTRING, false, '\x00\x20')])]));
  }
  if (tsa.mode === 'wrong-nonce' && nonce) nonce = Buffer.from([0x01, ...randomBytes(7)]);
  let imprint = imprintNode;
  if (tsa.mode === 'wrong-imprint') {
    const [alg] = imprintNode.value as Asn1[];
    imprint = seq([alg, octets(createHash('sha256').update('something else').digest())]);
  }
  const time = tsa.time ?? new Date();
  const tstInfo = der(
    seq([
      int(Buffer.from([1])),
      oid('1.3.6.1.4.1.4146.2.3'),
      imprint,
      int(Buffer.from([0x01, ...randomBytes(8)])),
      asn1.create(U, T.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(time)),
      ...(nonce ? [int(nonce)] : []),
    ]),
  );
  const attributes = [
    der(seq([oid('1.2.840.113549.1.9.3'), derSet([der(oid('1.2.840.113549.1.9.16.1.4'))])])),
    der(seq([oid('1.2.840.113549.1.9.5'), derSet([der(asn1.create(U, T.UTCTIME, false, asn1.dateToUtcTime(time)))])])),
    der(seq([oid('1.2.840.113549.1.9.4'), derSet([der(octets(createHash('sha256').update(tstInfo).digest()))])])),
  ];
  const attributeSet = der(derSet(attributes));
  const signature = sign('sha256', attributeSet, tsa.tsa.key);
  const tbs = forge.pki.certificateToAsn1(tsa.tsa.certificate).value[0] as Asn1;
  const tbsFields = tbs.value as Asn1[];
  const signerInfo = seq([
    int(Buffer.from([1])),
    seq([tbsFields[3], tbsFields[1]]),
    seq([oid('2.16.840.1.101.3.4.2.1'), asn1.create(U, T.NULL, false, '')]),
    asn1.create(CTX, 0, true, (derSet(attributes).value as Asn1[])),
    seq([oid('1.2.840.113549.1.1.1'), asn1.create(U, T.NULL, false, '')]),
    octets(signature),
  ]);
  const signedData = seq([
    int(Buffer.from([3])),
    derSet([der(seq([oid('2.16.840.1.101.3.4.2.1'), asn1.create(U, T.NULL, false, '')]))]),
    seq([oid('1.2.840.113549.1.9.16.1.4'), asn1.create(CTX, 0, true, [octets(tstInfo)])]),
    asn1.create(CTX, 0, true, [forge.pki.certificateToAsn1(tsa.tsa.certificate)]),
    asn1.create(U, T.SET, true, [signerInfo]),
  ]);
  const token = seq([oid('1.2.840.113549.1.7.2'), asn1.create(CTX, 0, true, [signedData])]);
  return der(seq([seq([int(Buffer.from([0]))]), token]));
}

/** Starts the TSA on 127.0.0.1 (a random port). */
export async function startTestTsa(): Promise<TestTsa> {
  // Valid for a year back, so tests can stamp past times.
  const notBefore = new Date(Date.now() - 365 * 86_400_000);
  const root = issueCertificate({ subject: 'wsus-ts test TSA root', ca: true, notBefore });
  const leaf = issueCertificate({ subject: 'wsus-ts test TSA', issuer: root, eku: 'timeStamping', notBefore });
  let server: Server | undefined;
  const tsa: TestTsa = {
    url: '',
    root,
    tsa: leaf,
    mode: 'ok',
    requests: 0,
    close: () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
  };
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      tsa.requests++;
      try {
        if (req.method !== 'POST' || req.headers['content-type'] !== 'application/timestamp-query') {
          res.writeHead(400).end();
          return;
        }
        if (tsa.mode === 'http-500') return void res.writeHead(500, { 'content-type': 'text/plain' }).end('broken');
        if (tsa.mode === 'garbage') return void res.writeHead(200, { 'content-type': 'application/timestamp-reply' }).end(randomBytes(300));
        if (tsa.mode === 'oversized') {
          return void res.writeHead(200, { 'content-type': 'application/timestamp-reply' }).end(Buffer.alloc(200 * 1024, 0x30));
        }
        const body = respond(tsa, Buffer.concat(chunks));
        const type = tsa.mode === 'wrong-content-type' ? 'text/html' : 'application/timestamp-reply';
        res.writeHead(200, { 'content-type': type, 'content-length': body.length }).end(body);
      } catch (error) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(String(error));
      }
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  (tsa as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tsa`;
  return tsa;
}
