// Test material for Authenticode on files: a minimal but well-formed PE image
// (one .text section; PE32+ by default, PE32 on request), a small code-signing
// PKI (root CA → leaf with the codeSigning EKU) written as PEM files, and a
// wrapper around `osslsigncode` for signing and verifying with it.

import { X509Certificate } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { certificate as unsignedCertificate, keyPair } from './test-ca.js';

export const HAS_OSSLSIGNCODE = spawnSync('osslsigncode', ['--version']).error === undefined;

/** Where the interesting parts of buildPeImage's output lie. */
export const PE_LAYOUT = { peOffset: 0x80, sectionAt: 0x200, sectionSize: 0x200 } as const;

/**
 * A PE image Windows would load: DOS header, PE signature, COFF header,
 * optional header (16 data directories), one section header and the section.
 * `trailing` appends bytes (e.g. to make the size not a multiple of 8).
 */
export function buildPeImage(options: { pe32?: boolean; trailing?: number } = {}): Buffer {
  const pe32 = options.pe32 ?? false;
  const optionalSize = pe32 ? 224 : 240;
  const file = Buffer.alloc(PE_LAYOUT.sectionAt + PE_LAYOUT.sectionSize + (options.trailing ?? 0));
  file.write('MZ', 0, 'latin1');
  file.writeUInt16LE(0x90, 2); // bytes on last page, as linkers write
  file.writeUInt32LE(PE_LAYOUT.peOffset, 0x3c);
  file.write('This program cannot be run in DOS mode.\r\r\n$', 0x4e, 'latin1');

  const pe = PE_LAYOUT.peOffset;
  file.write('PE\0\0', pe, 'latin1');
  const coff = pe + 4;
  file.writeUInt16LE(pe32 ? 0x014c : 0x8664, coff); // i386 or AMD64
  file.writeUInt16LE(1, coff + 2); // one section
  file.writeUInt32LE(0x5f000000, coff + 4); // TimeDateStamp
  file.writeUInt16LE(optionalSize, coff + 16);
  file.writeUInt16LE(pe32 ? 0x0102 : 0x0022, coff + 18); // executable (+ 32-bit machine / large-address aware)

  const opt = coff + 20;
  file.writeUInt16LE(pe32 ? 0x10b : 0x20b, opt);
  file[opt + 2] = 14; // linker version
  file.writeUInt32LE(PE_LAYOUT.sectionSize, opt + 4); // SizeOfCode
  file.writeUInt32LE(0x1000, opt + 16); // AddressOfEntryPoint
  file.writeUInt32LE(0x1000, opt + 20); // BaseOfCode
  if (pe32) file.writeUInt32LE(0x400000, opt + 28);
  else file.writeBigUInt64LE(0x140000000n, opt + 24);
  file.writeUInt32LE(0x1000, opt + 32); // SectionAlignment
  file.writeUInt32LE(0x200, opt + 36); // FileAlignment
  file.writeUInt16LE(6, opt + 40); // OS version 6.0
  file.writeUInt16LE(6, opt + 48); // subsystem version 6.0
  file.writeUInt32LE(0x2000, opt + 56); // SizeOfImage
  file.writeUInt32LE(PE_LAYOUT.sectionAt, opt + 60); // SizeOfHeaders
  file.writeUInt16LE(3, opt + 68); // console subsystem
  file.writeUInt16LE(0x8160, opt + 70); // NX, dynamic base, TS aware, high-entropy VA
  if (pe32) {
    file.writeUInt32LE(0x100000, opt + 72);
    file.writeUInt32LE(0x1000, opt + 76);
    file.writeUInt32LE(0x100000, opt + 80);
    file.writeUInt32LE(0x1000, opt + 84);
    file.writeUInt32LE(16, opt + 92);
  } else {
    file.writeBigUInt64LE(0x100000n, opt + 72);
    file.writeBigUInt64LE(0x1000n, opt + 80);
    file.writeBigUInt64LE(0x100000n, opt + 88);
    file.writeBigUInt64LE(0x1000n, opt + 96);
    file.writeUInt32LE(16, opt + 108);
  }

  const section = opt + optionalSize;
  file.write('.text', section, 'latin1');
  file.writeUInt32LE(PE_LAYOUT.sectionSize, section + 8); // VirtualSize
  file.writeUInt32LE(0x1000, section + 12); // VirtualAddress
  file.writeUInt32LE(PE_LAYOUT.sectionSize, section + 16); // SizeOfRawData
  file.writeUInt32LE(PE_LAYOUT.sectionAt, section + 20); // PointerToRawData
  file.writeUInt32LE(0x60000020, section + 36); // code, execute, read

  // xor eax, eax; ret — then a recognisable filler.
  Buffer.from([0x31, 0xc0, 0xc3]).copy(file, PE_LAYOUT.sectionAt);
  for (let i = 3; i < PE_LAYOUT.sectionSize; i++) file[PE_LAYOUT.sectionAt + i] = 0xcc;
  for (let i = PE_LAYOUT.sectionAt + PE_LAYOUT.sectionSize; i < file.length; i++) file[i] = i & 0xff;
  return file;
}

export interface TestSigningPki {
  /** PEM files: the root CA, the leaf code-signing certificate and its key. */
  rootPath: string;
  certPath: string;
  keyPath: string;
  root: X509Certificate;
  /** An unrelated root that did not issue anything here. */
  otherRoot: X509Certificate;
  otherRootPath: string;
}

/** A certificate (O=wsus-ts tests) signed by `signer`, as PEM. */
function certificate(cn: string, pub: forge.pki.PublicKey, issuer: string, signer: forge.pki.rsa.PrivateKey, extensions: object[]): string {
  const cert = unsignedCertificate(cn, pub, issuer, extensions, 'wsus-ts tests');
  cert.sign(signer, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

const CA_EXTENSIONS = [
  { name: 'basicConstraints', cA: true, critical: true },
  { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
  { name: 'subjectKeyIdentifier' },
];

/** A root CA and a code-signing leaf it issued, plus an unrelated root, written into `dir`. */
export function createSigningPki(dir: string): TestSigningPki {
  const ca = keyPair();
  const rootPem = certificate('wsus-ts test code-signing root', ca.forgePublic, 'wsus-ts test code-signing root', ca.forgePrivate, CA_EXTENSIONS);
  const leaf = keyPair();
  const leafPem = certificate('wsus-ts test publisher', leaf.forgePublic, 'wsus-ts test code-signing root', ca.forgePrivate, [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, critical: true },
    { name: 'extKeyUsage', codeSigning: true },
  ]);
  const other = keyPair();
  const otherPem = certificate('unrelated root', other.forgePublic, 'unrelated root', other.forgePrivate, CA_EXTENSIONS);
  const paths = {
    rootPath: join(dir, 'root.pem'),
    certPath: join(dir, 'leaf.pem'),
    keyPath: join(dir, 'leaf.key'),
    otherRootPath: join(dir, 'other-root.pem'),
  };
  writeFileSync(paths.rootPath, rootPem);
  writeFileSync(paths.certPath, leafPem);
  writeFileSync(paths.keyPath, leaf.keyPem, { mode: 0o600 });
  writeFileSync(paths.otherRootPath, otherPem);
  return { ...paths, root: new X509Certificate(rootPem), otherRoot: new X509Certificate(otherPem) };
}

/** `osslsigncode sign` with the leaf; extra arguments (e.g. -add-msi-dse, -h sha1) go before -in. */
export function osslSign(pki: Pick<TestSigningPki, 'certPath' | 'keyPath'>, input: string, output: string, extra: string[] = []): void {
  const run = spawnSync(
    'osslsigncode',
    ['sign', '-certs', pki.certPath, '-key', pki.keyPath, ...extra, '-in', input, '-out', output],
    { encoding: 'utf8' },
  );
  if (run.status !== 0) throw new Error(`osslsigncode sign failed:\n${run.stdout}\n${run.stderr}`);
}

/** Whether `osslsigncode verify` accepts the file against `caPath`, with its output for messages. */
export function osslVerify(path: string, caPath: string): { ok: boolean; output: string } {
  const run = spawnSync('osslsigncode', ['verify', '-in', path, '-CAfile', caPath], { encoding: 'utf8' });
  return { ok: run.status === 0, output: `${run.stdout}\n${run.stderr}` };
}

export function writeFixture(dir: string, name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}
