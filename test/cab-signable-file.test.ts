// File-based signable cabinets (writeSignableCabinetFile + signCabinetFile):
// the same bytes as the in-memory writer and signer, byte-exact extraction by
// cabextract, signatures osslsigncode accepts, osslsigncode able to sign our
// unsigned cabinets, and refusals (folder and 4 GiB limits) that leave nothing
// behind.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuthenticodeSigner } from '../src/protocol/authenticode/signed-data.js';
import { buildSignableCabinet, signCabinet } from '../src/protocol/cab/authenticode-cab.js';
import { MAX_FOLDER_BYTES, buildCabinet } from '../src/protocol/cab/cabinet-writer.js';
import { CabinetFormatError } from '../src/protocol/cab/errors.js';
import { signCabinetFile, writeSignableCabinetFile } from '../src/protocol/cab/signable-cabinet-file.js';
import { verifyCabinet } from '../src/protocol/cab/verify-cab.js';
import { pseudoRandomBytes } from './support/code-signing.js';
import { HAS_OSSLSIGNCODE, osslSign, osslVerify } from './support/pe-fixture.js';
import { issueCertificate, type IssuedCert } from './support/tsa-server.js';

const HAS_CABEXTRACT = spawnSync('cabextract', ['--version']).error === undefined;

/** Deterministic, partly compressible bytes: every fifth one random, letters between. */
function sampleBytes(size: number, seed: number): Buffer {
  const out = pseudoRandomBytes(size, seed);
  for (let i = 0; i < size; i++) if (i % 5 !== 0) out[i] = 0x41 + ((i >> 4) % 26);
  return out;
}

describe('file-based signable cabinets', () => {
  let dir: string;
  let root: IssuedCert;
  let leaf: IssuedCert;
  let signer: AuthenticodeSigner;
  let caFile: string;
  const members: { name: string; data: Buffer }[] = [];
  const files: { name: string; path: string }[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cab-signable-file-'));
    root = issueCertificate({ subject: 'Cabinet test root', ca: true });
    leaf = issueCertificate({ subject: 'Cabinet test publisher', issuer: root, eku: 'codeSigning' });
    signer = { certificate: leaf.certificate, privateKey: leaf.privateKey, chain: [root.certificate], programName: 'cab file test' };
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, root.pem);
    // A multi-MB member whose size is not a frame multiple, an incompressible one, an empty one, a UTF-8 name.
    members.push(
      { name: 'setup.msi', data: sampleBytes(5 * 1024 * 1024 + 12_345, 7) },
      { name: 'random.bin', data: randomBytes(300_001) },
      { name: 'empty.txt', data: Buffer.alloc(0) },
      { name: 'läsmig.txt', data: Buffer.from('Installed by wsus publish.\r\n') },
    );
    mkdirSync(join(dir, 'in'));
    for (const m of members) {
      const path = join(dir, 'in', m.name);
      writeFileSync(path, m.data);
      files.push({ name: m.name, path });
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes exactly what the in-memory writer builds (placeholder slot included)', async () => {
    const out = join(dir, 'same.cab');
    const { size } = await writeSignableCabinetFile(files, out);
    const bytes = readFileSync(out);
    assert.equal(size, bytes.length);
    assert.ok(bytes.equals(buildSignableCabinet(members, 'mszip')), 'byte-identical to buildSignableCabinet');
    assert.deepEqual(
      [bytes.readUInt32LE(44), bytes.readUInt32LE(48), bytes.length],
      [bytes.readUInt32LE(8), 8, bytes.readUInt32LE(8) + 8],
    );
    const result = verifyCabinet(bytes, [root.pem]);
    assert.equal(result.ok ? 'ok' : result.reason, 'unsigned');
    assert.deepEqual(readdirSync(dir).filter((n) => n.includes('cfdata')), [], 'the temporary CFDATA file is gone');
  });

  it('signs in place: the same bytes as signCabinet, verified by us and osslsigncode, extracted by cabextract', async (t) => {
    const out = join(dir, 'signed.cab');
    await writeSignableCabinetFile(files, out);
    const signingTime = new Date('2024-05-01T12:00:00Z');
    const unsigned = readFileSync(out);
    await signCabinetFile(out, signer, { signingTime });
    const signed = readFileSync(out);
    assert.ok(signed.equals(signCabinet(unsigned, signer, signingTime)), 'file and in-memory signatures are identical');
    const ours = verifyCabinet(signed, [root.pem]);
    assert.ok(ours.ok, JSON.stringify(ours));
    // Re-signing replaces the signature.
    await signCabinetFile(out, signer, { signingTime });
    assert.ok(readFileSync(out).equals(signed));

    const checks: string[] = [];
    if (HAS_OSSLSIGNCODE) {
      const ossl = osslVerify(out, caFile);
      assert.ok(ossl.ok, ossl.output);
      checks.push('osslsigncode');
    }
    if (HAS_CABEXTRACT) {
      const dest = join(dir, 'extracted');
      execFileSync('cabextract', ['-q', '-d', dest, out]);
      for (const m of members) {
        const got = readFileSync(join(dest, m.name));
        assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(m.data).digest('hex'), m.name);
      }
      checks.push('cabextract');
    }
    if (checks.length < 2) t.diagnostic(`not installed: ${['osslsigncode', 'cabextract'].filter((c) => !checks.includes(c)).join(', ')}`);
  });

  it('osslsigncode can sign our unsigned cabinet (placeholder slot) and the result verifies', async (t) => {
    if (!HAS_OSSLSIGNCODE) return t.skip('osslsigncode is not installed');
    const out = join(dir, 'for-ossl.cab');
    await writeSignableCabinetFile(files.slice(1), out);
    writeFileSync(join(dir, 'leaf.pem'), leaf.pem + root.pem);
    writeFileSync(join(dir, 'leaf.key'), leaf.keyPem);
    const signedPath = join(dir, 'by-ossl.cab');
    // Throws with osslsigncode's output when it refuses our unsigned cabinet.
    osslSign({ certPath: join(dir, 'leaf.pem'), keyPath: join(dir, 'leaf.key') }, out, signedPath);
    const result = verifyCabinet(readFileSync(signedPath), [root.pem]);
    assert.ok(result.ok, JSON.stringify(result));
    // osslsigncode keeps everything up to cbCabinet: the same digest as our own signature.
    const ours = readFileSync(out);
    const theirs = readFileSync(signedPath);
    const cb = ours.readUInt32LE(8);
    assert.ok(theirs.subarray(56, cb).equals(ours.subarray(56, cb)));
  });

  it('refuses a payload over the folder limit, naming it, and leaves nothing behind', async () => {
    const out = join(dir, 'limit', 'too-big.cab');
    mkdirSync(join(dir, 'limit'));
    await assert.rejects(
      writeSignableCabinetFile(files, out, { maxFolderBytes: 1024 * 1024 }),
      (e: Error) => e instanceof CabinetFormatError && e.code === 'limit' && e.message.includes('"setup.msi"') && e.message.includes('1048576'),
    );
    // A sparse file one byte over the real limit: refused from its size, nothing is read or written.
    const sparse = join(dir, 'limit', 'huge.bin');
    writeFileSync(sparse, '');
    truncateSync(sparse, MAX_FOLDER_BYTES + 1);
    await assert.rejects(
      writeSignableCabinetFile([{ name: 'huge.bin', path: sparse }], out),
      (e: Error) => e instanceof CabinetFormatError && e.code === 'limit' && e.message.includes('"huge.bin"') && e.message.includes(String(MAX_FOLDER_BYTES)),
    );
    // Several files: the one that tips it over is named, with the running total.
    await assert.rejects(
      writeSignableCabinetFile([files[1], { name: 'second.bin', path: files[1].path }], out, { maxFolderBytes: 500_000 }),
      /"second\.bin" \(300001 bytes, 600002 bytes with the files before it\)/,
    );
    assert.deepEqual(readdirSync(join(dir, 'limit')), ['huge.bin']);
  });

  it('refuses a cabinet over the 32-bit size limit after compressing, removing the partial output', async () => {
    const out = join(dir, 'limit2', 'big.cab');
    mkdirSync(join(dir, 'limit2'));
    await assert.rejects(
      writeSignableCabinetFile(files, out, { maxCabinetBytes: 1024 * 1024 }),
      (e: Error) => e instanceof CabinetFormatError && e.code === 'limit' && /over the 1048576-byte limit/.test(e.message),
    );
    assert.deepEqual(readdirSync(join(dir, 'limit2')), []);
  });

  it('fails cleanly on a missing payload, a directory, a bad name; signing refuses a cabinet without the reserve', async () => {
    mkdirSync(join(dir, 'bad'));
    const out = join(dir, 'bad', 'x.cab');
    await assert.rejects(writeSignableCabinetFile([{ name: 'a', path: join(dir, 'nope') }], out), { code: 'ENOENT' });
    await assert.rejects(writeSignableCabinetFile([{ name: 'a', path: dir }], out), /not a regular file/);
    await assert.rejects(writeSignableCabinetFile([{ name: '', path: files[3].path }], out), /member name/);
    await assert.rejects(writeSignableCabinetFile([], out), /1\.\.65535 files/);
    assert.deepEqual(readdirSync(join(dir, 'bad')), []);
    const plain = join(dir, 'bad', 'plain.cab');
    writeFileSync(plain, buildCabinet(members.slice(3), 'mszip'));
    await assert.rejects(signCabinetFile(plain, signer), /20-byte CFHEADER reserve/);
  });
});
