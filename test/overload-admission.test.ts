import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { request } from 'undici';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { createAdmission } from '../src/http/admission.js';
import { defaultLimits, validate } from '../src/config/config.js';
import type { RunningServer } from '../src/app/server.js';
import { importInto, withServer } from './support/test-server.js';
import { envelope, WuaClient } from './support/wua-client.js';
import { captureLog } from './support/log-capture.js';
import { rawConnect, soapHead, until, type RawResponse } from './support/overload-raw.js';

// Admission control on the client listener: beyond the SOAP slots and their queue a request is
// answered 503 with Retry-After from its headers alone (its body is never read); scans work
// again as soon as the load is gone; one address over its request rate is refused while
// another is not; the connection cap and the download bound hold; refusals are logged with
// counts, at most once per interval.

const CLIENT_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService';
const SCAN_PATH = '/ClientWebService/client.asmx';
const SYNC_ACTION = `${CLIENT_NS}/SyncUpdates`;
const catalog = generateCatalog({ updates: 12, seed: 5 });
const sources = [...catalog.documents].map((d) => ({ name: d.fileName, read: () => d.xml }));
const prepare = (config: Parameters<typeof importInto>[0]): void => void importInto(config, sources);

/** A refusal: 503 + Retry-After; the connection closed only when the body was too big to drain cheaply. */
function assertBusy(r: RawResponse, retryAfter: number, connection: 'close' | 'keep-alive'): void {
  assert.equal(r.status, 503, `expected 503, got ${r.status} ${r.body.slice(0, 200)}`);
  assert.equal(r.headers['retry-after'], String(retryAfter));
  if (connection === 'close') assert.equal(r.headers.connection?.toLowerCase(), 'close');
  else assert.notEqual(r.headers.connection?.toLowerCase(), 'close', 'a small refused request keeps its connection (no reconnect storm)');
}

test('SOAP: a slot, a queue, then 503 + Retry-After without reading the body; scans work again once load drops', async () => {
  const limits = { maxConcurrentSoap: 1, maxQueuedSoap: 1, retryAfterSeconds: 7, slowBodyGraceSeconds: 600 };
  await withServer({ limits }, prepare, async (server) => {
    const c = new WuaClient(server.url, randomUUID(), { xpress: false });
    await c.handshake();
    const scan = envelope(c.syncRequest());
    const stats = () => server.admission.stats();

    // A scan whose body is still on its way holds the only slot...
    const holder = await rawConnect(server.port);
    holder.write(soapHead(SCAN_PATH, SYNC_ACTION, Buffer.byteLength(scan)) + scan.slice(0, 200));
    await until(() => stats().soapActive === 1, 'the first request to take the slot');
    // ...the next one waits in the queue...
    const queued = await rawConnect(server.port);
    queued.write(soapHead(SCAN_PATH, SYNC_ACTION, Buffer.byteLength(scan)) + scan);
    await until(() => stats().soapQueued === 1, 'the second request to be queued');

    // ...and the third is refused from its headers: it declares 1 GB and keeps sending.
    const refused = await rawConnect(server.port);
    refused.write(soapHead(SCAN_PATH, SYNC_ACTION, 1_000_000_000));
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    const pump = (): void => {
      while (!refused.isClosed() && !refused.socket.destroyed && refused.written() < 512 * 1024 * 1024) {
        refused.write(chunk);
        if (refused.socket.writableNeedDrain) {
          refused.socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
    const [busy] = await refused.closed;
    assert.ok(busy, 'the refused request got an answer before its connection closed');
    assertBusy(busy, 7, 'close');
    assert.match(busy.body, /retry after 7 seconds/);
    // The server closed the connection after a few socket buffers, not after reading 1 GB.
    assert.ok(refused.written() < 64 * 1024 * 1024, `the client could push ${refused.written()} bytes: the body was being read`);
    assert.equal(stats().refused.soapFull, 1);

    // The first body completes: both waiting scans are answered.
    holder.write(scan.slice(200));
    const [first] = await holder.responses(1);
    const [second] = await queued.responses(1);
    assert.equal(first!.status, 200, first!.body.slice(0, 300));
    assert.equal(second!.status, 200, second!.body.slice(0, 300));
    assert.match(first!.body, /SyncUpdatesResult/);
    holder.end();
    queued.end();
    await until(() => stats().soapActive === 0 && stats().soapQueued === 0, 'the slots to come back');

    // Load gone: a whole scan goes through.
    const pages = await c.fullScan();
    assert.ok(pages >= 1 && c.received.size > 0, 'the scan after the storm delivered updates');
  });
});

test('per-client rate: one address over its budget gets 503 while another address and loopback do not', async (t) => {
  const limits = { clientRequestsPerMinute: 1, clientRequestBurst: 3, retryAfterSeconds: 11 };
  await withServer({ limits }, prepare, async (server) => {
    const probe = await rawConnect(server.port, { localAddress: '127.0.0.2' }).catch((e: NodeJS.ErrnoException) => e);
    if (probe instanceof Error) {
      t.skip(`cannot bind a client socket to 127.0.0.2 on this machine (${probe.code}): the per-address limit needs two source addresses`);
      return;
    }
    probe.end();
    const getConfig = envelope(`<GetConfig xmlns="${CLIENT_NS}"><protocolVersion>2.90</protocolVersion></GetConfig>`);
    // node:http, because it binds the source address (undici 6 does not pass localAddress on)
    const call = (localAddress?: string): Promise<{ status: number; retryAfter: unknown }> => new Promise((resolve, reject) => {
      const req = httpRequest(`${server.url}${SCAN_PATH}`, {
        method: 'POST', agent: false, localAddress,
        headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${CLIENT_NS}/GetConfig"`, 'content-length': Buffer.byteLength(getConfig) },
      }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
      });
      req.on('error', reject);
      req.end(getConfig);
    });
    for (let i = 0; i < 3; i++) assert.equal((await call('127.0.0.2')).status, 200, `request ${i + 1} of the burst`);
    const over = await call('127.0.0.2');
    assert.equal(over.status, 503);
    assert.equal(over.retryAfter, '11');
    assert.equal((await call('127.0.0.3')).status, 200, 'another address is not affected');
    for (let i = 0; i < 10; i++) assert.equal((await call()).status, 200, '127.0.0.1 (a local proxy, the host itself) is exempt');
    assert.equal(server.admission.stats().refused.clientRate, 1);
  });
});

test('maxConnections: a connection beyond the cap is closed at once; once one ends, new ones are served', async () => {
  await withServer({ limits: { maxConnections: 2 } }, prepare, async (server) => {
    const open = (): Promise<number> => new Promise((r, j) => server.http.getConnections((e, n) => (e ? j(e) : r(n))));
    const a = await rawConnect(server.port);
    const b = await rawConnect(server.port);
    await until(async () => (await open()) === 2, 'two open connections');
    const c = await rawConnect(server.port);
    const answers = await c.closed;
    assert.deepEqual(answers, [], 'the third connection is closed without an answer');
    assert.equal(server.admission.stats().refused.connectionsFull, 1);
    a.end();
    await until(async () => (await open()) === 1, 'the first connection to end');
    const d = await rawConnect(server.port);
    d.write('GET /ClientWebService/wusserverversion.xml HTTP/1.1\r\nHost: x\r\n\r\n');
    const [ok] = await d.responses(1);
    assert.equal(ok!.status, 200);
    b.end();
    d.end();
  });
});

test('downloads have their own bound: a stalled download takes the only slot, the next gets 503, scans are unaffected', async () => {
  const limits = { maxConcurrentDownloads: 1, retryAfterSeconds: 5 };
  let selfUpdateDir = '';
  await withServer({ limits }, (config) => {
    prepare(config);
    selfUpdateDir = config.selfUpdateDir;
    mkdirSync(join(selfUpdateDir, 'WSUS3', 'x64'), { recursive: true });
    // larger than the loopback socket buffers, so a client that does not read stalls it
    writeFileSync(join(selfUpdateDir, 'WSUS3', 'x64', 'big.cab'), Buffer.alloc(48 * 1024 * 1024, 7));
    writeFileSync(join(selfUpdateDir, 'wuident.cab'), Buffer.alloc(1024, 1));
  }, async (server: RunningServer) => {
    const stats = () => server.admission.stats();
    const stalled = await rawConnect(server.port);
    stalled.socket.pause();
    stalled.write('GET /selfupdate/WSUS3/x64/big.cab HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => stats().downloadsActive === 1, 'the download to start');

    const next = await rawConnect(server.port);
    next.write('GET /Content/anonymousCheckFile.txt HTTP/1.1\r\nHost: x\r\n\r\n');
    const [busy] = await next.responses(1);
    assertBusy(busy!, 5, 'keep-alive');
    assert.equal(stats().refused.downloadsFull, 1);

    const c = new WuaClient(server.url, randomUUID());
    await c.handshake();
    assert.ok(await c.fullScan() >= 1, 'a scan goes through while the download slot is taken');

    stalled.end();
    await until(() => stats().downloadsActive === 0, 'the stalled download to be released');
    const r = await request(`${server.url}/selfupdate/wuident.cab`, { reset: true });
    assert.equal(r.statusCode, 200);
    await r.body.dump();
  });
});

test('refusals are logged with counts, at most once per interval', () => {
  const cap = captureLog('warn');
  let now = 1_000_000;
  const admission = createAdmission({ ...defaultLimits, maxConcurrentDownloads: 1 }, cap.log, { logIntervalMs: 10_000, now: () => now });
  const fakeRes = () => {
    const closeHandlers: Array<() => void> = [];
    return {
      status: 0,
      headers: [] as string[],
      writeHead(s: number, h: string[]) {
        this.status = s;
        this.headers = h;
        return this;
      },
      end() {
        return this;
      },
      once(ev: string, f: () => void) {
        if (ev === 'close') closeHandlers.push(f);
        return this;
      },
      close: () => closeHandlers.forEach((f) => f()),
    };
  };
  try {
    const holder = fakeRes();
    assert.equal(admission.download(holder as never), true);
    const refused = Array.from({ length: 50 }, fakeRes);
    for (const r of refused) assert.equal(admission.download(r as never), false);
    assert.ok(refused.every((r) => r.status === 503 && r.headers.includes('Retry-After')));
    const warns = () => cap.find({ message: /server busy/ });
    assert.equal(warns().length, 1, 'one line for the first refusal, none for the next 49');
    now += 10_001;
    admission.download(fakeRes() as never);
    assert.equal(warns().length, 2);
    assert.deepEqual(warns()[1]!.refused, { downloadsFull: 50 }, 'the second line counts everything since the first');
    holder.close();
    assert.equal(admission.download(fakeRes() as never), true, 'the slot is back once the response closed');
  } finally {
    admission.close();
  }
});

test('config: 0 turns a bound off; timeouts must be consistent', () => {
  const off = validate({ limits: { maxConcurrentSoap: 0, maxConnections: 0, clientRequestsPerMinute: 0, maxConcurrentDownloads: 0 } }, '/tmp/x');
  assert.equal(off.limits.maxConcurrentSoap, 0);
  assert.equal(off.shutdownGraceSeconds, 20);
  assert.equal(off.limits.headersTimeoutSeconds, 20);
  assert.throws(() => validate({ limits: { headersTimeoutSeconds: 30, requestTimeoutSeconds: 10 } }, '/tmp/x'), /headersTimeoutSeconds \(30\) must not exceed/);
  assert.throws(() => validate({ limits: { retryAfterSeconds: 0 } }, '/tmp/x'), /limits\.retryAfterSeconds must be an integer from 1/);
  assert.throws(() => validate({ shutdownGraceSeconds: 0 }, '/tmp/x'), /shutdownGraceSeconds must be an integer from 1/);
});
