// MSZIP cabinets and their Authenticode signatures, checked by our reader and,
// when installed, by independent tools: cabextract (extraction) and
// osslsigncode (signature and digest verification).

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import forge from 'node-forge';
import {
  buildCabinet,
  buildSignableCabinet,
  cabinetAuthenticodeDigest,
  cabinetSignature,
  extractMember,
  readCabinet,
  signCabinet,
} from '../src/protocol/cab/index.js';
import type { AuthenticodeSigner } from '../src/protocol/authenticode/signed-data.js';

const LIMITS = { maxUncompressedBytes: 16 * 1024 * 1024 };

/** Deterministic, partly compressible bytes. */
function sampleBytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = i % 7 === 0 ? x >>> 24 : 0x41 + (i % 23);
  }
  return out;
}

const FILES = [
  { name: 'setup.exe', data: sampleBytes(100_000, 1) },
  { name: 'readme.txt', data: Buffer.from('Installed by wsus publish.\r\n') },
  { name: 'empty.dat', data: Buffer.alloc(0) },
  { name: 'random.bin', data: createHash('sha512').update('x').digest() },
];

const hasTool = (tool: string): boolean => spawnSync(tool, ['--version']).error === undefined;
const HAS_CABEXTRACT = hasTool('cabextract');
const HAS_OSSLSIGNCODE = hasTool('osslsigncode');

function selfSignedCodeSigning(): { signer: AuthenticodeSigner; pem: string } {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 3072, e: 0x10001 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01' + forge.util.bytesToHex(forge.random.getBytesSync(15));
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 86_400_000);
  const subject = [
    { name: 'commonName', value: 'WSUS test publisher' },
    { name: 'organizationName', value: 'Test' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', critical: true, digitalSignature: true },
    { name: 'extKeyUsage', codeSigning: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return {
    signer: { certificate: cert, privateKey: keys.privateKey, programName: 'WSUS test payload' },
    pem: forge.pki.certificateToPem(cert),
  };
}

function readAll(cab: Buffer): Map<string, Buffer> {
  const cabinet = readCabinet(cab, LIMITS);
  return new Map(cabinet.members.map((m) => [m.name, extractMember(cab, cabinet, m, LIMITS)]));
}

function assertMembers(found: Map<string, Buffer>): void {
  assert.deepEqual([...found.keys()].sort(), FILES.map((f) => f.name).sort());
  for (const f of FILES) assert.ok(found.get(f.name)!.equals(f.data), `${f.name} differs`);
}

describe('MSZIP cabinets with Authenticode signatures', () => {
  let dir: string;
  let signer: AuthenticodeSigner;
  let certPath: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cab-authenticode-'));
    const made = selfSignedCodeSigning();
    signer = made.signer;
    certPath = join(dir, 'cert.pem');
    writeFileSync(certPath, made.pem);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads back an MSZIP cabinet byte-exactly (blocks compressed, > 32 KiB member, empty member)', () => {
    const cab = buildCabinet(FILES, 'mszip');
    const cabinet = readCabinet(cab, LIMITS);
    assert.equal(cabinet.folders[0].compression, 'mszip');
    assert.ok(cabinet.folders[0].blocks.length >= 4);
    assert.ok(cab.length < 100_000, 'compressible input shrinks');
    assertMembers(readAll(cab));
  });

  it('cabextract extracts unsigned and signed cabinets byte-exactly', (t) => {
    if (!HAS_CABEXTRACT) return t.skip('cabextract is not installed');
    const cabs = {
      plain: buildCabinet(FILES, 'mszip'),
      signed: signCabinet(buildSignableCabinet(FILES, 'mszip'), signer),
    };
    for (const [label, cab] of Object.entries(cabs)) {
      const path = join(dir, `${label}.cab`);
      const out = join(dir, `${label}-out`);
      writeFileSync(path, cab);
      execFileSync('cabextract', ['-q', '-d', out, path]);
      execFileSync('cabextract', ['-t', path]);
      for (const f of FILES) assert.ok(readFileSync(join(out, f.name)).equals(f.data), `${label}: ${f.name} differs`);
    }
  });

  it('signs into the CFHEADER reserve and still reads back', () => {
    const unsigned = buildSignableCabinet(FILES, 'mszip');
    const signed = signCabinet(unsigned, signer);
    assert.equal(signed.readUInt16LE(36), 20);
    // Unsigned, the slot describes an 8-byte zero placeholder after cbCabinet (osslsigncode needs a non-empty slot).
    const cbCabinet = unsigned.readUInt32LE(8);
    assert.deepEqual([unsigned.readUInt32LE(44), unsigned.readUInt32LE(48), unsigned.length], [cbCabinet, 8, cbCabinet + 8]);
    assert.equal(cabinetSignature(unsigned), undefined);
    assert.equal(signed.readUInt32LE(44), cbCabinet);
    assert.equal(signed.readUInt32LE(48) % 8, 0);
    assert.equal(signed.length, cbCabinet + signed.readUInt32LE(48));
    assert.ok(cabinetAuthenticodeDigest(signed).equals(cabinetAuthenticodeDigest(unsigned)));
    const slot = Buffer.from(cabinetSignature(signed)!);
    assert.equal(slot[0], 0x30);
    assert.equal(slot[1], 0x82, 'a signature of 256..65535 bytes');
    const der = slot.subarray(0, 4 + slot.readUInt16BE(2));
    assert.ok(slot.subarray(der.length).every((b) => b === 0), 'zero padding to 8 bytes');
    const p7 = forge.asn1.fromDer(der.toString('binary'));
    assert.equal(forge.asn1.derToOid((p7.value as forge.asn1.Asn1[])[0].value as string), '1.2.840.113549.1.7.2');
    assertMembers(readAll(signed));
    // Only the exact signature the slot describes may follow cbCabinet.
    assert.throws(() => readCabinet(Buffer.concat([signed, Buffer.alloc(8)]), LIMITS), /follow the cabinet/);
    // Re-signing replaces the signature instead of stacking a second one.
    assert.equal(signCabinet(signed, signer).length, signed.length);
  });

  it('osslsigncode verifies the signature and rejects a tampered cabinet', (t) => {
    if (!HAS_OSSLSIGNCODE) return t.skip('osslsigncode is not installed');
    const signed = signCabinet(buildSignableCabinet(FILES, 'mszip'), signer);
    const good = join(dir, 'good.cab');
    writeFileSync(good, signed);
    const ok = spawnSync('osslsigncode', ['verify', '-in', good, '-CAfile', certPath], { encoding: 'utf8' });
    assert.equal(ok.status, 0, `osslsigncode verify failed:\n${ok.stdout}\n${ok.stderr}`);

    const tampered = Buffer.from(signed);
    const dataAt = readCabinet(signed, LIMITS).folders[0].blocks[1].offset + 100;
    tampered[dataAt] ^= 0x01;
    const bad = join(dir, 'tampered.cab');
    writeFileSync(bad, tampered);
    const refused = spawnSync('osslsigncode', ['verify', '-in', bad, '-CAfile', certPath], { encoding: 'utf8' });
    assert.notEqual(refused.status, 0, `osslsigncode accepted a tampered cabinet:\n${refused.stdout}`);
  });

  it('refuses to sign a cabinet without the signature reserve', () => {
    assert.throws(() => signCabinet(buildCabinet(FILES, 'none'), signer), /20-byte CFHEADER reserve/);
  });
});
