import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createServer } from 'node:http';
import { request } from 'undici';
import { createSelfSignedCertificate, type SelfSignedOptions, type SelfSignedPair } from '../src/cli/commands/cert.command.js';
import type { ServerConfig } from '../src/config/config.js';
import { buildCabinet } from '../src/protocol/cab/cabinet-writer.js';
import { startServer, type RunningServer } from '../src/app/server.js';
import { createContentStore } from '../src/services/content-store.service.js';
import { createSignatureGate } from '../src/services/signing/signature-policy.js';
import { savePublishingPair, validatePublishingPair } from '../src/services/signing/publishing-cert.js';
import type { HealthReport } from '../src/services/health/health.service.js';
import type { VerifyReport } from '../src/services/content/content-verify.js';
import { createContentRecords } from '../src/store/content.store.js';
import { adminHandle, importInto, quietLog, tempDataDir, testConfig } from './support/test-server.js';
import { captureLog, type LogCapture } from './support/log-capture.js';
import { cliFor, runCli } from './support/admin-cli.js';
import { updateDocumentForFiles } from './support/content-fixture.js';

// Authenticode checks of content on ingest, per source policy (contentSignatures): what
// `enforce` refuses (quarantined, never served, the reason in content verify and health),
// what `warn` lets through (stored, logged, a health warning), that `off` checks nothing, and
// which signers are trusted (publishers added with `wsus signing trust add`, the publishing
// certificate). CABs are signed with osslsigncode, as a real publisher's tool would.

const HAS_OSSLSIGNCODE = spawnSync('osslsigncode', ['--version']).error === undefined;
const NO_OSSL = 'osslsigncode is not installed (apt-get install osslsigncode)';

interface Payload { name: string; bytes: Buffer; sha1Hex: string }

const payload = (name: string, bytes: Buffer): Payload => ({ name, bytes, sha1Hex: createHash('sha1').update(bytes).digest('hex').toUpperCase() });

let seq = 0;
/** An unsigned cabinet with a distinct member (so each test file has its own digest). */
function cabinet(label: string): Buffer {
  return buildCabinet([{ name: `${label}.txt`, data: Buffer.from(`payload ${label} ${++seq} `.repeat(200)) }], 'mszip');
}

function codeSigning(name: string, over: Partial<SelfSignedOptions> = {}): SelfSignedPair {
  return createSelfSignedCertificate({ hosts: [name], days: 30, purpose: 'codeSigning', keyBits: 2048, ...over });
}

/** osslsigncode sign (2.5 and 2.9 take the same flags). */
function signed(dir: string, cab: Buffer, pair: { certPem: string; keyPem: string }): Buffer {
  const n = `s${++seq}`;
  writeFileSync(join(dir, `${n}.crt`), pair.certPem);
  writeFileSync(join(dir, `${n}.key`), pair.keyPem);
  writeFileSync(join(dir, `${n}.in.cab`), cab);
  const r = spawnSync('osslsigncode', ['sign', '-certs', join(dir, `${n}.crt`), '-key', join(dir, `${n}.key`), '-h', 'sha256',
    '-in', join(dir, `${n}.in.cab`), '-out', join(dir, `${n}.cab`)], { encoding: 'utf8' });
  assert.equal(r.status, 0, `osslsigncode sign: ${r.stdout}${r.stderr}`);
  return readFileSync(join(dir, `${n}.cab`));
}

let docs = 0;
function referenced(config: ServerConfig, files: readonly Payload[]): void {
  const id = `5e2c6b0e-1d7a-4c1f-9a51-${String(++docs).padStart(12, '0')}`;
  const r = importInto(config, [{ name: `${id}.xml`, read: () => updateDocumentForFiles(id, 'Signature test', files) }]);
  assert.equal(r.failures.length, 0, JSON.stringify(r.failures));
}

const contentUrl = (server: RunningServer, p: Payload): string => `${server.url}/Content/${p.sha1Hex.slice(-2)}/${p.sha1Hex}.cab`;

async function status(url: string, headers: Record<string, string> = {}): Promise<number> {
  const r = await request(url, { headers });
  await r.body.dump();
  return r.statusCode;
}

/** A server over a fresh data directory whose config.json carries the policy (so the CLI sees it too). */
async function withPolicy<T>(policy: Record<string, string>, body: (ctx: { server: RunningServer; config: ServerConfig; dir: string; logs: LogCapture }) => Promise<T>): Promise<T> {
  const tmp = tempDataDir();
  const logs = captureLog('warn');
  try {
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({ contentSignatures: policy }));
    const config = testConfig(tmp.dir, { contentSignatures: policy });
    adminHandle(config).close();
    const server = await startServer(config, logs.log);
    try {
      return await body({ server, config, dir: tmp.dir, logs });
    } finally {
      await server.close();
    }
  } finally {
    tmp.cleanup();
  }
}

test('config: contentSignatures defaults and validation', () => {
  const tmp = tempDataDir();
  try {
    assert.deepEqual({ ...testConfig(tmp.dir).contentSignatures }, { upstream: 'warn', import: 'warn', published: 'enforce' });
    assert.deepEqual({ ...testConfig(tmp.dir, { contentSignatures: { upstream: 'enforce' } }).contentSignatures }, { upstream: 'enforce', import: 'warn', published: 'enforce' });
    assert.throws(() => testConfig(tmp.dir, { contentSignatures: { upstream: 'strict', publish: 'off' } }),
      (e: Error) => /contentSignatures\.upstream must be one of enforce, warn, off/.test(e.message) && /unknown key "contentSignatures\.publish"/.test(e.message));
    assert.throws(() => testConfig(tmp.dir, { contentSignatures: 'enforce' }), /contentSignatures must be an object/);
  } finally {
    tmp.cleanup();
  }
});

test('enforce: an unsigned CAB is refused on import, quarantined, never served; the reason shows in content verify and health', async () => {
  await withPolicy({ import: 'enforce' }, async ({ server, config, dir }) => {
    const cab = payload('unsigned.cab', cabinet('unsigned'));
    const eula = payload('eula.txt', Buffer.from('End-user license terms.\r\n'));
    referenced(config, [cab, eula]);
    const files = join(dir, 'incoming');
    mkdirSync(files);
    writeFileSync(join(files, cab.name), cab.bytes);
    writeFileSync(join(files, eula.name), eula.bytes);

    const imp = await runCli(['content', 'import', '--data', dir, '--json', files]);
    assert.equal(imp.status, 1, imp.stderr);
    const report = JSON.parse(imp.stdout) as { stored: number; signatureRefused: number; problems: Array<{ kind: string; detail: string }> };
    assert.equal(report.signatureRefused, 1);
    assert.equal(report.stored, 1, 'the EULA text is not a signable kind: it passes');
    assert.match(report.problems.find((p) => p.kind === 'signature')!.detail, /signature unsigned: .*contentSignatures\.import is enforce/);

    assert.equal(await status(contentUrl(server, cab)), 404);
    assert.equal(await status(contentUrl(server, cab), { range: 'bytes=0-9' }), 404);
    assert.equal(await status(`${server.url}/Content/${eula.sha1Hex.slice(-2)}/${eula.sha1Hex}.txt`), 200);
    const h = adminHandle(config);
    try {
      const rows = createContentRecords(h.db);
      const row = rows.get(cab.sha1Hex)!;
      assert.equal(row.state, 'quarantined');
      assert.match(row.error!, /^signature unsigned: /);
      assert.equal(row.signature.status, 'unsigned');
      assert.equal(row.signature.source, 'import');
      assert.equal(rows.get(eula.sha1Hex)!.signature.status, 'not-signable');
    } finally {
      h.close();
    }

    const cli = cliFor(server);
    const v = await cli('content', 'verify', '--json');
    const verify = JSON.parse(v.stdout) as VerifyReport;
    assert.deepEqual(verify.signatures.refused, { unsigned: 1 });
    assert.equal(verify.signatures.recentRefusals[0]!.sha1Hex, cab.sha1Hex);
    assert.match(verify.signatures.recentRefusals[0]!.reason, /signature unsigned/);
    assert.deepEqual(verify.signatures.policy, { upstream: 'warn', import: 'enforce', published: 'enforce' });
    const human = await cli('content', 'verify');
    assert.match(human.stderr, new RegExp(`refused ${cab.sha1Hex}: signature unsigned`));
    assert.match(human.stdout, /refused for their signature \(quarantined\): 1 unsigned/);

    const health = JSON.parse((await cli('health', '--json')).stdout) as HealthReport;
    const check = health.checks.find((c) => c.name === 'signatures')!;
    assert.equal(check.status, 'warn');
    assert.match(check.summary, /policy upstream warn, import enforce, published enforce/);
    assert.ok(health.warnings.some((w) => /1 file\(s\) were refused for their signature and quarantined \(1 unsigned\)/.test(w)), health.warnings.join('\n'));
    assert.deepEqual(health.signatures.refused, { unsigned: 1 });
  });
});

test('warn: an unsigned CAB is stored and served, with a logged warning and a health warning; off checks nothing', async () => {
  await withPolicy({ upstream: 'warn' }, async ({ server, config, logs }) => {
    const cab = payload('warned.cab', cabinet('warned'));
    referenced(config, [cab]);
    const r = await server.adminDeps.content.ingestStream(Readable.from([cab.bytes]), cab.sha1Hex, { source: 'import' });
    assert.equal(r.outcome, 'stored');
    assert.equal(await status(contentUrl(server, cab)), 200);
    const warned = logs.find({ message: /signature check failed; stored because the policy is warn/, sha1: cab.sha1Hex });
    assert.equal(warned.length, 1);
    assert.equal(warned[0]!.reason, 'unsigned');
    const cli = cliFor(server);
    const health = JSON.parse((await cli('health', '--json')).stdout) as HealthReport;
    assert.equal(health.checks.find((c) => c.name === 'signatures')!.status, 'warn');
    assert.ok(health.warnings.some((w) => /1 served file\(s\) failed their signature check \(1 unsigned\).*policy is warn/.test(w)), health.warnings.join('\n'));
    assert.equal(health.signatures.failedExamples[0]!.sha1Hex, cab.sha1Hex);
    // content verify --deep reports it (not a failure of the run: the policy lets it through).
    const v = await cli('content', 'verify', '--deep', '--json');
    assert.equal(v.status, 0, v.stderr);
    const verify = JSON.parse(v.stdout) as VerifyReport;
    assert.deepEqual(verify.problems.map((p) => [p.sha1Hex, p.problem, p.action]), [[cab.sha1Hex, 'signature', 'none']]);
    assert.equal(verify.signatures.byStatus.unsigned, 1);
    assert.equal(verify.signatures.checked, 1);
  });

  // off: the verifier is never called; files are recorded 'unchecked'.
  const tmp = tempDataDir();
  try {
    const config = testConfig(tmp.dir);
    const cab = payload('off.cab', cabinet('off'));
    referenced(config, [cab]);
    const h = adminHandle(config);
    let calls = 0;
    const gate = createSignatureGate({
      policy: { upstream: 'off', import: 'off', published: 'off' }, dataDir: tmp.dir, log: quietLog,
      verify: async () => { calls++; return null; },
    });
    const store = createContentStore({ db: h.db, dir: config.contentDir, log: quietLog, clock: () => new Date(), signatures: gate });
    try {
      assert.equal((await store.ingestStream(Readable.from([cab.bytes]), cab.sha1Hex)).outcome, 'stored');
      assert.equal(calls, 0);
      assert.equal(createContentRecords(h.db).get(cab.sha1Hex)!.signature.status, 'unchecked');
    } finally {
      await store.close();
      h.close();
    }
  } finally {
    tmp.cleanup();
  }
});

test('enforce: a CAB signed by a publisher added with wsus signing trust add is accepted (picked up by the running server)', async (t) => {
  if (!HAS_OSSLSIGNCODE) return t.skip(NO_OSSL);
  await withPolicy({ import: 'enforce', upstream: 'enforce' }, async ({ server, config, dir }) => {
    const publisher = codeSigning('Contoso Trusted Publisher');
    const cab = payload('trusted.cab', signed(dir, cabinet('trusted'), publisher));
    const later = payload('later.cab', signed(dir, cabinet('later'), publisher));
    referenced(config, [cab, later]);
    // Not trusted yet: refused.
    await assert.rejects(server.adminDeps.content.ingestStream(Readable.from([cab.bytes]), cab.sha1Hex, { source: 'import' }),
      /signature untrusted: .*contentSignatures\.import is enforce/);
    writeFileSync(join(dir, 'publisher.pem'), publisher.certPem);
    const add = await runCli(['signing', 'trust', 'add', join(dir, 'publisher.pem'), '--data', dir]);
    assert.equal(add.status, 0, add.stderr);
    const thumb = new X509Certificate(publisher.certPem).fingerprint.replace(/:/g, '');
    assert.match(add.stdout, new RegExp(thumb));
    // The running server reloads its anchors: the next ingest of the same bytes is accepted.
    const r = await server.adminDeps.content.ingestStream(Readable.from([cab.bytes]), cab.sha1Hex, { source: 'import' });
    assert.equal(r.outcome, 'stored');
    assert.equal(await status(contentUrl(server, cab)), 200);
    const h = adminHandle(config);
    try {
      const row = createContentRecords(h.db).get(cab.sha1Hex)!;
      assert.equal(row.signature.status, 'ok');
      assert.equal(row.signature.thumbprint, thumb);
      assert.match(row.signature.signer!, /CN=Contoso Trusted Publisher/);
    } finally {
      h.close();
    }
    // Removed again: refused again.
    const rm = await runCli(['signing', 'trust', 'remove', thumb, '--data', dir]);
    assert.equal(rm.status, 0, rm.stderr);
    await assert.rejects(server.adminDeps.content.ingestStream(Readable.from([later.bytes]), later.sha1Hex, { source: 'upstream' }),
      /signature untrusted: .*contentSignatures\.upstream is enforce/);
  });
});

test('enforce: signed by the local publishing certificate is accepted; untrusted, expired and not-code-signing signers are refused', async (t) => {
  if (!HAS_OSSLSIGNCODE) return t.skip(NO_OSSL);
  await withPolicy({ import: 'enforce', published: 'enforce' }, async ({ server, config, dir }) => {
    const own = codeSigning('Our Publishing', { keyBits: 3072 });
    savePublishingPair(dir, validatePublishingPair(own.certPem, createPrivateKey(own.keyPem)));
    const expired = codeSigning('Expired Publisher', { now: new Date(Date.now() - 40 * 86_400_000) });
    const docSigning = createSelfSignedCertificate({ hosts: ['Document Signer'], days: 30, purpose: 'signing', keyBits: 2048 });
    for (const [n, c] of [['expired', expired], ['doc', docSigning]] as const) {
      writeFileSync(join(dir, `${n}.pem`), c.certPem);
      const add = await runCli(['signing', 'trust', 'add', join(dir, `${n}.pem`), '--data', dir]);
      assert.equal(add.status, 0, add.stderr);
    }
    const published = payload('published.cab', signed(dir, cabinet('published'), own));
    const cases = [
      ['untrusted', payload('stranger.cab', signed(dir, cabinet('stranger'), codeSigning('Stranger')))],
      ['expired', payload('expired.cab', signed(dir, cabinet('expired'), expired))],
      ['not-code-signing', payload('doc.cab', signed(dir, cabinet('doc'), docSigning))],
    ] as const;
    referenced(config, [published, ...cases.map(([, p]) => p)]);

    const ok = await server.adminDeps.content.ingestStream(Readable.from([published.bytes]), published.sha1Hex, { source: 'published' });
    assert.equal(ok.outcome, 'stored');
    assert.equal(await status(contentUrl(server, published)), 200);
    for (const [reason, p] of cases) {
      await assert.rejects(server.adminDeps.content.ingestStream(Readable.from([p.bytes]), p.sha1Hex, { source: 'import' }),
        new RegExp(`signature ${reason}: `), reason);
      assert.equal(await status(contentUrl(server, p)), 404, reason);
    }
    const h = adminHandle(config);
    try {
      const rows = createContentRecords(h.db);
      assert.equal(rows.get(published.sha1Hex)!.signature.status, 'ok');
      assert.equal(rows.get(published.sha1Hex)!.signature.source, 'published');
      for (const [reason, p] of cases) assert.equal(rows.get(p.sha1Hex)!.signature.status, reason);
    } finally {
      h.close();
    }
    const stats = JSON.parse((await cliFor(server)('content', 'stats', '--json')).stdout) as { signatures: { byStatus: Record<string, number>; refused: Record<string, number> } };
    assert.deepEqual(stats.signatures.byStatus, { ok: 1 });
    assert.deepEqual(stats.signatures.refused, { untrusted: 1, expired: 1, 'not-code-signing': 1 });
  });
});

test('deep verify re-checks signatures: a stored unsigned CAB is quarantined once the policy is enforce', async () => {
  const tmp = tempDataDir();
  try {
    const config = testConfig(tmp.dir);
    const cab = payload('late.cab', cabinet('late'));
    referenced(config, [cab]);
    const h = adminHandle(config);
    const open = (mode: 'warn' | 'enforce') => createContentStore({
      db: h.db, dir: config.contentDir, log: quietLog, clock: () => new Date(),
      signatures: { policy: { upstream: mode, import: mode, published: 'enforce' }, dataDir: tmp.dir },
    });
    try {
      const warnStore = open('warn');
      await warnStore.ingestStream(Readable.from([cab.bytes]), cab.sha1Hex, { source: 'upstream' });
      await warnStore.close();
      const strict = open('enforce');
      const v = await strict.verify({ deep: true });
      assert.deepEqual(v.problems.map((p) => [p.sha1Hex, p.problem, p.action]), [[cab.sha1Hex, 'signature', 'quarantined']]);
      assert.match(v.problems[0]!.detail, /signature unsigned: .*contentSignatures\.upstream is enforce/);
      assert.equal(strict.locate(cab.sha1Hex), undefined);
      assert.deepEqual(v.signatures.refused, { unsigned: 1 });
      await strict.close();
    } finally {
      h.close();
    }
  } finally {
    tmp.cleanup();
  }
});

test('upstream downloads are checked under contentSignatures.upstream (enforce: refused and quarantined, nothing served)', async () => {
  const tmp = tempDataDir();
  const cab = payload('from-upstream.cab', cabinet('upstream'));
  const upstream = createServer((_req, res) => res.writeHead(200, { 'content-length': cab.bytes.length }).end(cab.bytes));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  try {
    const config = testConfig(tmp.dir);
    referenced(config, [cab]);
    const h = adminHandle(config);
    const store = createContentStore({
      db: h.db, dir: config.contentDir, log: quietLog, clock: () => new Date(), downloadAttempts: 1,
      signatures: { policy: { upstream: 'enforce', import: 'off', published: 'off' }, dataDir: tmp.dir },
    });
    try {
      const { port } = upstream.address() as { port: number };
      await assert.rejects(store.downloadToStore(`http://127.0.0.1:${port}/x.cab`, cab.sha1Hex),
        /signature unsigned: .*contentSignatures\.upstream is enforce/);
      assert.equal(store.locate(cab.sha1Hex), undefined);
      const row = createContentRecords(h.db).get(cab.sha1Hex)!;
      assert.equal(row.state, 'quarantined');
      assert.equal(row.signature.source, 'upstream');
    } finally {
      await store.close();
      h.close();
    }
  } finally {
    upstream.close();
    tmp.cleanup();
  }
});
