// verifyFileSignature on cabinets: the streamed, file-based check agrees with
// the in-memory cabinet digest and signature code, across several 1 MiB hash
// chunks, and refuses damaged cabinets with a reason instead of an exception.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuthenticodeSigner } from '../src/protocol/authenticode/signed-data.js';
import { verifyFileSignature } from '../src/protocol/authenticode/verify-file.js';
import { buildCabinet, buildSignableCabinet, signCabinet } from '../src/protocol/cab/index.js';
import { assertEachMalformed, damaged, pkiSigner, pseudoRandomBytes } from './support/code-signing.js';
import {
  HAS_OSSLSIGNCODE,
  createSigningPki,
  osslVerify,
  writeFixture,
  type TestSigningPki,
} from './support/pe-fixture.js';

const NOW = new Date();

/** ~3 MiB of poorly compressible bytes, so the digest spans several hash chunks. */
const bigPayload = (): Buffer => pseudoRandomBytes(3 * 1024 * 1024 + 123, 99);

describe('verifyFileSignature on cabinets', () => {
  let dir: string;
  let pki: TestSigningPki;
  let signer: AuthenticodeSigner;
  let signed: Buffer;
  let signedPath: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'verify-file-'));
    pki = createSigningPki(dir);
    signer = pkiSigner(pki);
    const files = [
      { name: 'payload.bin', data: bigPayload() },
      { name: 'readme.txt', data: Buffer.from('signed by the tests\r\n') },
    ];
    signed = signCabinet(buildSignableCabinet(files, 'none'), signer);
    signedPath = writeFixture(dir, 'signed.cab', signed);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts a signed multi-MiB cabinet and names the signer', async () => {
    const result = await verifyFileSignature(signedPath, [pki.root], NOW);
    assert.equal(result?.kind, 'cab');
    assert.ok(result?.ok, JSON.stringify(result));
    assert.equal(result.signer.subject, 'CN=wsus-ts test publisher, O=wsus-ts tests');
    assert.equal(result.signer.thumbprintSha1, new X509Certificate(readFileSync(pki.certPath)).fingerprint.replaceAll(':', ''));
  });

  it('agrees with osslsigncode verify', (t) => {
    if (!HAS_OSSLSIGNCODE) return t.skip('osslsigncode is not installed');
    const ossl = osslVerify(signedPath, pki.rootPath);
    assert.ok(ossl.ok, ossl.output);
  });

  it('reports a one-byte change anywhere in the digested range as digest-mismatch', async () => {
    for (const at of [13, 20, 100, signed.length >> 1, signed.readUInt32LE(8) - 1]) {
      const bytes = Buffer.from(signed);
      bytes[at] ^= 0x40;
      const result = await verifyFileSignature(writeFixture(dir, 'tampered.cab', bytes), [pki.root], NOW);
      assert.equal(result?.ok === false && result.reason, 'digest-mismatch', `byte ${at}: ${JSON.stringify(result)}`);
    }
  });

  it('reports unsigned cabinets (with or without a signature slot) as unsigned', async () => {
    const files = [{ name: 'a.txt', data: Buffer.from('a') }];
    for (const cab of [buildCabinet(files, 'mszip'), buildSignableCabinet(files, 'mszip')]) {
      const result = await verifyFileSignature(writeFixture(dir, 'unsigned.cab', cab), [pki.root], NOW);
      assert.deepEqual(result && !result.ok && [result.kind, result.reason], ['cab', 'unsigned']);
    }
  });

  it('reports untrusted signers', async () => {
    const result = await verifyFileSignature(signedPath, [pki.otherRoot], NOW);
    assert.equal(result?.ok === false && result.reason, 'untrusted');
  });

  it('reports damaged cabinets as malformed without throwing', async () => {
    const cases: Record<string, Buffer> = {
      'bytes after the signature': Buffer.concat([signed, Buffer.alloc(8)]),
      'truncated signature': signed.subarray(0, signed.length - 16),
      'truncated header': signed.subarray(0, 30),
      'slot beyond the file': damaged(signed, (b) => b.writeUInt32LE(0xfffffff0, 48)),
      'garbage signature': damaged(signed, (b) => b.fill(0x30, b.readUInt32LE(44))),
    };
    await assertEachMalformed(dir, 'bad.cab', cases, [pki.root], NOW);
  });

  it('checks a sparse 2.2 GB cabinet in bounded memory', async (t) => {
    // The signed cabinet's header and signature around a 2.2 GB hole: the digest
    // no longer matches (the header changed), but reaching that verdict means
    // hashing the whole range, which must not load it.
    const size = 2.2e9;
    const signatureAt = signed.readUInt32LE(44);
    const signature = signed.subarray(signatureAt);
    const header = Buffer.from(signed.subarray(0, 60));
    header.writeUInt32LE(size, 8);
    header.writeUInt32LE(size, 44);
    const path = join(dir, 'huge.cab');
    const fd = openSync(path, 'w');
    try {
      writeSync(fd, header, 0, header.length, 0);
      writeSync(fd, signature, 0, signature.length, size);
    } finally {
      closeSync(fd);
    }
    if (statSync(path).blocks * 512 > 64 * 1024 * 1024) {
      rmSync(path);
      return t.skip('the temporary file system does not support sparse files');
    }
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    try {
      const result = await verifyFileSignature(path, [pki.root], NOW);
      assert.equal(result?.ok === false && result.reason, 'digest-mismatch', JSON.stringify(result));
    } finally {
      clearInterval(sampler);
      rmSync(path);
    }
    assert.ok(peak - before < 128 * 1024 * 1024, `memory grew by ${Math.round((peak - before) / 1048576)} MiB`);
  });

  it('returns null for files of no signable kind and throws only for I/O errors', async () => {
    assert.equal(await verifyFileSignature(writeFixture(dir, 'notes.txt', Buffer.from('plain text')), [pki.root], NOW), null);
    await assert.rejects(verifyFileSignature(join(dir, 'absent.cab'), [pki.root], NOW), { code: 'ENOENT' });
    await assert.rejects(verifyFileSignature(dir, [pki.root], NOW), { code: 'EISDIR' });
  });
});
