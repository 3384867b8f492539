import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

// A private CA and a server certificate it signed, as an organisation's upstream WSUS would
// have: the downstream trusts the CA (sync.caFile), never the server certificate itself.
// Keys come from Node (fast); forge only builds and signs the certificates.

export interface TestPki {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** A fresh RSA-2048 key pair: forge's view of it for building certificates, and the private key as PKCS#8 PEM. */
export function keyPair(): { forgePublic: forge.pki.PublicKey; forgePrivate: forge.pki.rsa.PrivateKey; keyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    forgePublic: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
    forgePrivate: forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()) as forge.pki.rsa.PrivateKey,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** An unsigned certificate valid from an hour ago for 30 days, with a random positive serial; `organization` adds O= to both names. */
export function certificate(
  subject: string,
  publicKey: forge.pki.PublicKey,
  issuer: string,
  extensions: object[],
  organization?: string,
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 30 * 86_400_000);
  const org = organization === undefined ? [] : [{ name: 'organizationName', value: organization }];
  cert.setSubject([{ name: 'commonName', value: subject }, ...org]);
  cert.setIssuer([{ name: 'commonName', value: issuer }, ...org]);
  cert.setExtensions(extensions);
  return cert;
}

export function createTestPki(hosts: { dns: string[]; ips: string[] } = { dns: ['localhost'], ips: ['127.0.0.1'] }): TestPki {
  const ca = keyPair();
  const caCert = certificate('wsus-ts test CA', ca.forgePublic, 'wsus-ts test CA', [
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  caCert.sign(ca.forgePrivate, forge.md.sha256.create());
  const leaf = keyPair();
  const cert = certificate(hosts.dns[0] ?? hosts.ips[0]!, leaf.forgePublic, 'wsus-ts test CA', [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [...hosts.dns.map((value) => ({ type: 2, value })), ...hosts.ips.map((ip) => ({ type: 7, ip }))] },
  ]);
  cert.sign(ca.forgePrivate, forge.md.sha256.create());
  return { caPem: forge.pki.certificateToPem(caCert), certPem: forge.pki.certificateToPem(cert), keyPem: leaf.keyPem };
}
