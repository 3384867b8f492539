import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { redactUrl, validateNotificationsConfig, type NotificationsConfig } from '../src/config/notifications-config.js';
import { validateTransferConfig } from '../src/config/transfer-config.js';
import { ConfigError, validate } from '../src/config/config.js';
import type { Logger } from '../src/logger.js';
import { createWebhookNotifier, SIGNATURE_HEADER, type WebhookBody } from '../src/services/notify/webhook-notifier.js';
import { syncNotifications } from '../src/services/notify/sync-notifications.js';
import { createHealthWatch } from '../src/services/notify/health-watch.js';
import type { HealthProbes } from '../src/services/health/health-probes.js';
import { harness } from './support/sync-harness.js';
import { quietLog, tempDataDir, testConfig, withServer } from './support/test-server.js';

// Webhooks: signed JSON POSTs that never hold up the caller, bounded retries with backoff,
// failures logged without credentials or secrets; what syncs and health changes announce.

interface Received { headers: IncomingMessage['headers']; raw: string; body: WebhookBody }

async function receiver(answer: (n: number) => number = () => 204): Promise<{ url: string; got: Received[]; server: Server; close: () => Promise<void> }> {
  const got: Received[] = [];
  let n = 0;
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => { raw += c.toString(); });
    req.on('end', () => {
      got.push({ headers: req.headers, raw, body: JSON.parse(raw) as WebhookBody });
      res.statusCode = answer(++n);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/hook`, got, server, close: () => new Promise((r) => server.close(() => r())) };
}

function captureLog(): { log: Logger; lines: Array<{ level: string; message: string; meta: Record<string, unknown> }> } {
  const lines: Array<{ level: string; message: string; meta: Record<string, unknown> }> = [];
  const at = (level: string) => (message: string, meta: Record<string, unknown> = {}) => { lines.push({ level, message, meta }); };
  return { log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as Logger, lines };
}

const SECRET = 'a-shared-secret-of-enough-length';
const cfg = (hooks: NotificationsConfig['webhooks'], attempts = 3): NotificationsConfig => ({ webhooks: hooks, attempts, timeoutSeconds: 2, maxTitles: 3 });
const server = { id: '11111111-2222-3333-4444-555555555555', name: 'wsus-hq' };

test('a delivery: JSON with event, timestamp and payload, HMAC-SHA256 signature, never on the caller\'s stack', async () => {
  const r = await receiver();
  const n = createWebhookNotifier({ config: cfg([{ url: r.url, events: ['sync.failed'], secret: SECRET }]), server, log: quietLog, clock: () => new Date('2026-05-01T03:00:00Z') });
  try {
    n.emit('sync.failed', { runId: 7, error: 'proxy answered 407' });
    n.emit('sync.succeeded', { runId: 8 }); // not subscribed
    assert.equal(r.got.length, 0, 'emit returns before anything is sent');
    await n.idle();
    assert.equal(r.got.length, 1);
    const d = r.got[0]!;
    assert.equal(d.body.event, 'sync.failed');
    assert.equal(d.body.timestamp, '2026-05-01T03:00:00.000Z');
    assert.deepEqual(d.body.server, server);
    assert.deepEqual(d.body.payload, { runId: 7, error: 'proxy answered 407' });
    assert.equal(d.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(d.headers['x-wsus-event'], 'sync.failed');
    assert.equal(d.headers[SIGNATURE_HEADER], `sha256=${createHmac('sha256', SECRET).update(d.raw).digest('hex')}`);
  } finally {
    await n.close();
    await r.close();
  }
});

test('retries with backoff on 5xx, stops at the bound, no retry on 4xx; logs never show credentials or the secret', async () => {
  const flaky = await receiver((k) => (k <= 2 ? 503 : 200));
  const down = await receiver(() => 500);
  const refusing = await receiver(() => 400);
  const { log, lines } = captureLog();
  const withCreds = down.url.replace('http://', 'http://user:hunter2@') + '?token=abc';
  const n = createWebhookNotifier({
    config: cfg([
      { url: flaky.url, events: ['health.red'], secret: null },
      { url: withCreds, events: ['health.red'], secret: SECRET },
      { url: refusing.url, events: ['health.red'], secret: null },
    ], 3),
    server, log, clock: () => new Date(), baseDelayMs: 20, random: () => 0.5,
  });
  try {
    const started = Date.now();
    n.emit('health.red', { problems: ['disk full'] });
    await n.idle();
    assert.equal(flaky.got.length, 3, 'delivered on the third try');
    assert.equal(down.got.length, 3, 'given up after 3 tries');
    assert.equal(refusing.got.length, 1, 'a 400 is final');
    assert.ok(Date.now() - started >= 20 + 40, 'backoff between tries (20 ms, then 40 ms)');
    assert.equal(new Set(flaky.got.map((g) => g.body.deliveryId)).size, 1, 'one delivery id across retries');
    const final = lines.filter((l) => l.message === 'webhook delivery failed');
    assert.equal(final.length, 2);
    const text = JSON.stringify(lines);
    assert.ok(!text.includes('hunter2') && !text.includes('token=abc') && !text.includes(SECRET), text);
    assert.ok(final.some((l) => l.meta.url === redactUrl(down.url) && l.meta.error === 'HTTP 500'));
    assert.equal(redactUrl('https://u:p@hooks.example:8443/a/b?x=1#f'), 'https://hooks.example:8443/a/b');
  } finally {
    await n.close();
    for (const x of [flaky, down, refusing]) await x.close();
  }
});

test('an unreachable receiver never blocks: emit returns at once, close() abandons retries', async () => {
  const { log } = captureLog();
  const n = createWebhookNotifier({ config: cfg([{ url: 'http://127.0.0.1:9/nothing', events: ['sync.failed'], secret: null }], 10), server, log, clock: () => new Date(), baseDelayMs: 60_000 });
  const t = Date.now();
  n.emit('sync.failed', {});
  assert.ok(Date.now() - t < 50);
  await new Promise((r) => setTimeout(r, 100));
  const c = Date.now();
  await n.close();
  assert.ok(Date.now() - c < 2_500, 'shutdown does not wait for the backoff');
});

test('config sections: notifications and transfer are validated with the rest', () => {
  const problems: string[] = [];
  validateNotificationsConfig({ webhooks: [{ url: 'ftp://x', events: ['sync.exploded'], secret: 'short', extra: 1 }], retries: 3 }, problems);
  assert.deepEqual(problems, [
    'unknown key "notifications.retries"',
    'unknown key "notifications.webhooks[0].extra"',
    'notifications.webhooks[0].url must be an http:// or https:// URL',
    'notifications.webhooks[0].events must be a non-empty list of sync.succeeded, sync.failed, updates.new, rules.matched, health.red',
    'notifications.webhooks[0].secret must be a string of at least 16 characters',
  ]);
  const ok = validateNotificationsConfig({ webhooks: [{ url: 'https://hooks.example/wsus' }] }, []);
  assert.deepEqual(ok.webhooks[0]!.events, ['sync.succeeded', 'sync.failed', 'updates.new', 'rules.matched', 'health.red']);
  const tp: string[] = [];
  validateTransferConfig({ signingCert: 'a.pem', trustedCerts: 'b.pem', other: 1 }, '/data', tp);
  assert.deepEqual(tp, ['unknown key "transfer.other"', 'transfer.signingCert and transfer.signingKey must be given together', 'transfer.trustedCerts must be a list of PEM file paths']);
  const t = validateTransferConfig({ signingCert: 'k/c.pem', signingKey: 'k/k.pem', trustedCerts: ['t/hq.pem'] }, '/data', []);
  assert.deepEqual([t.signingCert, t.signingKey, t.trustedCerts], ['/data/k/c.pem', '/data/k/k.pem', ['/data/t/hq.pem']]);
  assert.throws(() => validate({ notifications: { webhooks: 'x' } }, '/data'), ConfigError);
});

test('a sync announces its result and the new updates it brought (through the sync service run listeners)', async () => {
  const h = harness();
  const emitted: Array<{ event: string; payload: Record<string, unknown> }> = [];
  const notifier = { emit: (event: string, payload: unknown) => emitted.push({ event, payload: payload as Record<string, unknown> }) };
  try {
    h.fake.addAll([...generateCatalog({ updates: 12, seed: 5 }).documents].map((d) => d.xml));
    const svc = h.service({ runListeners: [syncNotifications({ db: h.db, notifier, log: quietLog, maxTitles: 3 })] });
    const ok = await svc.run({ trigger: 'admin' });
    assert.equal(ok.state, 'succeeded', ok.error ?? '');
    assert.deepEqual(emitted.map((e) => e.event), ['sync.succeeded', 'updates.new']);
    const nu = emitted[1]!.payload as { newUpdates: number; titles: Array<{ title: string }>; more: number };
    assert.ok(nu.newUpdates > 3);
    assert.equal(nu.titles.length, 3);
    assert.equal(nu.more, nu.newUpdates - 3);
    assert.ok(nu.titles.every((t) => typeof t.title === 'string' && t.title.length > 0));
    emitted.length = 0;
    assert.equal((await svc.run({ trigger: 'admin' })).state, 'succeeded');
    assert.deepEqual(emitted.map((e) => e.event), ['sync.succeeded'], 'nothing new: no updates.new');
    emitted.length = 0;
    h.fake.failures.push({ op: 'configData', call: h.fake.count('configData') + 1, error: () => new Error('getaddrinfo ENOTFOUND upstream.test') });
    const bad = await svc.run({ trigger: 'admin' });
    assert.equal(bad.state, 'failed');
    assert.deepEqual(emitted.map((e) => e.event), ['sync.failed']);
    assert.match(String(emitted[0]!.payload.error), /ENOTFOUND/);
  } finally {
    h.close();
  }
});

test('health.red is announced once when health turns unhealthy, again only after it recovered', () => {
  const tmp = tempDataDir();
  const config = testConfig(tmp.dir);
  const h = harness();
  let free = 50 * 1024 ** 3;
  const probes: HealthProbes = { disk: () => ({ freeBytes: free, totalBytes: 100 * 1024 ** 3, device: 1 }), certificateValidTo: () => new Date() };
  const emitted: string[] = [];
  try {
    const watch = createHealthWatch({ db: h.db, config, notifier: { emit: (e) => emitted.push(e) }, log: quietLog, clock: () => new Date(), probes });
    assert.equal(watch.evaluate('test')!.healthy, true);
    free = 512 * 1024 ** 2;
    const red = watch.evaluate('test')!;
    assert.equal(red.healthy, false);
    assert.match(red.problems.join('\n'), /data directory .*512\.0 MiB free of 100\.0 GiB/);
    watch.evaluate('test');
    assert.deepEqual(emitted, ['health.red'], 'once per transition');
    // a second watcher (the server restarted) knows it was already announced
    createHealthWatch({ db: h.db, config, notifier: { emit: (e) => emitted.push(e) }, log: quietLog, clock: () => new Date(), probes }).evaluate('restart');
    assert.deepEqual(emitted, ['health.red']);
    free = 50 * 1024 ** 3;
    watch.evaluate('test');
    free = 0;
    watch.evaluate('test');
    assert.deepEqual(emitted, ['health.red', 'health.red']);
  } finally {
    h.close();
    tmp.cleanup();
  }
});

test('a running server posts sync.failed and health.red to its webhook', async () => {
  const r = await receiver();
  try {
    await withServer({
      sync: { upstream: 'http://127.0.0.1:9', retries: 1, connectTimeoutSeconds: 1, content: 'none' },
      notifications: { webhooks: [{ url: r.url, secret: SECRET }] },
    }, () => undefined, async (s) => {
      const run = await s.sync.run({ trigger: 'admin' });
      assert.equal(run.state, 'failed');
      for (let i = 0; i < 100 && r.got.length < 2; i++) await new Promise((x) => setTimeout(x, 20));
      assert.deepEqual(r.got.map((g) => g.body.event).sort(), ['health.red', 'sync.failed']);
      const red = r.got.find((g) => g.body.event === 'health.red')!.body.payload as { problems: string[] };
      assert.match(red.problems[0]!, /last sync failed/);
      for (const g of r.got) assert.equal(g.headers[SIGNATURE_HEADER], `sha256=${createHmac('sha256', SECRET).update(g.raw).digest('hex')}`);
    });
  } finally {
    await r.close();
  }
});
