import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { projectRoot } from '../src/paths.js';
import { withServer } from './support/test-server.js';
import { downstreamSettings, startUpstream } from './support/sync-loopback.js';

// The `wsus` binary as an administrator runs it, against a running server's admin API: token
// bootstrap and use, exit code 5 for 401/403, the audit log, config get/set, and a sync run
// whose progress streams from the server.

const MAIN = join(projectRoot, 'dist', 'src', 'cli', 'main.js');

interface Run { code: number | null; stdout: string; stderr: string }

/** Asynchronous: the server answering the CLI runs in this very process. */
function wsus(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base = { ...process.env };
  for (const k of ['WSUS_TOKEN', 'WSUS_ADMIN_URL', 'WSUS_ADMIN_CA', 'WSUS_DATA', 'WSUS_ADMIN_PORT']) delete base[k];
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...base, WSUS_LOG_LEVEL: 'error', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** Runs and expects exit 0 (stderr in the failure message). */
async function ok(args: string[]): Promise<Run> {
  const r = await wsus(args);
  assert.equal(r.code, 0, `wsus ${args.join(' ')}: ${r.stderr}`);
  return r;
}

test('tokens: create --save (bootstrap) then list/revoke through the API; 401 and 403 exit with 5', async () => {
  await withServer({}, () => {}, async (server, config) => {
    const d = ['--data', config.dataDir];
    const srv = ['--server', server.admin.url];

    const created = await wsus(['tokens', 'create', '--name', 'alice', '--role', 'admin', '--save', ...d]);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    assert.match(token, /^wsus_[A-Za-z0-9_-]{43}$/);
    assert.match(created.stderr, /created admin token 1 "alice".*only time it is shown; saved to .*admin-token \(mode 0600\)/);
    const tokenFile = join(config.dataDir, 'admin-token');
    assert.equal(readFileSync(tokenFile, 'utf8').trim(), token);
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);

    const rep = await wsus(['tokens', 'create', '--name', 'grafana', '--role', 'reporter', '--expires-days', '7', '--json', ...d]);
    assert.equal(rep.code, 0, rep.stderr);
    const reporter = (JSON.parse(rep.stdout) as { token: string }).token;
    assert.equal((await wsus(['tokens', 'create', '--name', 'x', '--role', 'root', ...d])).code, 2);
    const dup = await wsus(['tokens', 'create', '--name', 'alice', '--role', 'admin', ...d]);
    assert.equal(dup.code, 4, dup.stderr);

    // the saved token is found through --data; the server through --server
    const list = await wsus(['tokens', 'list', ...srv, ...d]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^ {3}1 {2}alice +admin +created .* by local:.* active/m);
    assert.match(list.stdout, /^ {3}2 {2}grafana +reporter .* active until /m);
    const listJson = JSON.parse((await wsus(['tokens', 'list', '--json', ...srv, '--token', reporter])).stdout) as Array<{ name: string }>;
    assert.deepEqual(listJson.map((t) => t.name), ['alice', 'grafana']);

    // 401: no token anywhere, an unknown one, a revoked one — exit 5
    const noToken = await wsus(['sync', 'status', ...srv, '--data', join(config.dataDir, 'nowhere')]);
    assert.equal(noToken.code, 5, noToken.stderr);
    assert.match(noToken.stderr, /no admin token/);
    const unknown = await wsus(['sync', 'status', ...srv, '--token', 'wsus_not-a-real-token']);
    assert.equal(unknown.code, 5, unknown.stderr);
    assert.match(unknown.stderr, /^wsus: 401: the token is unknown or revoked$/m);

    // 403: a reporter asking for a change — exit 5
    const forbidden = await wsus(['sync', 'exclude', 'add', '--kb', '5001', ...srv, '--token', reporter]);
    assert.equal(forbidden.code, 5, forbidden.stderr);
    assert.match(forbidden.stderr, /403: the token "grafana" is a reporter token: sync\.exclusions\.add needs an admin token/);
    assert.equal((await wsus(['sync', 'status', ...srv, '--token', reporter])).code, 0, 'reporters read');

    const revoke = await wsus(['tokens', 'revoke', '2', ...srv, ...d]);
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.match(revoke.stdout, /revoked token 2 "grafana" \(reporter\)/);
    const after = await wsus(['sync', 'status', ...srv, '--token', reporter]);
    assert.equal(after.code, 5, after.stderr);
    assert.match(after.stderr, /401: the token is unknown or revoked/);
    assert.equal((await wsus(['tokens', 'revoke', '99', ...srv, ...d])).code, 3);

    // the environment works as well as flags
    const viaEnv = await wsus(['tokens', 'list'], { WSUS_ADMIN_URL: server.admin.url, WSUS_TOKEN: token });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);

    // nobody listening: a clear message, exit 1
    const down = await wsus(['sync', 'status', '--server', 'http://127.0.0.1:9', '--token', token]);
    assert.equal(down.code, 1, down.stderr);
    assert.match(down.stderr, /cannot reach the admin API at http:\/\/127\.0\.0\.1:9: is `wsus serve` running\?/);
  });
});

test('audit: changes made with the CLI are listed with who, what, when and where; reads are not', async () => {
  await withServer({}, () => {}, async (server, config) => {
    const api = ['--server', server.admin.url, '--data', config.dataDir];
    await ok(['tokens', 'create', '--name', 'alice', '--role', 'admin', '--save', '--data', config.dataDir]);
    const before = new Date().toISOString();
    await ok(['sync', 'status', ...api]);
    await ok(['content', 'stats', ...api]);
    const add = await wsus(['sync', 'exclude', 'add', '--architecture', 'arm64', ...api]);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /added exclusion rule 1: architecture arm64/);
    assert.equal((await wsus(['sync', 'exclude', 'remove', '7', ...api])).code, 3);
    await ok(['content', 'cleanup', '--dry-run', ...api]);

    const j = await wsus(['audit', '--json', '--since', before, ...api]);
    assert.equal(j.code, 0, j.stderr);
    const entries = JSON.parse(j.stdout) as Array<{ action: string; outcome: string; dryRun: boolean; actor: { name: string; address: string }; at: string; path: string; body: unknown }>;
    assert.deepEqual(entries.map((e) => `${e.action} ${e.outcome}${e.dryRun ? ' dry' : ''}`), ['content.cleanup ok dry', 'sync.exclusions.remove NotFound', 'sync.exclusions.add ok']);
    for (const e of entries) {
      assert.equal(e.actor.name, 'alice');
      assert.match(e.actor.address, /127\.0\.0\.1/);
      assert.ok(Date.parse(e.at) >= Date.parse(before));
    }
    assert.deepEqual(entries[2]!.body, { kind: 'architecture', pattern: 'arm64' });

    const text = await wsus(['audit', '--action', 'sync.', ...api]);
    assert.match(text.stdout, /alice#1 \(admin\) from .*127\.0\.0\.1 {2}sync\.exclusions\.add {2}POST \/api\/sync\/exclusions {2}ok/);
    assert.doesNotMatch(text.stdout, /content\.cleanup/);
    assert.equal(JSON.parse((await wsus(['audit', '--json', '--actor', 'bob', ...api])).stdout).length, 0);
    assert.equal((await wsus(['audit', '--since', 'last tuesday', ...api])).code, 2);
    // the bootstrap itself is audited, as the local user
    const local = JSON.parse((await wsus(['audit', '--json', '--action', 'tokens.create', ...api])).stdout) as Array<{ actor: { name: string } }>;
    assert.match(local[0]!.actor.name, /^local:/);
  });
});

test('config get/set through the API: bad values exit 2 listing every problem and write nothing; restart keys named', async () => {
  await withServer({}, () => {}, async (server, config) => {
    const api = ['--server', server.admin.url, '--data', config.dataDir];
    const file = join(config.dataDir, 'config.json');
    writeFileSync(file, `${JSON.stringify({ seedDemoCatalog: false }, null, 2)}\n`);
    await ok(['tokens', 'create', '--name', 'alice', '--role', 'admin', '--save', '--data', config.dataDir]);

    const bad = await wsus(['config', 'set', 'admin.port', 'eighty', ...api]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /invalid configuration:\n {2}- admin\.port must be an integer from 0 to 65535 \(got "eighty"\)/);
    const bad2 = await wsus(['config', 'set', 'sync', '{"upstream":"ftp://x","retries":0}', ...api]);
    assert.equal(bad2.code, 2, bad2.stderr);
    assert.match(bad2.stderr, /sync\.upstream must be an http:\/\/ or https:\/\/ URL/);
    assert.match(bad2.stderr, /sync\.retries must be an integer from 1 to 50/);
    assert.match(bad2.stderr, /nothing was written/);
    assert.equal(readFileSync(file, 'utf8'), `${JSON.stringify({ seedDemoCatalog: false }, null, 2)}\n`);

    const set = await wsus(['config', 'set', 'sync.upstream', 'http://parent.corp.example:8530', ...api]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /set sync\.upstream = "http:\/\/parent\.corp\.example:8530"/);
    assert.match(set.stdout, /restart the server to apply: sync\.upstream/);
    const port = await wsus(['config', 'set', 'sync.schedule', '{"firstSyncTime":"02:30","perDay":2}', ...api]);
    assert.equal(port.code, 0, port.stderr);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')).sync, { upstream: 'http://parent.corp.example:8530', schedule: { firstSyncTime: '02:30', perDay: 2 } });

    const get = await wsus(['config', 'get', 'sync.upstream', ...api]);
    assert.equal(get.stdout, 'http://parent.corp.example:8530\n');
    assert.match(get.stderr, /differs from what the running server uses .*: sync\.upstream/);
    const sched = await wsus(['config', 'get', 'sync.schedule', ...api]);
    assert.match(sched.stdout, /^sync\.schedule\.perDay = 2$/m);
    assert.equal(JSON.parse((await wsus(['config', 'get', 'sync.schedule.perDay', '--json', ...api])).stdout), 2);
    assert.equal((await wsus(['config', 'get', 'no.such.key', ...api])).code, 3);

    await ok(['config', 'set', 'sync.proxy', '{"url":"http://proxy:3128","username":"svc","password":"s3cret"}', ...api]);
    const all = await wsus(['config', 'get', ...api]);
    assert.match(all.stdout, /^sync\.proxy\.password = "\[redacted\]"$/m);
    assert.doesNotMatch(all.stdout, /s3cret/);
    const audit = await wsus(['audit', '--json', ...api]);
    assert.doesNotMatch(audit.stdout, /s3cret/);

    // --local: the same routes in the CLI process, no server or token needed; audited as the local user
    const local = await ok(['config', 'set', 'sync.proxy', 'null', '--local', '--data', config.dataDir]);
    assert.match(local.stdout, /set sync\.proxy = \(default\)/);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).sync.proxy, undefined);
    const localAudit = JSON.parse((await ok(['audit', '--json', '--limit', '1', '--local', '--data', config.dataDir])).stdout) as Array<{ action: string; actor: { name: string } }>;
    assert.equal(localAudit[0]!.action, 'config.set');
    assert.match(localAudit[0]!.actor.name, /^local:/);
  });
});

test('sync run through the API: the server syncs, progress streams to stderr, status/history/selection read back', async () => {
  const A = await startUpstream(generateCatalog({ updates: 30, seed: 5 }).documents, 20);
  try {
    await withServer(downstreamSettings(A.url), () => {}, async (server, config) => {
      const api = ['--server', server.admin.url, '--data', config.dataDir];
      await ok(['tokens', 'create', '--name', 'alice', '--role', 'admin', '--save', '--data', config.dataDir]);

      const run = await wsus(['sync', 'run', ...api]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`^sync succeeded in \\d+\\.\\d s \\(run 1, ${A.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
      assert.match(run.stdout, /updates: \d+ listed, 0 already here, \d+ fetched/);
      assert.match(run.stderr, /sync updates: merge \d+\/\d+ \(100\.0%\)/, 'progress from the server, drawn by the CLI');
      const rows = server.db.prepare('SELECT trigger FROM sync_runs').all() as Array<{ trigger: string }>;
      assert.deepEqual(rows.map((r) => r.trigger), ['admin'], 'the server ran it');
      assert.ok((server.db.prepare('SELECT COUNT(*) AS n FROM updates').get() as { n: number }).n > 0);

      const status = await wsus(['sync', 'status', ...api]);
      assert.match(status.stdout, /last run: #1 succeeded/);
      const hist = JSON.parse((await wsus(['sync', 'history', '--json', ...api])).stdout) as Array<{ id: number; state: string }>;
      assert.deepEqual(hist.map((h) => [h.id, h.state]), [[1, 'succeeded']]);

      const products = await wsus(['products', 'list', ...api]);
      assert.equal(products.code, 0, products.stderr);
      const first = /^ {2}([0-9a-f-]{36}) {2}(.+)$/m.exec(products.stdout);
      assert.ok(first, products.stdout);
      const sel = await wsus(['products', 'select', first[1]!, ...api]);
      assert.match(sel.stdout, new RegExp(`selected 1 products: ${first[1]}`));
      assert.match((await wsus(['products', 'list', ...api])).stdout, new RegExp(`^\\* ${first[1]}`, 'm'));

      const again = await wsus(['sync', 'run', '--json', ...api]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal((JSON.parse(again.stdout) as { state: string }).state, 'succeeded');
      const bad = await wsus(['sync', 'run', '--upstream', 'ftp://nowhere', ...api]);
      assert.equal(bad.code, 2, bad.stderr);

      const audit = JSON.parse((await wsus(['audit', '--json', '--action', 'sync.run', ...api])).stdout) as Array<{ outcome: string }>;
      assert.deepEqual(audit.map((a) => a.outcome), ['InvalidInput', 'ok', 'ok']);
    });
  } finally {
    await A.close();
  }
});
