// RFC 3161 timestamps on our Authenticode signatures: requested from a loopback
// TSA through the client, embedded as 1.3.6.1.4.1.311.3.3.1, verified by our
// verifier (timestampedAt; an expired signer valid at the stamped time) and,
// when installed, by osslsigncode; legacy PKCS#9 countersignatures; and every
// way a TSA exchange can fail.

import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import forge from 'node-forge';
import type { AuthenticodeSigner } from '../src/protocol/authenticode/signed-data.js';
import {
  buildTimeStampRequest,
  embedTimeStampToken,
  parseTimeStampResponse,
  signatureValueOf,
} from '../src/protocol/authenticode/timestamp.js';
import { verifyAuthenticodeSignedData } from '../src/protocol/authenticode/verify-signed-data.js';
import { cabinetSignature } from '../src/protocol/cab/authenticode-cab.js';
import { signCabinetFile, writeSignableCabinetFile } from '../src/protocol/cab/signable-cabinet-file.js';
import { verifyCabinet } from '../src/protocol/cab/verify-cab.js';
import { postTimeStampQuery, timestampFrom, timestampSignedData, TimestampError } from '../src/services/signing/timestamp-client.js';
import { issueCertificate, startTestTsa, type IssuedCert, type TestTsa } from './support/tsa-server.js';

const DAY = 86_400_000;
const OSSLSIGNCODE_HELP = spawnSync('osslsigncode', ['--help'], { encoding: 'utf8' });
const HAS_OSSLSIGNCODE = OSSLSIGNCODE_HELP.error === undefined;
const OSSLSIGNCODE_USAGE = `${OSSLSIGNCODE_HELP.stdout ?? ''}${OSSLSIGNCODE_HELP.stderr ?? ''}`;
/** Debian's 2.5 and today's 2.9 spell the TSA trust option -TSA-CAfile; older releases took -untrusted. */
const TSA_CA_FLAG = OSSLSIGNCODE_USAGE.includes('-TSA-CAfile') ? '-TSA-CAfile' : '-untrusted';

const signerOf = (leaf: IssuedCert, root: IssuedCert): AuthenticodeSigner => ({
  certificate: leaf.certificate,
  privateKey: leaf.privateKey,
  chain: [root.certificate],
  programName: 'timestamp test',
});

function osslVerify(cab: string, caFile: string, tsaCaFile?: string): { ok: boolean; out: string } {
  const args = ['verify', '-in', cab, '-CAfile', caFile, ...(tsaCaFile ? [TSA_CA_FLAG, tsaCaFile] : [])];
  const run = spawnSync('osslsigncode', args, { encoding: 'utf8' });
  return { ok: run.status === 0, out: `${run.stdout}\n${run.stderr}` };
}

describe('RFC 3161 timestamps', () => {
  let dir: string;
  let tsa: TestTsa;
  let root: IssuedCert;
  let leaf: IssuedCert;
  let expired: IssuedCert;
  let payload: string;
  let caFile: string;
  let tsaCaFile: string;
  let trust: X509Certificate[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'timestamp-'));
    tsa = await startTestTsa();
    root = issueCertificate({ subject: 'Timestamp test root', ca: true, notBefore: new Date(Date.now() - 30 * DAY) });
    leaf = issueCertificate({ subject: 'Timestamp test publisher', issuer: root, eku: 'codeSigning' });
    // Valid from 20 to 5 days ago: expired now, valid at a timestamp of 7 days ago.
    expired = issueCertificate({
      subject: 'Expired publisher',
      issuer: root,
      eku: 'codeSigning',
      notBefore: new Date(Date.now() - 20 * DAY),
      notAfter: new Date(Date.now() - 5 * DAY),
    });
    payload = join(dir, 'payload.bin');
    writeFileSync(payload, Buffer.concat([Buffer.alloc(50_000, 'a'), createHash('sha512').update('p').digest()]));
    caFile = join(dir, 'ca.pem');
    tsaCaFile = join(dir, 'tsa-ca.pem');
    writeFileSync(caFile, root.pem);
    writeFileSync(tsaCaFile, tsa.root.pem);
    trust = [new X509Certificate(root.der), new X509Certificate(tsa.root.der)];
  });
  after(async () => {
    await tsa.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function signedCab(name: string, signer: AuthenticodeSigner, timestamp: boolean, signingTime?: Date): Promise<string> {
    const path = join(dir, name);
    await writeSignableCabinetFile([{ name: 'payload.bin', path: payload }], path);
    await signCabinetFile(path, signer, { ...(timestamp ? { timestamp: timestampFrom(tsa.url) } : {}), ...(signingTime ? { signingTime } : {}) });
    return path;
  }

  it('builds a v1 request with a SHA-256 imprint of the signature value, a positive nonce and certReq', () => {
    const request = buildTimeStampRequest(Buffer.from('signature'), Buffer.alloc(8, 0xff));
    const fields = forge.asn1.fromDer(request.der.toString('binary')).value as forge.asn1.Asn1[];
    assert.equal(fields.length, 4);
    assert.equal(fields[0].value, '\x01');
    const imprint = (fields[1].value as forge.asn1.Asn1[])[1].value as string;
    assert.ok(Buffer.from(imprint, 'binary').equals(createHash('sha256').update('signature').digest()));
    assert.equal(request.nonce[0] & 0x80, 0, 'the nonce INTEGER is positive');
    assert.equal(fields[3].value, '\xff', 'certReq TRUE');
    assert.notDeepEqual(buildTimeStampRequest(Buffer.from('x')).nonce, buildTimeStampRequest(Buffer.from('x')).nonce);
  });

  it('signs and timestamps a cabinet file; our verifier reports timestampedAt', async () => {
    tsa.mode = 'ok';
    const before = Date.now();
    const path = await signedCab('stamped.cab', signerOf(leaf, root), true);
    const result = verifyCabinet(readFileSync(path), trust, new Date());
    assert.ok(result.ok, JSON.stringify(result));
    assert.ok(result.timestampedAt, 'timestampedAt is set');
    assert.ok(Math.abs(result.timestampedAt.getTime() - before) < 60_000);
    // Without the TSA's root in the trust list the token is ignored, the signature still verifies.
    const rootOnly = verifyCabinet(readFileSync(path), [root.pem], new Date());
    assert.ok(rootOnly.ok && rootOnly.timestampedAt === undefined);
  });

  it('osslsigncode verifies the timestamped cabinet with -CAfile and the TSA CA', async (t) => {
    if (!HAS_OSSLSIGNCODE) return t.skip('osslsigncode is not installed');
    tsa.mode = 'ok';
    const path = await signedCab('stamped-ossl.cab', signerOf(leaf, root), true);
    const run = osslVerify(path, caFile, tsaCaFile);
    assert.ok(run.ok, run.out);
    assert.match(run.out, /Timestamp Server Signature verification: ok/);
  });

  it('reads timestamps osslsigncode embeds: from our TSA (-ts) and from its built-in OpenSSL TSA (-TSA-certs)', async (t) => {
    if (!HAS_OSSLSIGNCODE) return t.skip('osslsigncode is not installed');
    tsa.mode = 'ok';
    const unsigned = join(dir, 'for-ossl-ts.cab');
    await writeSignableCabinetFile([{ name: 'payload.bin', path: payload }], unsigned);
    writeFileSync(join(dir, 'signer.pem'), leaf.pem + root.pem);
    writeFileSync(join(dir, 'signer.key'), leaf.keyPem);
    writeFileSync(join(dir, 'tsa.pem'), tsa.tsa.pem + tsa.root.pem);
    writeFileSync(join(dir, 'tsa.key'), tsa.tsa.keyPem);
    // Asynchronously: the TSA answers from this very process.
    const sign = (out: string, extra: string[]): Promise<{ status: number; stdout: string; stderr: string }> =>
      new Promise((resolve) => {
        const args = ['sign', '-certs', join(dir, 'signer.pem'), '-key', join(dir, 'signer.key'), ...extra, '-in', unsigned, '-out', out];
        execFile('osslsigncode', args, { timeout: 60_000 }, (error, stdout, stderr) =>
          resolve({ status: error ? Number((error as { code?: unknown }).code ?? 1) || 1 : 0, stdout, stderr }),
        );
      });
    const viaUrl = join(dir, 'ossl-ts-url.cab');
    const run = await sign(viaUrl, ['-ts', tsa.url]);
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    const result = verifyCabinet(readFileSync(viaUrl), trust, new Date());
    assert.ok(result.ok && result.timestampedAt, JSON.stringify(result));
    if (!OSSLSIGNCODE_USAGE.includes('-TSA-certs')) return t.diagnostic('this osslsigncode has no built-in TSA (-TSA-certs)');
    const stampedAt = Math.floor(Date.now() / 1000) - 3600;
    const builtIn = join(dir, 'ossl-ts-builtin.cab');
    const own = await sign(builtIn, ['-TSA-certs', join(dir, 'tsa.pem'), '-TSA-key', join(dir, 'tsa.key'), '-TSA-time', String(stampedAt)]);
    assert.equal(own.status, 0, `${own.stdout}\n${own.stderr}`);
    const theirs = verifyCabinet(readFileSync(builtIn), trust, new Date());
    assert.ok(theirs.ok, JSON.stringify(theirs));
    assert.equal(theirs.timestampedAt?.getTime(), stampedAt * 1000);
  });

  it('accepts a signer that has expired since, if it was valid at the timestamp; expired without one', async (t) => {
    tsa.mode = 'ok';
    tsa.time = new Date(Date.now() - 7 * DAY);
    try {
      const stamped = await signedCab('expired-stamped.cab', signerOf(expired, root), true, new Date(Date.now() - 7 * DAY));
      const plain = await signedCab('expired-plain.cab', signerOf(expired, root), false, new Date(Date.now() - 7 * DAY));
      const ok = verifyCabinet(readFileSync(stamped), trust, new Date());
      assert.ok(ok.ok, JSON.stringify(ok));
      assert.equal(ok.timestampedAt?.getTime(), Math.floor(tsa.time.getTime() / 1000) * 1000);
      const refused = verifyCabinet(readFileSync(plain), trust, new Date());
      assert.equal(refused.ok ? 'ok' : refused.reason, 'expired');
      // A timestamp from before the certificate's validity does not help.
      tsa.time = new Date(Date.now() - 25 * DAY);
      const early = await signedCab('expired-early.cab', signerOf(expired, root), true);
      const tooEarly = verifyCabinet(readFileSync(early), trust, new Date());
      assert.equal(tooEarly.ok ? 'ok' : tooEarly.reason, 'expired');
      if (!HAS_OSSLSIGNCODE) return t.diagnostic('osslsigncode is not installed; only our verifier checked');
      const theirs = osslVerify(stamped, caFile, tsaCaFile);
      assert.ok(theirs.ok, theirs.out);
      assert.equal(osslVerify(plain, caFile).ok, false, 'osslsigncode refuses the expired, untimestamped signature');
    } finally {
      delete tsa.time;
    }
  });

  it('ignores (never fails on) a timestamp over another signature, with the reason', async () => {
    tsa.mode = 'ok';
    const a = cabinetSignature(readFileSync(await signedCab('a.cab', signerOf(leaf, root), true)))!;
    // A different signing time makes a different signature value (RSA PKCS#1 v1.5 is deterministic).
    const bPath = await signedCab('b.cab', signerOf(leaf, root), false, new Date(Date.now() - 3_600_000));
    const b = Buffer.from(cabinetSignature(readFileSync(bPath))!);
    const aParsed = verifyAuthenticodeSignedData(a, trust, new Date());
    assert.ok(aParsed.signer.timestampedAt);
    const token = aParsed.parsed.signer.unsignedAttributes.find((u) => u.type === '1.3.6.1.4.1.311.3.3.1')!.values[0];
    const bDer = b.subarray(0, 4 + b.readUInt16BE(2));
    const transplanted = embedTimeStampToken(bDer, token);
    const result = verifyAuthenticodeSignedData(transplanted, trust, new Date());
    assert.equal(result.signer.timestampedAt, undefined);
    assert.match(result.signer.timestampIgnored ?? '', /messageImprint/);
    // …and it does not rescue an expired signer either.
    assert.throws(() => verifyAuthenticodeSignedData(transplanted, trust, new Date(Date.now() + 2 * 365 * DAY)), { code: 'expired' });
  });

  it('embeds the token as the only unsigned attribute, leaving the signature verifiable', async () => {
    tsa.mode = 'ok';
    const path = await signedCab('embed.cab', signerOf(leaf, root), false);
    const blob = Buffer.from(cabinetSignature(readFileSync(path))!);
    const der = blob.subarray(0, 4 + blob.readUInt16BE(2));
    const once = (await timestampSignedData(der, tsa.url)).signedData;
    const twice = (await timestampSignedData(once, tsa.url)).signedData;
    assert.ok(signatureValueOf(twice).equals(signatureValueOf(der)));
    const parsed = verifyAuthenticodeSignedData(twice, trust, new Date());
    assert.deepEqual(parsed.parsed.signer.unsignedAttributes.map((u) => u.type), ['1.3.6.1.4.1.311.3.3.1'], 're-stamping replaces');
    assert.ok(parsed.signer.timestampedAt);
  });

  it('accepts a legacy PKCS#9 countersignature (1.2.840.113549.1.9.6) from a trusted timeStamping signer', async () => {
    const at = new Date(Date.now() - 7 * DAY);
    const path = await signedCab('legacy.cab', signerOf(expired, root), false, at);
    const blob = Buffer.from(cabinetSignature(readFileSync(path))!);
    const der = blob.subarray(0, 4 + blob.readUInt16BE(2));
    const countersigned = addPkcs9Countersignature(der, tsa.tsa, at);
    const result = verifyAuthenticodeSignedData(countersigned, trust, new Date());
    assert.equal(result.signer.timestampedAt?.getTime(), Math.floor(at.getTime() / 1000) * 1000);
    // A countersigner without the timeStamping EKU is not a TSA.
    const impostor = addPkcs9Countersignature(der, leaf, new Date(Date.now() - 3_600_000));
    assert.throws(() => verifyAuthenticodeSignedData(impostor, trust, new Date()), { code: 'expired' });
    const validPath = await signedCab('legacy-valid.cab', signerOf(leaf, root), false);
    const validBlob = Buffer.from(cabinetSignature(readFileSync(validPath))!);
    const valid = addPkcs9Countersignature(validBlob.subarray(0, 4 + validBlob.readUInt16BE(2)), leaf, new Date(Date.now() - 3_600_000));
    const ignored = verifyAuthenticodeSignedData(valid, trust, new Date());
    assert.equal(ignored.signer.timestampedAt, undefined);
    assert.match(ignored.signer.timestampIgnored ?? '', /lacks the timeStamping extended key usage/);
  });

  describe('TSA failures give clear errors', () => {
    const query = buildTimeStampRequest(Buffer.from('sig'));
    const cases: [TestTsaModeCase, RegExp][] = [
      ['http-500', /answered HTTP 500/],
      ['garbage', /not valid DER|unexpected element|expected a constructed/],
      ['wrong-nonce', /different nonce/],
      ['wrong-imprint', /different message imprint/],
      ['rejection', /refused: rejection "policy says no" \(badRequest\)/],
      ['wrong-content-type', /"text\/html", not application\/timestamp-reply/],
      ['oversized', /reply \(limit 65536\)|more than 65536 bytes/],
    ];
    for (const [mode, message] of cases) {
      it(`${mode}`, async () => {
        tsa.mode = mode;
        try {
          await assert.rejects(
            async () => parseTimeStampResponse(await postTimeStampQuery(tsa.url, query.der), query),
            (error: Error) => error instanceof TimestampError && message.test(error.message) && (mode === 'http-500' || mode === 'wrong-content-type' || mode === 'oversized' ? error.message.includes(tsa.url) : true),
          );
        } finally {
          tsa.mode = 'ok';
        }
      });
    }

    it('signCabinetFile names the TSA and leaves the cabinet unsigned when stamping fails', async () => {
      const path = join(dir, 'fails.cab');
      await writeSignableCabinetFile([{ name: 'payload.bin', path: payload }], path);
      const before = readFileSync(path);
      tsa.mode = 'wrong-nonce';
      try {
        await assert.rejects(signCabinetFile(path, signerOf(leaf, root), { timestamp: timestampFrom(tsa.url) }), (e: Error) => e.message.includes(tsa.url) && /nonce/.test(e.message));
      } finally {
        tsa.mode = 'ok';
      }
      assert.ok(readFileSync(path).equals(before), 'the file is untouched');
      const result = verifyCabinet(before, trust);
      assert.equal(result.ok ? 'ok' : result.reason, 'unsigned');
    });

    it('an unreachable TSA, a timeout and a URL with credentials', async () => {
      const closed = await startTestTsa();
      await closed.close();
      await assert.rejects(postTimeStampQuery(closed.url, query.der), (e: Error) => e instanceof TimestampError && e.message.includes(closed.url) && /unreachable/.test(e.message));
      const secret = tsa.url.replace('http://', 'http://user:hunter2@') + '?token=s3cret';
      tsa.mode = 'http-500';
      try {
        await assert.rejects(postTimeStampQuery(secret, query.der), (e: Error) => !/hunter2|s3cret/.test(e.message) && e.message.includes('127.0.0.1'));
      } finally {
        tsa.mode = 'ok';
      }
      await assert.rejects(postTimeStampQuery('ftp://example.invalid/', query.der), /only http and https/);
      // A TSA that never answers.
      const { createServer } = await import('node:net');
      const silent = createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const port = (silent.address() as { port: number }).port;
      try {
        await assert.rejects(postTimeStampQuery(`http://127.0.0.1:${port}/`, query.der, { timeoutMs: 300 }), /did not answer within 300 ms/);
      } finally {
        silent.close();
      }
    });
  });
});

type TestTsaModeCase = TestTsa['mode'];

/** Adds a legacy PKCS#9 countersignature by `by` at `time` (and its certificate) to a SignedData. */
function addPkcs9Countersignature(signedData: Buffer, by: IssuedCert, time: Date): Buffer {
  const { asn1 } = forge;
  const U = asn1.Class.UNIVERSAL;
  const CTX = asn1.Class.CONTEXT_SPECIFIC;
  const T = asn1.Type;
  const der = (n: forge.asn1.Asn1): Buffer => Buffer.from(asn1.toDer(n).getBytes(), 'binary');
  const oid = (id: string): forge.asn1.Asn1 => asn1.create(U, T.OID, false, asn1.oidToDer(id).getBytes());
  const seq = (items: forge.asn1.Asn1[]): forge.asn1.Asn1 => asn1.create(U, T.SEQUENCE, true, items);
  const root = asn1.fromDer(signedData.toString('binary'));
  const sd = ((root.value as forge.asn1.Asn1[])[1].value as forge.asn1.Asn1[])[0].value as forge.asn1.Asn1[];
  (sd[3].value as forge.asn1.Asn1[]).push(forge.pki.certificateToAsn1(by.certificate));
  const signerInfo = (sd[sd.length - 1].value as forge.asn1.Asn1[])[0].value as forge.asn1.Asn1[];
  const signatureValue = Buffer.from(signerInfo[5].value as string, 'binary');
  const attrs = [
    seq([oid('1.2.840.113549.1.9.3'), asn1.create(U, T.SET, true, [oid('1.2.840.113549.1.7.1')])]),
    seq([oid('1.2.840.113549.1.9.5'), asn1.create(U, T.SET, true, [asn1.create(U, T.UTCTIME, false, asn1.dateToUtcTime(time))])]),
    seq([oid('1.2.840.113549.1.9.4'), asn1.create(U, T.SET, true, [asn1.create(U, T.OCTETSTRING, false, createHash('sha1').update(signatureValue).digest().toString('binary'))])]),
  ].sort((a, b) => Buffer.compare(der(a), der(b)));
  const signature = sign('sha1', der(asn1.create(U, T.SET, true, attrs)), by.key);
  const tbs = (forge.pki.certificateToAsn1(by.certificate).value[0] as forge.asn1.Asn1).value as forge.asn1.Asn1[];
  const counter = seq([
    asn1.create(U, T.INTEGER, false, '\x01'),
    seq([tbs[3], tbs[1]]),
    seq([oid('1.3.14.3.2.26'), asn1.create(U, T.NULL, false, '')]),
    asn1.create(CTX, 0, true, attrs),
    seq([oid('1.2.840.113549.1.1.1'), asn1.create(U, T.NULL, false, '')]),
    asn1.create(U, T.OCTETSTRING, false, signature.toString('binary')),
  ]);
  signerInfo.push(asn1.create(CTX, 1, true, [seq([oid('1.2.840.113549.1.9.6'), asn1.create(U, T.SET, true, [counter])])]));
  return der(root);
}
