import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { Agent, request } from 'undici';
import winston from 'winston';
import { ConfigError, validate } from '../src/config/config.js';
import { DomainError } from '../src/core/errors.js';
import { startAdminListener } from '../src/admin/admin-server.js';
import { attachment, progress } from '../src/admin/admin-results.js';
import { redact } from '../src/admin/admin-redact.js';
import { createRouteTable } from '../src/admin/admin-route-table.js';
import { openDatabase } from '../src/store/database.js';
import { createAdminTokensStore } from '../src/store/admin-tokens.store.js';
import { createAdminTokensService, hashToken } from '../src/services/admin/admin-tokens.service.js';
import { createAuditStore } from '../src/store/audit.store.js';
import { quietLog, tempDataDir, testConfig, withServer } from './support/test-server.js';
import { tempTlsFiles } from './support/tls-server.js';

// The admin API foundation against real listeners: bearer tokens and roles, the audit log, the
// error mapper, JSON limits, NDJSON progress, attachments and uploads, config get/set, and the
// separation from the client ports.

interface Reply { status: number; headers: Headers; json: any; text: string }

async function call(base: string, method: string, path: string, token?: string, body?: unknown, raw?: { type: string; data: string | Buffer }): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  let payload: string | Buffer | undefined;
  if (raw) {
    headers['content-type'] = raw.type;
    payload = raw.data;
  } else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(`${base}${path}`, { method, headers, body: payload });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** A logger that keeps its entries (to prove secrets never reach the log). */
function keptLog(): { log: winston.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _e, cb) { lines.push(chunk.toString().trim()); cb(); } });
  return { log: winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] }), lines };
}

test('tokens and roles: 401 without, with an unknown, revoked or expired token; reporters read, admins change', async () => {
  await withServer({}, () => {}, async (server) => {
    const base = server.admin.url;
    assert.notEqual(server.admin.port, server.port, 'the admin API has its own port');
    const admin = server.adminDeps.tokens.create({ name: 'alice', role: 'admin', createdBy: 'test' });
    const reporter = server.adminDeps.tokens.create({ name: 'grafana', role: 'reporter', createdBy: 'test' });
    assert.match(admin.token, /^wsus_[A-Za-z0-9_-]{43}$/);

    const none = await call(base, 'GET', '/api/tokens');
    assert.equal(none.status, 401);
    assert.equal(none.json.code, 'Unauthorized');
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.equal((await call(base, 'GET', '/api/tokens', 'wsus_nope')).status, 401);
    // an unknown route is 401 too before authentication: routes are not revealed
    assert.equal((await call(base, 'GET', '/api/nothing-here')).status, 401);

    // only the SHA-256 is stored
    const stored = server.db.prepare('SELECT token_hash FROM admin_tokens WHERE id = ?').get(admin.info.id) as { token_hash: string };
    assert.equal(stored.token_hash, hashToken(admin.token));
    assert.equal(JSON.stringify(server.db.prepare('SELECT * FROM admin_tokens').all()).includes(admin.token), false);

    const list = await call(base, 'GET', '/api/tokens', reporter.token);
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.tokens.map((t: { name: string }) => t.name), ['alice', 'grafana']);
    assert.equal(JSON.stringify(list.json).includes('hash'), false);
    assert.deepEqual((await call(base, 'GET', '/api/tokens/current', reporter.token)).json, { id: reporter.info.id, name: 'grafana', role: 'reporter' });

    const denied = await call(base, 'POST', '/api/tokens', reporter.token, { name: 'mallory', role: 'admin' });
    assert.equal(denied.status, 403);
    assert.equal(denied.json.code, 'Forbidden');
    assert.match(denied.json.error, /reporter token/);

    const created = await call(base, 'POST', '/api/tokens', admin.token, { name: 'ci', role: 'reporter', expiresDays: 30 });
    assert.equal(created.status, 200, created.text);
    assert.equal(created.json.info.createdBy, 'alice');
    assert.ok(Date.parse(created.json.info.expiresAt) > Date.now() + 29 * 86_400_000);
    assert.equal((await call(base, 'POST', '/api/tokens', admin.token, { name: 'ci', role: 'admin' })).status, 409, 'an active name is taken');
    assert.equal((await call(base, 'POST', '/api/tokens', admin.token, { name: 'x y', role: 'admin' })).status, 400);
    assert.equal((await call(base, 'POST', '/api/tokens', admin.token, { name: 'z', role: 'root' })).status, 400);

    const revoked = await call(base, 'DELETE', `/api/tokens/${created.json.info.id}`, admin.token);
    assert.equal(revoked.status, 200);
    assert.ok(revoked.json.revokedAt);
    const after = await call(base, 'GET', '/api/tokens', created.json.token);
    assert.equal(after.status, 401);
    assert.equal(after.json.error, 'the token is unknown or revoked');
    assert.equal((await call(base, 'DELETE', `/api/tokens/${created.json.info.id}`, admin.token)).status, 409);
    assert.equal((await call(base, 'DELETE', '/api/tokens/999', admin.token)).status, 404);

    // expired
    createAdminTokensStore(server.db).insert({ name: 'old', role: 'admin', hash: hashToken('wsus_expired-token-for-the-test'), createdAt: '2020-01-01T00:00:00.000Z', createdBy: 'test', expiresAt: '2020-02-01T00:00:00.000Z' });
    const expired = await call(base, 'GET', '/api/tokens', 'wsus_expired-token-for-the-test');
    assert.equal(expired.status, 401);
    assert.match(expired.json.error, /expired/);

    // the client listener knows nothing of the admin API
    const onClientPort = await call(server.url, 'GET', '/api/tokens', admin.token);
    assert.equal(onClientPort.status, 404);
    assert.equal((await call(server.url, 'POST', '/api/sync/run', admin.token, {})).status, 404);
  });
});

test('audit: one row per change (who, what, target, redacted body, outcome, dry run, from where), none for reads', async () => {
  await withServer({}, () => {}, async (server) => {
    const base = server.admin.url;
    const admin = server.adminDeps.tokens.create({ name: 'alice', role: 'admin', createdBy: 'test' });
    const reporter = server.adminDeps.tokens.create({ name: 'grafana', role: 'reporter', createdBy: 'test' });
    const audit = createAuditStore(server.db);
    const rows = () => audit.query({ limit: 100 });

    await call(base, 'GET', '/api/tokens', admin.token);
    await call(base, 'GET', '/api/sync/status', admin.token);
    await call(base, 'GET', '/api/audit', admin.token);
    assert.equal(rows().length, 0, 'reads are not audited');

    const t0 = Date.now();
    assert.equal((await call(base, 'PUT', '/api/config', admin.token, { values: { 'sync.proxy': { url: 'http://proxy.corp:3128', username: 'svc', password: 'hunter2' } } })).status, 200);
    const [set] = rows();
    assert.equal(set!.action, 'config.set');
    assert.equal(set!.actor.name, 'alice');
    assert.equal(set!.actor.tokenId, admin.info.id);
    assert.equal(set!.actor.role, 'admin');
    assert.match(set!.actor.address ?? '', /127\.0\.0\.1/);
    assert.equal(set!.method, 'PUT');
    assert.equal(set!.path, '/api/config');
    assert.equal(set!.outcome, 'ok');
    assert.ok(Date.parse(set!.at) >= t0 - 1000);
    assert.equal(JSON.stringify(set!.body).includes('hunter2'), false, 'the password is redacted');
    assert.deepEqual((set!.body as any).values['sync.proxy'], { url: 'http://proxy.corp:3128', username: 'svc', password: '[redacted]' });

    // a failed change: the error code; the target from the path
    assert.equal((await call(base, 'DELETE', '/api/sync/exclusions/42', admin.token)).status, 404);
    const [missing] = rows();
    assert.equal(missing!.action, 'sync.exclusions.remove');
    assert.deepEqual(missing!.params, { id: '42' });
    assert.equal(missing!.outcome, 'NotFound');

    // a dry run is flagged
    assert.equal((await call(base, 'POST', '/api/content/cleanup', admin.token, { dryRun: true })).status, 200);
    assert.equal(rows()[0]!.dryRun, true);
    assert.equal(rows()[0]!.action, 'content.cleanup');

    // a reporter's refused change is recorded too
    await call(base, 'POST', '/api/sync/exclusions', reporter.token, { kind: 'kb', pattern: '5001' });
    const [refused] = rows();
    assert.equal(refused!.outcome, 'Forbidden');
    assert.equal(refused!.actor.name, 'grafana');

    // the token created through the API never lands in the audit log
    const made = await call(base, 'POST', '/api/tokens', admin.token, { name: 'ci', role: 'admin' });
    assert.equal(JSON.stringify(rows()).includes(made.json.token), false);

    const filtered = await call(base, 'GET', '/api/audit?actor=ALICE&action=config.&limit=10', reporter.token);
    assert.equal(filtered.status, 200);
    assert.deepEqual(filtered.json.entries.map((e: { action: string }) => e.action), ['config.set']);
    assert.equal((await call(base, 'GET', `/api/audit?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, admin.token)).json.entries.length, 0);
    assert.equal((await call(base, 'GET', '/api/audit?since=yesterday', admin.token)).status, 400);
  });
});

test('config get/set: validated as a whole, nothing written on failure, atomic write, secrets redacted, restart keys named', async () => {
  await withServer({}, () => {}, async (server, config) => {
    const base = server.admin.url;
    const admin = server.adminDeps.tokens.create({ name: 'alice', role: 'admin', createdBy: 'test' }).token;
    const file = join(config.dataDir, 'config.json');
    writeFileSync(file, JSON.stringify({ seedDemoCatalog: false }, null, 2));

    const bad = await call(base, 'PUT', '/api/config', admin, { values: { 'admin.port': 'eighty', httpPort: 70000, 'sync.bogus': 1 } });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.code, 'InvalidInput');
    assert.match(bad.json.error, /admin\.port must be an integer/);
    assert.match(bad.json.error, /httpPort must be an integer from 0 to 65535/);
    assert.match(bad.json.error, /unknown key "sync\.bogus"/);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { seedDemoCatalog: false }, 'nothing written');
    assert.equal((await call(base, 'PUT', '/api/config', admin, { values: { dataDir: '/elsewhere' } })).status, 400);
    assert.equal((await call(base, 'PUT', '/api/config', admin, { values: { 'admin.host': '0.0.0.0' } })).status, 400, 'an exposed admin API needs TLS');

    const ok = await call(base, 'PUT', '/api/config', admin, { values: { 'sync.upstream': 'http://parent.corp:8530', 'admin.port': 9000, logLevel: 'warn' } });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.json.restartRequired.sort(), ['admin.port', 'sync.upstream']);
    assert.deepEqual(ok.json.appliedLive, ['logLevel']);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { seedDemoCatalog: false, sync: { upstream: 'http://parent.corp:8530' }, admin: { port: 9000 }, logLevel: 'warn' });
    assert.equal(existsSync(`${file}.tmp`), false);

    const one = await call(base, 'GET', '/api/config?key=sync.upstream', admin);
    assert.equal(one.json.value, 'http://parent.corp:8530');
    assert.deepEqual(one.json.restartPending, ['sync.upstream']);
    assert.equal((await call(base, 'GET', '/api/config?key=no.such', admin)).status, 404);

    await call(base, 'PUT', '/api/config', admin, { values: { 'sync.proxy': { url: 'http://p:3128', username: 'u', password: 'pw' } } });
    const all = await call(base, 'GET', '/api/config', admin);
    assert.equal(all.json.value.sync.proxy.password, '[redacted]');
    assert.equal(all.text.includes('"pw"'), false);

    // null removes a key (back to its default); emptied sections disappear
    await call(base, 'PUT', '/api/config', admin, { values: { 'sync.proxy': null, 'sync.upstream': null, 'admin.port': null } });
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { seedDemoCatalog: false, logLevel: 'warn' });
  });
});

test('the listener: 404/405 JSON, bounded JSON bodies, error mapper, NDJSON progress, attachments, uploads, no secrets in logs', async () => {
  const tmp = tempDataDir();
  const db = openDatabase(join(tmp.dir, 'wsus.db'));
  const kept = keptLog();
  try {
    const config = testConfig(tmp.dir);
    const tokens = createAdminTokensService(createAdminTokensStore(db), () => new Date());
    const admin = tokens.create({ name: 'alice', role: 'admin', createdBy: 'test' }).token;
    let uploaded = 0;
    const listener = await startAdminListener({
      config, db, log: kept.log, clock: () => new Date(), tokens,
      register: [(r) => {
        r.read('/api/t/items/:id', (req) => ({ id: req.params.id, q: req.query.get('q') }));
        r.read('/api/t/items/special', () => ({ literal: true }));
        r.read('/api/t/empty', () => undefined);
        r.read('/api/t/boom', () => { throw new Error('database exploded at /secret/path'); });
        r.read('/api/t/busy', () => { throw new DomainError('ServerBusy', '', 'try later'); });
        r.change('POST', '/api/t/echo', 't.echo', (req) => ({ got: req.body }));
        r.change('POST', '/api/t/job', 't.job', () => progress(async (report) => {
          for (let i = 1; i <= 3; i++) report({ phase: 'step', done: i, total: 3 });
          return { finished: true };
        }));
        r.change('POST', '/api/t/failing-job', 't.failing-job', () => progress(async (report) => {
          report({ phase: 'step', done: 0, total: 1 });
          throw new DomainError('Conflict', '', 'a sync is already running');
        }));
        r.read('/api/t/download', () => attachment('export "1".bin', Readable.from([Buffer.from('abc'), Buffer.from('def')])));
        r.upload('/api/t/upload', 't.upload', async (_req, body) => {
          for await (const c of body) uploaded += (c as Buffer).length;
          return { bytes: uploaded };
        });
      }],
    });
    try {
      const base = listener.url;
      assert.deepEqual((await call(base, 'GET', '/api/t/items/a%20b?q=1', admin)).json, { id: 'a b', q: '1' });
      assert.deepEqual((await call(base, 'GET', '/api/t/items/special', admin)).json, { literal: true }, 'literal segments win');
      assert.equal((await call(base, 'GET', '/api/t/empty', admin)).status, 204);
      const nf = await call(base, 'GET', '/api/t/nothing', admin);
      assert.equal(nf.status, 404);
      assert.equal(nf.json.code, 'NotFound');
      const na = await call(base, 'DELETE', '/api/t/echo', admin);
      assert.equal(na.status, 405);
      assert.equal(na.headers.get('allow'), 'POST');

      const boom = await call(base, 'GET', '/api/t/boom', admin);
      assert.equal(boom.status, 500);
      assert.deepEqual(boom.json, { error: 'internal error (see the server log)', code: 'InternalServerError' });
      assert.ok(kept.lines.some((l) => l.includes('database exploded')), 'the details are logged');
      assert.equal((await call(base, 'GET', '/api/t/busy', admin)).status, 503);

      assert.deepEqual((await call(base, 'POST', '/api/t/echo', admin, { a: 1 })).json, { got: { a: 1 } });
      assert.equal((await call(base, 'POST', '/api/t/echo', admin, undefined)).json.got && true, true, 'no body is {}');
      assert.equal((await call(base, 'POST', '/api/t/echo', admin, undefined, { type: 'application/json', data: '[1,2]' })).status, 400);
      assert.equal((await call(base, 'POST', '/api/t/echo', admin, undefined, { type: 'application/json', data: '{nope' })).status, 400);
      assert.equal((await call(base, 'POST', '/api/t/echo', admin, undefined, { type: 'text/plain', data: 'a=1' })).status, 400);
      const big = await call(base, 'POST', '/api/t/echo', admin, undefined, { type: 'application/json', data: JSON.stringify({ x: 'y'.repeat(1024 * 1024 + 10) }) });
      assert.equal(big.status, 413);
      assert.equal(big.json.code, 'InvalidInput');

      const job = await call(base, 'POST', '/api/t/job', admin, {});
      assert.equal(job.status, 200);
      assert.match(job.headers.get('content-type') ?? '', /application\/x-ndjson/);
      const lines = job.text.trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(lines.at(-1), { result: { finished: true } });
      assert.deepEqual(lines[0], { progress: { phase: 'step', done: 1, total: 3 } });
      assert.deepEqual(lines.at(-2), { progress: { phase: 'step', done: 3, total: 3 } });
      const failing = await call(base, 'POST', '/api/t/failing-job', admin, {});
      assert.deepEqual(failing.text.trim().split('\n').map((l) => JSON.parse(l)).at(-1), { error: 'a sync is already running', code: 'Conflict' });
      const audit = createAuditStore(db).query({ limit: 10 });
      assert.equal(audit.find((e) => e.action === 't.failing-job')!.outcome, 'Conflict', 'a failed job is audited with its code');

      const dl = await call(base, 'GET', '/api/t/download', admin);
      assert.equal(dl.text, 'abcdef');
      assert.equal(dl.headers.get('content-disposition'), 'attachment; filename="export _1_.bin"');

      const up = await call(base, 'POST', '/api/t/upload?dryRun=true', admin, undefined, { type: 'application/octet-stream', data: Buffer.alloc(3 * 1024 * 1024, 7) });
      assert.deepEqual(up.json, { bytes: 3 * 1024 * 1024 }, 'uploads are streams, not bound by the JSON limit');
      const upAudit = createAuditStore(db).query({ limit: 1, action: 't.upload' })[0]!;
      assert.equal(upAudit.dryRun, true);
      assert.deepEqual(upAudit.body, { dryRun: 'true' });

      // one structured line per request; never the token
      assert.ok(kept.lines.some((l) => /"message":"admin request"/.test(l) && /"who":"alice"/.test(l) && /"status":200/.test(l) && /"ms":\d+/.test(l)));
      assert.equal(kept.lines.some((l) => l.includes(admin)), false, 'the token is never logged');
    } finally {
      await listener.close();
    }
  } finally {
    db.close();
    tmp.cleanup();
  }
});

test('exposure: a non-loopback admin host needs TLS (or allowPlainHttp); TLS serves the API', async () => {
  const tmp = tempDataDir();
  const tls = tempTlsFiles();
  const db = openDatabase(join(tmp.dir, 'wsus.db'));
  try {
    assert.throws(() => validate({ admin: { host: '0.0.0.0' } }, tmp.dir), (e: unknown) => e instanceof ConfigError && /admin\.host "0\.0\.0\.0" is reachable from other machines: give admin\.tlsCert and admin\.tlsKey/.test(e.message));
    assert.throws(() => validate({ admin: { host: '10.1.2.3', tlsCert: tls.certFile } }, tmp.dir), /admin\.tlsCert and admin\.tlsKey must be given together/);
    assert.throws(() => validate({ admin: { port: 70000, color: 'red' } }, tmp.dir), (e: unknown) => e instanceof ConfigError && e.problems.length === 2);
    assert.equal(validate({ admin: { host: '0.0.0.0', allowPlainHttp: true } }, tmp.dir).admin.allowPlainHttp, true);
    assert.equal(validate({ admin: { host: '::1' } }, tmp.dir).admin.host, '::1');
    assert.equal(validate({}, tmp.dir).admin.port, 8532);
    assert.equal(validate({}, tmp.dir).admin.host, '127.0.0.1');

    // the listener checks again, whatever config object it is handed
    const base = testConfig(tmp.dir);
    const exposed = { ...base, admin: { ...base.admin, host: '0.0.0.0' } };
    await assert.rejects(startAdminListener({ config: exposed, db, log: quietLog, clock: () => new Date(), register: [] }), ConfigError);

    const withTls = testConfig(tmp.dir, { admin: { host: '127.0.0.1', port: 0, tlsCert: tls.certFile, tlsKey: tls.keyFile } });
    const tokens = createAdminTokensService(createAdminTokensStore(db), () => new Date());
    const token = tokens.create({ name: 'alice', role: 'admin', createdBy: 'test' }).token;
    const listener = await startAdminListener({ config: withTls, db, log: quietLog, clock: () => new Date(), tokens, register: [(r) => r.read('/api/ping', () => ({ pong: true }))] });
    const agent = new Agent({ connect: { ca: tls.pair.certPem } });
    try {
      assert.match(listener.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const res = await request(`${listener.url}/api/ping`, { headers: { authorization: `Bearer ${token}` }, dispatcher: agent });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(await res.body.json(), { pong: true });
    } finally {
      await agent.close();
      await listener.close();
    }
  } finally {
    db.close();
    tls.cleanup();
    tmp.cleanup();
  }
});

test('route table and redaction units', () => {
  const t = createRouteTable();
  t.router.read('/api/a/:id', () => 1);
  assert.throws(() => t.router.read('/api/a/:other', () => 2), /registered twice/);
  assert.throws(() => t.router.change('POST', '/x', 'a.b', () => 1), /start with \/api\//);
  assert.throws(() => t.router.change('POST', '/api/x', 'Bad Action', () => 1), /noun\.verb/);
  assert.deepEqual(redact({ password: 'p', nested: { apiKey: 'k', 'sync.proxy.password': 'x', list: ['wsus_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG'] }, name: 'ok' }),
    { password: '[redacted]', nested: { apiKey: '[redacted]', 'sync.proxy.password': '[redacted]', list: ['[redacted]'] }, name: 'ok' });
});
