import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { projectRoot } from '../src/paths.js';
import { adminHandle, importInto, tempDataDir, testConfig, withServer } from './support/test-server.js';
import { envelope, reportingEvent, WuaClient } from './support/wua-client.js';
import { rawConnect, soapHead, until } from './support/overload-raw.js';

// Graceful shutdown. In-process: once close() starts, the listener takes no new connections, a
// new request on an open connection is answered 503 + Retry-After, and the request in flight
// finishes with 200 before the database closes. As a service: `wsus serve` gets SIGTERM while
// simulated clients scan and report; every request in flight is answered 200, the process
// exits 0 within shutdownGraceSeconds, and every report batch it acknowledged is in the
// database afterwards (events and computer status), which passes an integrity check.

const CLIENT_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService';
const REP_NS = 'http://www.microsoft.com/SoftwareDistribution';
const SCAN_PATH = '/ClientWebService/client.asmx';
const REPORT_PATH = '/ReportingWebService/ReportingWebService.asmx';
const MAIN = join(projectRoot, 'dist', 'src', 'cli', 'main.js');
const catalog = generateCatalog({ updates: 12, seed: 3 });
const sources = [...catalog.documents].map((d) => ({ name: d.fileName, read: () => d.xml }));

const refusesConnections = (port: number): Promise<boolean> => new Promise((resolve) => {
  const s = connect(port, '127.0.0.1');
  s.once('connect', () => {
    s.destroy();
    resolve(false);
  });
  s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
});

test('close(): no new connections, new requests on open ones get 503, the request in flight finishes with 200', async () => {
  await withServer({ limits: { retryAfterSeconds: 9, slowBodyGraceSeconds: 600 } }, (config) => void importInto(config, sources), async (server) => {
    const c = new WuaClient(server.url, randomUUID(), { xpress: false });
    await c.handshake();
    const scan = envelope(c.syncRequest());
    const conn = await rawConnect(server.port);
    conn.write(soapHead(SCAN_PATH, `${CLIENT_NS}/SyncUpdates`, Buffer.byteLength(scan)) + scan.slice(0, 100));
    await until(() => server.admission.stats().soapActive === 1, 'the scan to be in flight');

    const closing = server.close();
    let closed = false;
    void closing.then(() => (closed = true));
    await until(() => refusesConnections(server.port), 'the listener to stop accepting');
    assert.equal(closed, false, 'close() waits for the request in flight');
    // The rest of the body, and a second request pipelined behind it on the same connection.
    conn.write(scan.slice(100));
    conn.write('GET /ClientWebService/wusserverversion.xml HTTP/1.1\r\nHost: x\r\n\r\n');
    const answers = await conn.closed;
    assert.equal(answers.length, 2);
    assert.equal(answers[0]!.status, 200, answers[0]!.body.slice(0, 300));
    assert.match(answers[0]!.body, /SyncUpdatesResult/);
    assert.equal(answers[1]!.status, 503);
    assert.equal(answers[1]!.headers['retry-after'], '9');
    assert.equal(answers[1]!.headers.connection?.toLowerCase(), 'close');
    await closing;
    assert.equal(server.db.open, false, 'the database is closed');
    assert.equal(server.admission.stats().refused.draining, 1);
  });
});

interface Exit { code: number | null; signal: NodeJS.Signals | null }

test('wsus serve on SIGTERM: in-flight scans and reports answered 200, exit 0 within the grace period, every acknowledged batch stored', async () => {
  const GRACE = 10;
  const tmp = tempDataDir();
  try {
    const config = testConfig(tmp.dir);
    importInto(config, sources);
    const h = adminHandle(config);
    const updateIds = h.db.prepare<[], string>("SELECT update_id FROM updates WHERE update_type = 'Software' ORDER BY id LIMIT 3").pluck().all().map((u) => u.toUpperCase());
    h.close();
    writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({ seedDemoCatalog: false, shutdownGraceSeconds: GRACE, limits: { slowBodyGraceSeconds: 600 } }));

    const child = spawn(process.execPath, [MAIN, 'serve', '--data', tmp.dir, '--port', '0', '--host', '127.0.0.1', '--admin-port', '0'], {
      env: { ...process.env, WSUS_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout!.on('data', (d: Buffer) => (log += d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => (log += d.toString('utf8')));
    const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    try {
      await until(() => /"message":"admin API listening"/.test(log) || child.exitCode !== null, 'the server to start', 60_000);
      const url = /"message":"server listening"[^\n]*"url":"(http:\/\/[^"]+)"/.exec(log)?.[1] ?? /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*"message":"server listening"/.exec(log)?.[1];
      assert.ok(url, `no listening URL in the log:\n${log}`);
      const port = Number(new URL(url).port);

      // Clients scanning and reporting in a loop; each acknowledged batch is remembered.
      const acked = new Map<string, { events: string[]; statusAt: string }>();
      let batchTime = Date.now() - 3_600_000;
      const batch = (clientId: string): { xml: string; ids: string[]; at: string } => {
        const at = new Date(batchTime += 1000).toISOString();
        const ids = [randomUUID(), randomUUID()];
        const xml = reportingEvent(clientId, 147, ids[0]!, undefined, ['B=3', 'G=1507.2601.30012.0'], { time: at }) +
          reportingEvent(clientId, 156, ids[1]!, undefined, ['G=1507.2601.30012.0', `U=${updateIds.join(';')}`], { time: at });
        return { xml, ids, at };
      };
      const remember = (clientId: string, b: { ids: string[]; at: string }): void => {
        const a = acked.get(clientId) ?? { events: [], statusAt: '' };
        a.events.push(...b.ids);
        a.statusAt = b.at;
        acked.set(clientId, a);
      };
      const clients = await Promise.all(Array.from({ length: 6 }, async () => {
        const c = new WuaClient(url, randomUUID());
        await c.handshake();
        return c;
      }));
      let stop = false;
      const loops = clients.map(async (c) => {
        while (!stop) {
          try {
            await c.syncPage();
            const b = batch(c.clientId);
            const r = await c.report(b.xml);
            if (r.status === 200 && /<ReportEventBatchResult>true</.test(r.text)) remember(c.clientId, b);
            else return;
          } catch {
            return; // the server stopped answering: connection refused, reset, or 503
          }
        }
      });

      // Two requests in flight when the signal comes: a scan and a report, their bodies half sent.
      const slowClient = clients[0]!;
      const scan = envelope(slowClient.syncRequest());
      const inflightScan = await rawConnect(port);
      inflightScan.write(soapHead(SCAN_PATH, `${CLIENT_NS}/SyncUpdates`, Buffer.byteLength(scan)) + scan.slice(0, 100));
      // A client of its own, so its acknowledged status is this batch's.
      const reporter = new WuaClient(url, randomUUID());
      await reporter.handshake();
      const slowBatch = batch(reporter.clientId);
      const report = envelope(`<ReportEventBatch xmlns="${REP_NS}">${reporter.cookieXml()}<clientTime>${new Date().toISOString()}</clientTime><eventBatch>${slowBatch.xml}</eventBatch></ReportEventBatch>`);
      const inflightReport = await rawConnect(port);
      inflightReport.write(soapHead(REPORT_PATH, `${REP_NS}/ReportEventBatch`, Buffer.byteLength(report)) + report.slice(0, 100));

      await until(() => [...acked.values()].reduce((n, a) => n + a.events.length, 0) >= 40, 'some acknowledged batches', 60_000);
      const t0 = Date.now();
      child.kill('SIGTERM');
      await until(() => refusesConnections(port), 'the listener to stop accepting', GRACE * 1000);
      inflightScan.write(scan.slice(100));
      inflightReport.write(report.slice(100));
      const [scanAnswer] = await inflightScan.responses(1);
      const [reportAnswer] = await inflightReport.responses(1);
      assert.equal(scanAnswer!.status, 200, scanAnswer!.body.slice(0, 300));
      assert.equal(reportAnswer!.status, 200, reportAnswer!.body.slice(0, 300));
      assert.match(reportAnswer!.body, /<ReportEventBatchResult>true</);
      remember(reporter.clientId, slowBatch);

      let timer: NodeJS.Timeout | undefined;
      const exit = await Promise.race([exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), (GRACE + 5) * 1000)))]);
      clearTimeout(timer);
      const took = Date.now() - t0;
      stop = true;
      await Promise.all(loops);
      assert.ok(exit, `the server did not exit within ${GRACE + 5} s of SIGTERM:\n${log.slice(-3000)}`);
      assert.deepEqual(exit, { code: 0, signal: null }, log.slice(-3000));
      assert.ok(took < GRACE * 1000, `exit took ${took} ms, more than shutdownGraceSeconds`);
      assert.match(log, /"message":"server stopped"/);

      const db = new Database(config.databaseFile, { readonly: true });
      try {
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
        assert.equal(db.prepare('SELECT count(*) FROM report_inbox').pluck().get(), 0, 'nothing acknowledged is left unapplied');
        const has = db.prepare<[string], number>('SELECT count(*) FROM events WHERE event_instance_id = ?').pluck();
        const statusAt = db.prepare<[string], string | null>('SELECT status_at FROM computer_status WHERE client_id = ?').pluck();
        let events = 0;
        for (const [clientId, a] of acked) {
          for (const id of a.events) {
            assert.equal(has.get(id), 1, `acknowledged event ${id} of ${clientId} is stored`);
            events++;
          }
          assert.equal(statusAt.get(clientId), a.statusAt, `the status of ${clientId} is that of its last acknowledged batch`);
        }
        assert.ok(events >= 42);
      } finally {
        db.close();
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }
  } finally {
    tmp.cleanup();
  }
});
