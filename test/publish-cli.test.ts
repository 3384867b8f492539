import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdirSync, readFileSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync, writeSync, ftruncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/config.js';
import { openDatabase } from '../src/store/database.js';
import { createCatalogStore } from '../src/store/catalog.store.js';
import { createContentStore } from '../src/services/content-store.service.js';
import { loadPublishingSigner } from '../src/services/signing/publishing-cert.js';
import { publishUpdate } from '../src/services/publishing/publish.service.js';
import { MAX_FOLDER_BYTES } from '../src/protocol/cab/cabinet-writer.js';
import { createSelfSignedCertificate } from '../src/cli/commands/cert.command.js';
import { validatePublishingPair } from '../src/services/signing/publishing-cert.js';
import { createHash, createPrivateKey } from 'node:crypto';
import { Readable } from 'node:stream';
import { writeSignableCabinetFile } from '../src/protocol/cab/signable-cabinet-file.js';
import forge from 'node-forge';
import { spawnSync } from 'node:child_process';
import { contentLayout } from '../src/services/content/content-layout.js';
import { runCli } from './support/admin-cli.js';
import { startTestTsa } from './support/tsa-server.js';
import { quietLog } from './support/test-server.js';
import { exeManifest, tinyExe } from './support/publish-fixtures.js';

// `wsus publish` refusals: each exits 2 with a message that says what is wrong, and leaves the
// data directory exactly as it was (no update, revision, file, content row or published row;
// nothing left in the content store's temp, quarantine or store directories).

const tmp = mkdtempSync(join(tmpdir(), 'wsus-publish-cli-'));
const data = join(tmp, 'data');
const exe = join(tmp, 'agent-setup.exe');
after(() => rmSync(tmp, { recursive: true, force: true }));
const OSSLSIGNCODE_HELP = spawnSync('osslsigncode', ['--help'], { encoding: 'utf8' });
const HAS_OSSLSIGNCODE = OSSLSIGNCODE_HELP.error === undefined;
/** osslsigncode 2.4+ spell the TSA trust option -TSA-CAfile; older releases took -untrusted. */
const TSA_CA_FLAG = `${OSSLSIGNCODE_HELP.stdout ?? ''}${OSSLSIGNCODE_HELP.stderr ?? ''}`.includes('-TSA-CAfile') ? '-TSA-CAfile' : '-untrusted';

before(async () => {
  const c = await runCli(['signing', 'create', '--data', data, '--subject', 'CN=Publish Test, O=wsus-ts tests']);
  assert.equal(c.status, 0, c.stderr);
  writeFileSync(exe, tinyExe());
});

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? walk(join(dir, e.name)).map((n) => `${e.name}/${n}`) : [e.name]);
}

/** Everything a publish could change: table row counts and every file under the content directory. */
function snapshot(dir = data): string {
  const config = loadConfig({ dataDir: dir });
  const db = openDatabase(config.databaseFile);
  try {
    const counts = ['updates', 'revisions', 'files', 'content', 'published_revisions'].map((t) =>
      `${t}=${(db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n}`);
    return [...counts, ...walk(config.contentDir)].join('\n');
  } finally {
    db.close();
  }
}

function writeJson(name: string, value: unknown): string {
  const p = join(tmp, name);
  writeFileSync(p, JSON.stringify(value, null, 2));
  return p;
}

async function refused(args: string[], message: RegExp, dir = data): Promise<void> {
  const before = snapshot(dir);
  const r = await runCli(['publish', ...args, '--data', dir]);
  assert.equal(r.status, 2, `expected exit 2 for ${args.join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr + r.stdout, /PRIVATE KEY/);
  assert.equal(snapshot(dir), before, 'nothing changed');
}

test('a valid publish works in this data directory (the refusals below are not refused for another reason)', async () => {
  const ok = await runCli(['publish', exe, '--manifest', writeJson('ok.json', exeManifest()), '--data', data, '--json']);
  assert.equal(ok.status, 0, ok.stderr);
  const r = JSON.parse(ok.stdout) as { updateId: string; revisionNumber: number };
  assert.match(r.updateId, /^[0-9a-f-]{36}$/);
});

test('no publishing certificate: refused, with the command that makes one', async () => {
  const bare = join(tmp, 'bare');
  await runCli(['publish', '--list', '--data', bare]);
  await refused([exe, '--manifest', writeJson('m1.json', exeManifest())], /wsus signing create/, bare);
});

test('unknown classification (flag or manifest)', async () => {
  await refused([exe, '--manifest', writeJson('m2.json', exeManifest()), '--classification', 'Nonsense Updates'], /classification/i);
  await refused([exe, '--manifest', writeJson('m3.json', { ...exeManifest(), classification: 'Nonsense Updates' })], /classification/i);
});

test('bad version string in an applicability rule', async () => {
  const m = exeManifest();
  const bad = JSON.parse(JSON.stringify(m).replace(/"7\.2\.0\.0"/g, '"7.2.x"')) as unknown;
  assert.notDeepEqual(bad, m, 'the fixture manifest carries a version to break');
  await refused([exe, '--manifest', writeJson('m4.json', bad)], /version/i);
});

test('an EXE without an "installed" rule', async () => {
  const m = exeManifest() as { applicability?: Record<string, unknown> };
  const { installed: _gone, ...rest } = m.applicability ?? {};
  await refused([exe, '--manifest', writeJson('m5.json', { ...m, applicability: rest })], /installed/i);
});

test('manifest file missing, or not JSON', async () => {
  await refused([exe, '--manifest', join(tmp, 'nope.json')], /cannot read the manifest/);
  const p = join(tmp, 'broken.json');
  writeFileSync(p, '{ "title": "x", ');
  await refused([exe, '--manifest', p], /not valid JSON/);
});

test('payload that is not a supported kind, or missing', async () => {
  const txt = join(tmp, 'readme.txt');
  writeFileSync(txt, 'hello');
  await refused([txt, '--manifest', writeJson('m6.json', exeManifest())], /./);
  await refused([join(tmp, 'missing.exe'), '--manifest', writeJson('m7.json', exeManifest())], /cannot read the payload/);
});

test('a payload larger than a CAB folder holds is refused before anything is written', async () => {
  const big = join(tmp, 'huge-setup.exe');
  const fd = openSync(big, 'w');
  try {
    writeSync(fd, tinyExe());
    ftruncateSync(fd, MAX_FOLDER_BYTES + 1); // sparse: no disk space used
  } finally {
    closeSync(fd);
  }
  assert.equal(statSync(big).size, MAX_FOLDER_BYTES + 1);
  await refused([big, '--manifest', writeJson('m8.json', exeManifest())], /cabinet folder holds at most/);
  rmSync(big);
});

test('--revise of an update this server did not publish; --expire likewise; bad ids', async () => {
  await refused([exe, '--manifest', writeJson('m9.json', exeManifest()), '--revise', '8c3fcc84-7410-4a95-8b89-a166a0190486'], /not published by this server/);
  await refused([exe, '--manifest', writeJson('m10.json', exeManifest()), '--revise', 'not-a-guid'], /not an update id/);
  await refused(['--expire', '8c3fcc84-7410-4a95-8b89-a166a0190486'], /not published by this server/);
});

test('usage errors exit 2', async () => {
  await refused([], /usage/);
  await refused(['--list', exe], /takes no payload/);
  await refused([exe, '--timestamp-url', 'ftp://x'], /timestamp-url/);
});

test('content signed by a certificate the trust store does not hold is refused under enforce; nothing is published', async () => {
  // The service with another signer than the data directory's publishing certificate: the CAB is
  // validly signed, but not by anyone this server trusts, so the content store refuses it.
  const made = createSelfSignedCertificate({ hosts: ['Stranger'], days: 30, purpose: 'codeSigning', keyBits: 3072 });
  const pair = validatePublishingPair(made.certPem, createPrivateKey(made.keyPem));
  const rsa = createPrivateKey(pair.keyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
  const stranger = {
    certificate: forge.pki.certificateFromPem(pair.certPem), chain: [],
    privateKey: forge.pki.privateKeyFromPem(rsa) as forge.pki.rsa.PrivateKey, info: pair.info,
  };
  assert.notEqual(stranger.info.thumbprint, loadPublishingSigner(data).info.thumbprint);
  const before = snapshot();
  const config = loadConfig({ dataDir: data });
  const db = openDatabase(config.databaseFile);
  const store = createContentStore({ db, dir: config.contentDir, log: quietLog, clock: () => new Date(), ...contentStoreSignatureOptions(config) });
  try {
    await assert.rejects(
      publishUpdate({
        db, catalog: createCatalogStore(db), contentStore: store, log: quietLog, clock: () => new Date(),
        dataDir: config.dataDir, contentDir: config.contentDir, signer: stranger,
      }, { payloadPath: exe, manifest: exeManifest(), overrides: {} }),
      /untrusted|signature/i,
    );
    // An unsigned CAB (as if signing had been skipped) is refused the same way.
    const unsigned = join(tmp, 'unsigned.cab');
    await writeSignableCabinetFile([{ name: 'agent-setup.exe', path: exe }], unsigned);
    const bytes = readFileSync(unsigned);
    await assert.rejects(
      store.ingestStream(Readable.from([bytes]), {
        sha1Hex: createHash('sha1').update(bytes).digest('hex').toUpperCase(), size: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('base64'),
      }, { source: 'published' }),
      /unsigned/i,
    );
    rmSync(unsigned);
  } finally {
    await store.close();
    db.close();
  }
  // The refused CAB is kept in quarantine for inspection (that is the store's rule); nothing else changed.
  const after = snapshot().split('\n').filter((l) => !l.startsWith('.quarantine/') && !l.startsWith('content='));
  assert.deepEqual(after, before.split('\n').filter((l) => !l.startsWith('content=')));
});

/** What the content store needs to apply the signature policy, as the CLI and the server give it. */
function contentStoreSignatureOptions(config: ReturnType<typeof loadConfig>) {
  return { signatures: { policy: config.contentSignatures, dataDir: config.dataDir } };
}

test('--timestamp-url: the CAB carries an RFC 3161 timestamp, still accepted by the store under enforce', async (t) => {
  const tsa = await startTestTsa();
  try {
    const r = await runCli(['publish', exe, '--manifest', writeJson('ts.json', exeManifest({ title: 'Timestamped agent' })),
      '--timestamp-url', tsa.url, '--data', data, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { timestamped: boolean; cab: { sha1Hex: string } };
    assert.equal(out.timestamped, true);
    assert.equal(tsa.requests, 1, 'the TSA was asked once');
    const config = loadConfig({ dataDir: data });
    const stored = contentLayout(config.contentDir).storePath(out.cab.sha1Hex);
    if (!HAS_OSSLSIGNCODE) return t.skip('osslsigncode is not installed');
    const tsaCa = join(tmp, 'tsa-ca.pem');
    writeFileSync(tsaCa, tsa.root.pem);
    const certPem = join(tmp, 'publisher.pem');
    assert.equal((await runCli(['signing', 'export-cert', '--data', data, '--out', certPem])).status, 0);
    const v = spawnSync('osslsigncode', ['verify', '-in', stored, '-CAfile', certPem, TSA_CA_FLAG, tsaCa], { encoding: 'utf8' });
    assert.equal(v.status, 0, `${v.stdout}\n${v.stderr}`);
    assert.match(`${v.stdout}${v.stderr}`, /Timestamp/i);

    // publishingTimestampUrl in config.json is the default when the flag is absent.
    const configFile = join(data, 'config.json');
    const previousConfig = existsSync(configFile) ? readFileSync(configFile, 'utf8') : undefined;
    writeFileSync(configFile, JSON.stringify({ ...(previousConfig ? JSON.parse(previousConfig) as object : {}), publishingTimestampUrl: tsa.url }));
    try {
      const byConfig = await runCli(['publish', exe, '--manifest', writeJson('ts3.json', exeManifest({ title: 'Timestamped by config' })), '--data', data, '--json']);
      assert.equal(byConfig.status, 0, byConfig.stderr);
      assert.equal((JSON.parse(byConfig.stdout) as { timestamped: boolean }).timestamped, true);
      assert.equal(tsa.requests, 2, 'the configured TSA was asked');
    } finally {
      if (previousConfig === undefined) rmSync(configFile, { force: true });
      else writeFileSync(configFile, previousConfig);
    }

    // An unreachable timestamp server fails the publish (exit 1) and leaves nothing behind.
    const before = snapshot();
    const down = await runCli(['publish', exe, '--manifest', writeJson('ts2.json', exeManifest()), '--timestamp-url', 'http://127.0.0.1:9/', '--data', data]);
    assert.equal(down.status, 1, down.stderr);
    assert.match(down.stderr, /timestamp/i);
    assert.equal(snapshot(), before);
  } finally {
    await tsa.close();
  }
});

test('an expired or non-code-signing publishing certificate is refused', async () => {
  for (const [name, made, message] of [
    ['expired', createSelfSignedCertificate({ hosts: ['Old Publisher'], days: 1, purpose: 'codeSigning', now: new Date(Date.now() - 10 * 86_400_000) }), /expired/],
    ['tls', createSelfSignedCertificate({ hosts: ['tls.example'], days: 30, purpose: 'tls' }), /code signing/],
  ] as const) {
    // Written as a pair would have been before it expired (or by hand): the files exist, the pair is unusable.
    const dir = join(tmp, `cert-${name}`);
    mkdirSync(join(dir, 'signing'), { recursive: true });
    writeFileSync(join(dir, 'signing', 'cert.pem'), made.certPem);
    writeFileSync(join(dir, 'signing', 'key.pem'), made.keyPem, { mode: 0o600 });
    await runCli(['publish', '--list', '--data', dir]);
    await refused([exe, '--manifest', writeJson(`c-${name}.json`, exeManifest())], message, dir);
  }
});
