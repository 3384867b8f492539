import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import forge from 'node-forge';
import { DomainError } from '../../core/errors.js';
import type { AuthenticodeSigner } from '../../protocol/authenticode/signed-data.js';

// The publishing (Authenticode code-signing) certificate of this server: DATA/signing/cert.pem
// and DATA/signing/key.pem (mode 0600). Every way in (create, import) goes through
// validatePublishingPair, and nothing is written unless it passes. The key and any password
// never appear in a message.

export const MIN_RSA_BITS = 3072;
const CODE_SIGNING_OID = '1.3.6.1.5.5.7.3.3';

export interface SigningPaths { dir: string; certFile: string; keyFile: string }

export function signingPaths(dataDir: string): SigningPaths {
  const dir = join(resolve(dataDir), 'signing');
  return { dir, certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') };
}

export interface PublishingCertInfo {
  subject: string;
  issuer: string;
  selfSigned: boolean;
  /** SHA-1 of the DER certificate, upper-case hex without separators, as Windows shows it */
  thumbprint: string;
  sha256: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  keyBits: number;
  expired: boolean;
}

/** A validated pair: the leaf certificate first in certPem (any intermediates after it). */
export interface PublishingPair { certPem: string; keyPem: string; info: PublishingCertInfo }

function invalid(message: string): DomainError {
  return new DomainError('InvalidInput', '', message);
}

/** "CN=Contoso, O=Contoso Ltd, C=US" → forge attributes; CN is required. */
export function parseSubject(raw: string): { shortName: string; value: string }[] {
  const allowed = new Set(['CN', 'O', 'OU', 'L', 'ST', 'C', 'E']);
  const parts = raw.split(/(?<!\\),/).map((p) => p.trim()).filter((p) => p !== '');
  const attrs = parts.map((p) => {
    const eq = p.indexOf('=');
    const key = eq > 0 ? p.slice(0, eq).trim().toUpperCase() : '';
    const value = eq > 0 ? p.slice(eq + 1).trim().replace(/\\,/g, ',') : '';
    if (!allowed.has(key) || !value) throw invalid(`--subject: ${JSON.stringify(p)} is not one of CN=, O=, OU=, L=, ST=, C=, E= with a value`);
    if (value.length > 64) throw invalid(`--subject: ${key} is longer than 64 characters`);
    if (key === 'C' && !/^[A-Za-z]{2}$/.test(value)) throw invalid('--subject: C= must be a two-letter country code');
    return { shortName: key, value };
  });
  if (!attrs.some((a) => a.shortName === 'CN')) throw invalid('--subject needs a CN=');
  return attrs;
}

function pemBlocks(text: string, label: RegExp): string[] {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;
  return [...text.matchAll(re)].filter((m) => label.test(m[1]!)).map((m) => `${m[0].replace(/\r\n/g, '\n')}\n`);
}

function describe(cert: X509Certificate, keyBits: number, now: Date): PublishingCertInfo {
  const dn = (s: string) => s.split('\n').filter(Boolean).join(', ');
  return {
    subject: dn(cert.subject),
    issuer: dn(cert.issuer),
    selfSigned: cert.subject === cert.issuer && cert.verify(cert.publicKey),
    thumbprint: cert.fingerprint.replace(/:/g, '').toUpperCase(),
    sha256: cert.fingerprint256,
    serialNumber: cert.serialNumber,
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    keyBits,
    expired: now.getTime() > new Date(cert.validTo).getTime(),
  };
}

/** Every rule a publishing certificate must meet; throws InvalidInput (exit 2) on the first it breaks. */
export function validatePublishingPair(certPemText: string, key: KeyObject, now = new Date()): PublishingPair {
  const blocks = pemBlocks(certPemText, /^(X509 )?CERTIFICATE$|^TRUSTED CERTIFICATE$/);
  if (!blocks.length) throw invalid('no certificate found');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(blocks[0]!);
  } catch {
    throw invalid('the certificate cannot be parsed');
  }
  if (key.type !== 'private') throw invalid('no private key found');
  if (key.asymmetricKeyType !== 'rsa') throw invalid(`the key is ${key.asymmetricKeyType ?? 'unknown'}, not RSA: Authenticode publishing here needs RSA`);
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) throw invalid(`the RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required`);
  if (!cert.checkPrivateKey(key)) throw invalid('the private key does not match the certificate');
  const eku = cert.keyUsage as string[] | undefined;
  if (!eku?.includes(CODE_SIGNING_OID)) {
    throw invalid('the certificate has no code signing extended key usage (1.3.6.1.5.5.7.3.3); Windows does not accept it for signed updates');
  }
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now < from) throw invalid(`the certificate is not valid yet (valid from ${from.toISOString()})`);
  if (now > to) throw invalid(`the certificate expired on ${to.toISOString()}`);
  const keyPem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { certPem: blocks.join(''), keyPem, info: describe(cert, bits, now) };
}

function readPrivateKey(pem: string, password: string | undefined): KeyObject {
  try {
    return createPrivateKey({ key: pem, format: 'pem', ...(password !== undefined ? { passphrase: password } : {}) });
  } catch {
    throw invalid(/ENCRYPTED/.test(pem)
      ? (password === undefined ? 'the private key is encrypted: give --password or $WSUS_SIGNING_PASSWORD' : 'wrong password for the private key')
      : 'the private key cannot be read');
  }
}

/** A PEM file holding the certificate and its private key (PKCS#8, PKCS#1, or encrypted PKCS#8). */
export function pairFromPem(text: string, password: string | undefined, now = new Date()): PublishingPair {
  const keys = pemBlocks(text, /PRIVATE KEY$/);
  if (!keys.length) throw invalid('the PEM file has no private key (it must hold both the certificate and its key)');
  if (keys.length > 1) throw invalid('the PEM file has more than one private key');
  return validatePublishingPair(text, readPrivateKey(keys[0]!, password), now);
}

/** A PKCS#12 (.pfx/.p12) file; the certificate matching the key comes first, the others follow as chain. */
export function pairFromPfx(der: Buffer, password: string | undefined, now = new Date()): PublishingPair {
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')));
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, false, password ?? '');
  } catch (e) {
    const msg = (e as Error).message ?? '';
    if (/password|MAC/i.test(msg)) {
      throw invalid(password === undefined ? 'the PFX file is password-protected: give --password or $WSUS_SIGNING_PASSWORD' : 'wrong PFX password');
    }
    throw invalid('the file is not a readable PKCS#12 (PFX) file, or its key is not RSA');
  }
  const keyBags = [
    ...(p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!] ?? []),
    ...(p12.getBags({ bagType: forge.pki.oids.keyBag! })[forge.pki.oids.keyBag!] ?? []),
  ].filter((b) => b.key);
  if (!keyBags.length) throw invalid('the PFX file has no (RSA) private key');
  if (keyBags.length > 1) throw invalid('the PFX file has more than one private key');
  const certs = (p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? [])
    .map((b) => b.cert).filter((c): c is forge.pki.Certificate => !!c).map((c) => forge.pki.certificateToPem(c));
  if (!certs.length) throw invalid('the PFX file has no certificate');
  const key = createPrivateKey(forge.pki.privateKeyToPem(keyBags[0]!.key as forge.pki.rsa.PrivateKey));
  const pub = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const leafAt = certs.findIndex((c) => new X509Certificate(c).publicKey.export({ type: 'spki', format: 'der' }).equals(pub));
  const ordered = leafAt > 0 ? [certs[leafAt]!, ...certs.filter((_, i) => i !== leafAt)] : certs;
  return validatePublishingPair(ordered.join(''), key, now);
}

export function assertNoPublishingPair(dataDir: string): void {
  const paths = signingPaths(dataDir);
  if (existsSync(paths.certFile) || existsSync(paths.keyFile)) {
    throw invalid(`a publishing certificate already exists in ${paths.dir} (use --force to replace it)`);
  }
}

/** Writes the pair (key first, mode 0600); refuses to replace an existing one unless forced. */
export function savePublishingPair(dataDir: string, pair: PublishingPair, force = false): SigningPaths {
  const paths = signingPaths(dataDir);
  if (!force) assertNoPublishingPair(dataDir);
  mkdirSync(resolve(dataDir), { recursive: true });
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const write = (file: string, text: string, mode: number) => {
    const tmp = `${file}.${process.pid}.tmp`;
    if (existsSync(tmp)) unlinkSync(tmp);
    writeFileSync(tmp, text, { mode, flag: 'wx' });
    chmodSync(tmp, mode);
    renameSync(tmp, file);
  };
  write(paths.keyFile, pair.keyPem, 0o600);
  write(paths.certFile, pair.certPem, 0o644);
  return paths;
}

/** The stored certificate (no key) and its description; NotFound when there is none. */
export function loadPublishingCert(dataDir: string, now = new Date()): { certPem: string; der: Buffer; info: PublishingCertInfo; paths: SigningPaths } {
  const paths = signingPaths(dataDir);
  if (!existsSync(paths.certFile)) {
    throw new DomainError('NotFound', '', `no publishing certificate in ${paths.dir} (create one with wsus signing create, or wsus signing import)`);
  }
  const certPem = readFileSync(paths.certFile, 'utf8');
  const block = pemBlocks(certPem, /CERTIFICATE$/)[0];
  if (!block) throw new DomainError('InvalidInput', '', `${paths.certFile} holds no certificate`);
  const cert = new X509Certificate(block);
  const bits = cert.publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  return { certPem: block, der: Buffer.from(cert.raw), info: describe(cert, bits, now), paths };
}

/** The stored pair as an Authenticode signer, validated again (it may have expired since). */
export function loadPublishingSigner(dataDir: string, now = new Date()): AuthenticodeSigner & { info: PublishingCertInfo } {
  const { paths } = loadPublishingCert(dataDir, now);
  if (!existsSync(paths.keyFile)) throw new DomainError('NotFound', '', `${paths.keyFile} is missing`);
  const pair = validatePublishingPair(readFileSync(paths.certFile, 'utf8'), createPrivateKey(readFileSync(paths.keyFile, 'utf8')), now);
  const certs = pemBlocks(pair.certPem, /CERTIFICATE$/).map((p) => forge.pki.certificateFromPem(p));
  const rsaKey = createPrivateKey(pair.keyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
  return {
    certificate: certs[0]!,
    privateKey: forge.pki.privateKeyFromPem(rsaKey) as forge.pki.rsa.PrivateKey,
    chain: certs.slice(1),
    info: pair.info,
  };
}
