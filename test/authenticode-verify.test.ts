// Authenticode verification of signed cabinets (verifyCabinet): our own
// signatures, every refusal reason, garbage in the slot, and, when installed,
// a cabinet signed by osslsigncode.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import forge from 'node-forge';
import { buildCabinet, buildSignableCabinet, readCabinet, signCabinet } from '../src/protocol/cab/index.js';
import { verifyCabinet } from '../src/protocol/cab/verify-cab.js';
import type { AuthenticodeSigner } from '../src/protocol/authenticode/signed-data.js';

const DAY = 86_400_000;
const FILES = [
  { name: 'setup.exe', data: Buffer.from('x'.repeat(70_000) + createHash('sha512').update('y').digest('hex')) },
  { name: 'readme.txt', data: Buffer.from('hello\r\n') },
];

interface Made {
  signer: AuthenticodeSigner;
  pem: string;
  keyPem: string;
}

function makeCert(options: {
  subject: string;
  keys?: forge.pki.rsa.KeyPair;
  issuer?: Made;
  ca?: boolean;
  codeSigning?: boolean;
  notBefore?: Date;
  notAfter?: Date;
}): Made {
  const keys = options.keys ?? forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01' + forge.util.bytesToHex(forge.random.getBytesSync(15));
  cert.validity.notBefore = options.notBefore ?? new Date(Date.now() - DAY);
  cert.validity.notAfter = options.notAfter ?? new Date(Date.now() + 365 * DAY);
  const subject = [{ name: 'commonName', value: options.subject }];
  cert.setSubject(subject);
  cert.setIssuer(options.issuer ? options.issuer.signer.certificate.subject.attributes : subject);
  const extensions: object[] = [{ name: 'basicConstraints', cA: options.ca ?? false }];
  if (options.ca) extensions.push({ name: 'keyUsage', critical: true, keyCertSign: true, digitalSignature: true });
  else extensions.push({ name: 'keyUsage', critical: true, digitalSignature: true });
  if (!options.ca) {
    extensions.push(
      options.codeSigning === false ? { name: 'extKeyUsage', serverAuth: true } : { name: 'extKeyUsage', codeSigning: true },
    );
  }
  extensions.push({ name: 'subjectKeyIdentifier' });
  cert.setExtensions(extensions);
  cert.sign(options.issuer?.signer.privateKey ?? keys.privateKey, forge.md.sha256.create());
  return {
    signer: {
      certificate: cert,
      privateKey: keys.privateKey,
      chain: options.issuer ? [options.issuer.signer.certificate] : [],
      programName: 'verify test',
    },
    pem: forge.pki.certificateToPem(cert),
    keyPem: forge.pki.privateKeyToPem(keys.privateKey),
  };
}

const HAS_OSSLSIGNCODE = spawnSync('osslsigncode', ['--version']).error === undefined;

describe('Authenticode verification of cabinets', () => {
  let dir: string;
  let self: Made;
  let other: Made;
  let root: Made;
  let leaf: Made;
  let unsigned: Buffer;
  let signed: Buffer;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'authenticode-verify-'));
    self = makeCert({ subject: 'WSUS test publisher' });
    other = makeCert({ subject: 'Someone else' });
    root = makeCert({ subject: 'Test Root CA', ca: true });
    leaf = makeCert({ subject: 'Chained publisher', issuer: root });
    unsigned = buildSignableCabinet(FILES, 'mszip');
    signed = signCabinet(unsigned, self.signer);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts our signature against the signing certificate as trust', () => {
    const result = verifyCabinet(signed, [self.pem], new Date());
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.signer.subject, 'CN=WSUS test publisher');
    const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(self.signer.certificate)).getBytes(), 'binary');
    assert.equal(result.signer.thumbprintSha1, createHash('sha1').update(der).digest('hex').toUpperCase());
  });

  it('accepts a chain from a leaf through the embedded certificates to a trusted root', () => {
    const cab = signCabinet(unsigned, { ...leaf.signer, chain: [] });
    assert.ok(verifyCabinet(signCabinet(unsigned, leaf.signer), [root.pem], new Date()).ok);
    assert.deepEqual(reason(verifyCabinet(cab, [root.pem], new Date())), 'ok', 'root is in the trust list');
    assert.equal(reason(verifyCabinet(cab, [other.pem], new Date())), 'untrusted');
  });

  it('refuses a tampered data byte (digest-mismatch)', () => {
    const tampered = Buffer.from(signed);
    tampered[readCabinet(signed, { maxUncompressedBytes: 1 << 24 }).folders[0].blocks[0].offset + 20] ^= 0x01;
    assert.equal(reason(verifyCabinet(tampered, [self.pem], new Date())), 'digest-mismatch');
  });

  it('refuses a tampered signature byte (bad-signature or malformed)', () => {
    const tampered = Buffer.from(signed);
    const sigEnd = signed.readUInt32LE(8) + derLength(signed.subarray(signed.readUInt32LE(8)));
    // The RSA signature is the last element of the SignerInfo, at the end of the DER.
    tampered[sigEnd - 10] ^= 0x40;
    assert.equal(reason(verifyCabinet(tampered, [self.pem], new Date())), 'bad-signature');
    // A tampered structural byte is at worst malformed.
    const structural = Buffer.from(signed);
    structural[signed.readUInt32LE(8) + 1] ^= 0x01;
    assert.ok(['malformed', 'bad-signature'].includes(reason(verifyCabinet(structural, [self.pem], new Date()))));
  });

  it('refuses an untrusted signer', () => {
    assert.equal(reason(verifyCabinet(signed, [other.pem], new Date())), 'untrusted');
    assert.equal(reason(verifyCabinet(signed, [root.pem], new Date())), 'untrusted');
    assert.equal(reason(verifyCabinet(signed, [], new Date())), 'untrusted');
  });

  it('reports unsigned cabinets, with and without the reserve', () => {
    assert.equal(reason(verifyCabinet(unsigned, [self.pem], new Date())), 'unsigned');
    assert.equal(reason(verifyCabinet(buildCabinet(FILES, 'none'), [self.pem], new Date())), 'unsigned');
  });

  it('refuses verification after expiry or before validity', () => {
    assert.equal(reason(verifyCabinet(signed, [self.pem], new Date(Date.now() + 2 * 365 * DAY))), 'expired');
    assert.equal(reason(verifyCabinet(signed, [self.pem], new Date(Date.now() - 2 * DAY))), 'expired');
  });

  it('refuses a certificate without the codeSigning EKU', () => {
    const web = makeCert({ subject: 'Web server', codeSigning: false });
    assert.equal(reason(verifyCabinet(signCabinet(unsigned, web.signer), [web.pem], new Date())), 'not-code-signing');
  });

  it('never throws on garbage in the signature slot or the cabinet', () => {
    const offset = signed.readUInt32LE(8);
    let seed = 12345;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
    const reasons = new Set<string>();
    const mutatedOk: number[] = []; // embedded-certificate bytes: the trusted copy is used instead
    for (let round = 0; round < 400; round++) {
      const copy = Buffer.from(signed);
      const mutated: number[] = [];
      if (round < 100) {
        for (let i = offset; i < copy.length; i++) copy[i] = rand() & 0xff;
      } else if (round < 300) {
        for (let k = 0; k < 1 + (round % 8); k++) {
          const at = offset + (rand() % (copy.length - offset));
          copy[at] ^= 1 + (rand() % 255);
          mutated.push(at - offset);
        }
      } else {
        // Deep nesting and absurd lengths.
        for (let i = offset; i + 1 < copy.length; i += 2) (copy[i] = 0x30), (copy[i + 1] = 0x80 | (round % 5));
      }
      const result = verifyCabinet(copy, [self.pem], new Date());
      reasons.add(reason(result));
      // A few SignedData fields are not covered by the signature (version numbers,
      // the digestAlgorithms set); a flip there may still verify. Everything else must not.
      if (result.ok) {
        assert.ok(round >= 100 && round < 300, `round ${round} verified`);
        mutatedOk.push(...mutated);
      }
    }
    for (const bytes of [Buffer.alloc(0), Buffer.from('MSCF'), signed.subarray(0, 70), Buffer.alloc(100, 0xff)]) {
      reasons.add(reason(verifyCabinet(bytes, [self.pem], new Date())));
    }
    assert.ok(reasons.has('malformed'));
  });

  it('verifies a cabinet signed by osslsigncode', (t) => {
    if (!HAS_OSSLSIGNCODE) return t.skip('osslsigncode is not installed');
    writeFileSync(join(dir, 'cert.pem'), self.pem);
    writeFileSync(join(dir, 'key.pem'), self.keyPem);
    const results: string[] = [];
    for (const [label, input] of [
      ['with reserve', unsigned],
      ['without reserve', buildCabinet(FILES, 'mszip')],
    ] as const) {
      const inPath = join(dir, `${label}.cab`.replace(' ', '-'));
      const outPath = inPath.replace('.cab', '-signed.cab');
      writeFileSync(inPath, input);
      const run = spawnSync(
        'osslsigncode',
        ['sign', '-certs', join(dir, 'cert.pem'), '-key', join(dir, 'key.pem'), '-in', inPath, '-out', outPath],
        { encoding: 'utf8' },
      );
      if (run.status !== 0) {
        results.push(`${label}: osslsigncode cannot sign (${(run.stderr || run.stdout).trim().split('\n')[0]})`);
        continue;
      }
      const theirs = readFileSync(outPath);
      const result = verifyCabinet(theirs, [self.pem], new Date());
      assert.ok(result.ok, `${label}: ${JSON.stringify(result)}`);
      const tampered = Buffer.from(theirs);
      tampered[readCabinet(theirs, { maxUncompressedBytes: 1 << 24 }).folders[0].blocks[0].offset + 20] ^= 0x01;
      assert.equal(reason(verifyCabinet(tampered, [self.pem], new Date())), 'digest-mismatch');
      results.push(`${label}: ok`);
    }
    if (!results.some((r) => r.endsWith(': ok'))) return t.skip(results.join('; '));
    t.diagnostic(results.join('; '));
  });
});

function reason(result: ReturnType<typeof verifyCabinet>): string {
  return result.ok ? 'ok' : result.reason;
}

function derLength(bytes: Buffer): number {
  const first = bytes[1];
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  return 2 + n + bytes.subarray(2, 2 + n).readUIntBE(0, n);
}
