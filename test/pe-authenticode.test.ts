// Authenticode on PE images: a minimal PE32+/PE32 signed by osslsigncode is
// accepted by verifyFileSignature exactly when osslsigncode accepts it, and
// every kind of damage maps to a reason instead of an exception.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signableKindOf, verifyFileSignature } from '../src/protocol/authenticode/verify-file.js';
import {
  assertAcceptedAsOsslsigncodeDoes,
  assertEachMalformed,
  assertKindOrNull,
  damaged,
  randomlyDamaged,
} from './support/code-signing.js';
import {
  HAS_OSSLSIGNCODE,
  PE_LAYOUT,
  buildPeImage,
  createSigningPki,
  osslSign,
  osslVerify,
  writeFixture,
  type TestSigningPki,
} from './support/pe-fixture.js';

const NOW = new Date();
const SKIP = HAS_OSSLSIGNCODE ? false : 'osslsigncode is not installed';

describe('signableKindOf', () => {
  it('recognises PE, cabinet and compound-file magic, and nothing else', () => {
    const pe = buildPeImage();
    assert.equal(signableKindOf(pe.subarray(0, 8)), 'pe', 'eight bytes of MZ cannot rule a PE out');
    assert.equal(signableKindOf(pe), 'pe');
    assert.equal(signableKindOf(Buffer.from('MSCF\0\0\0\0')), 'cab');
    assert.equal(signableKindOf(Buffer.from('d0cf11e0a1b11ae1', 'hex')), 'msi');
    assert.equal(signableKindOf(Buffer.from('#!/bin/sh\n')), null);
    assert.equal(signableKindOf(Buffer.alloc(0)), null);
    const dos = Buffer.from(pe);
    dos.write('NE', PE_LAYOUT.peOffset, 'latin1'); // a 16-bit "new executable", not signable
    assert.equal(signableKindOf(dos), null);
  });
});

describe('PE Authenticode verification (osslsigncode-signed fixtures)', { skip: SKIP }, () => {
  let dir: string;
  let pki: TestSigningPki;
  const signed: Record<string, string> = {};
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pe-authenticode-'));
    pki = createSigningPki(dir);
    // PE32+ of a size that is not a multiple of 8 (signing pads it), PE32, and a SHA-1 signature.
    const variants: [string, Buffer, string[]][] = [
      ['pe64', buildPeImage({ trailing: 5 }), []],
      ['pe32', buildPeImage({ pe32: true }), []],
      ['sha1', buildPeImage(), ['-h', 'sha1']],
    ];
    for (const [name, image, extra] of variants) {
      const unsigned = writeFixture(dir, `${name}.exe`, image);
      signed[name] = join(dir, `${name}-signed.exe`);
      osslSign(pki, unsigned, signed[name], extra);
    }
    // A second, nested signature (unauthenticated attribute 1.3.6.1.4.1.311.2.4.1) is ignored.
    signed.nested = join(dir, 'nested-signed.exe');
    osslSign(pki, signed.sha1, signed.nested, ['-nest']);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts what osslsigncode signed, as osslsigncode verify does', async () => {
    await assertAcceptedAsOsslsigncodeDoes(signed, pki, NOW, (name, result) => {
      assert.deepEqual(result && { kind: result.kind, ok: result.ok }, { kind: 'pe', ok: true }, `${name}: ${JSON.stringify(result)}`);
      assert.ok(result?.ok === true && result.signer.subject.includes('CN=wsus-ts test publisher'));
    });
  });

  it('reports a one-byte change in a section as digest-mismatch (osslsigncode agrees)', async () => {
    const bytes = readFileSync(signed.pe64);
    bytes[PE_LAYOUT.sectionAt + 100] ^= 0x01;
    const path = writeFixture(dir, 'tampered.exe', bytes);
    const result = await verifyFileSignature(path, [pki.root], NOW);
    assert.equal(result?.ok === false && result.reason, 'digest-mismatch');
    assert.equal(osslVerify(path, pki.rootPath).ok, false);
  });

  it('excludes the CheckSum field from the digest', async () => {
    const bytes = readFileSync(signed.pe64);
    bytes.writeUInt32LE(0x12345678, PE_LAYOUT.peOffset + 24 + 64);
    const result = await verifyFileSignature(writeFixture(dir, 'checksum.exe', bytes), [pki.root], NOW);
    assert.equal(result?.ok, true, JSON.stringify(result));
  });

  it('reports unsigned, untrusted and expired', async () => {
    const unsigned = await verifyFileSignature(join(dir, 'pe64.exe'), [pki.root], NOW);
    assert.deepEqual(unsigned && !unsigned.ok && [unsigned.kind, unsigned.reason], ['pe', 'unsigned']);
    const untrusted = await verifyFileSignature(signed.pe64, [pki.otherRoot], NOW);
    assert.equal(untrusted?.ok === false && untrusted.reason, 'untrusted');
    const none = await verifyFileSignature(signed.pe64, [], NOW);
    assert.equal(none?.ok === false && none.reason, 'untrusted');
    const later = new Date(NOW.getTime() + 365 * 86_400_000);
    const expired = await verifyFileSignature(signed.pe64, [pki.root], later);
    assert.equal(expired?.ok === false && expired.reason, 'expired');
  });

  it('reports truncated, padded and corrupted images as malformed without throwing', async () => {
    const good = readFileSync(signed.pe64);
    const certDirectory = PE_LAYOUT.peOffset + 24 + 112 + 32;
    const cases: Record<string, Buffer> = {
      'truncated signature': good.subarray(0, good.length - 100),
      'truncated headers': good.subarray(0, PE_LAYOUT.peOffset + 60),
      'bytes after the certificate table': Buffer.concat([good, Buffer.alloc(8)]),
      'e_lfanew past the end': damaged(good, (b) => b.writeUInt32LE(0x7ffffff0, 0x3c)),
      'WIN_CERTIFICATE length overruns': damaged(good, (b) =>
        b.writeUInt32LE(b.readUInt32LE(certDirectory + 4) + 8, b.readUInt32LE(certDirectory)),
      ),
      'unaligned certificate table': damaged(good, (b) => {
        b.writeUInt32LE(b.readUInt32LE(certDirectory) + 4, certDirectory);
        b.writeUInt32LE(b.readUInt32LE(certDirectory + 4) - 4, certDirectory + 4);
      }),
      'garbage signature': damaged(good, (b) => b.fill(0x5a, b.readUInt32LE(certDirectory) + 8)),
      'unknown optional header magic': damaged(good, (b) => b.writeUInt16LE(0x107, PE_LAYOUT.peOffset + 24)),
    };
    await assertEachMalformed(dir, 'bad.exe', cases, [pki.root], NOW);
  });

  it('never throws on random damage to a signed image', async () => {
    for (const bytes of randomlyDamaged(readFileSync(signed.pe32), 7, 150)) {
      await assertKindOrNull(dir, 'fuzz.exe', bytes, 'pe', [pki.root], NOW);
    }
  });

  it('treats files that are not PE images as not signable', async () => {
    const text = writeFixture(dir, 'readme.txt', Buffer.from('hello'));
    assert.equal(await verifyFileSignature(text, [pki.root], NOW), null);
    const empty = writeFixture(dir, 'empty.bin', Buffer.alloc(0));
    assert.equal(await verifyFileSignature(empty, [pki.root], NOW), null);
    await assert.rejects(verifyFileSignature(join(dir, 'missing.exe'), [pki.root], NOW), { code: 'ENOENT' });
  });
});
