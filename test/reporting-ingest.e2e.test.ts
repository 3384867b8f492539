import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { startServer, type RunningServer } from '../src/app/server.js';
import { openDatabase, type Db } from '../src/store/database.js';
import { createUpdateStatusStore } from '../src/store/update-status.store.js';
import { createComputersStore } from '../src/store/computers.store.js';
import { createEventsStore } from '../src/store/events.store.js';
import { createReportingService } from '../src/services/reporting.service.js';
import { unpackCells } from '../src/core/reporting/status-rules.js';
import { UpdateState as S } from '../src/core/reporting/update-state.js';
import type { ClientCookie } from '../src/core/cookies/cookie-token.js';
import { importInto, quietLog, tempDataDir, testConfig, withServer } from './support/test-server.js';
import { WuaClient, reportingEvent, type ReportingEventOptions } from './support/wua-client.js';

// Loopback: simulated clients scan, download, install, fail and reboot; the statuses the server
// derives (computer_status cells, failures, inventory) are what real WSUS would show. Also the
// bad-input cases, flood control, crash safety, the one-time backfill, and retention.

const catalog = generateCatalog({ updates: 30, seed: 7 });
const sources = [...catalog.documents].map((d) => ({ name: d.fileName, read: () => d.xml }));
const ZERO = '00000000-0000-0000-0000-000000000000';
const HR_0x80246007 = -2145099769;

interface Upd { pk: number; id: string }
function someUpdates(db: Db, n: number): Upd[] {
  return db.prepare<[number], Upd>("SELECT id AS pk, update_id AS id FROM updates WHERE update_type = 'Software' ORDER BY id LIMIT ?").all(n);
}

function statusOf(server: RunningServer, clientId: string): { statusAt: string | null; cells: Map<number, number>; seq: number } | undefined {
  const r = createUpdateStatusStore(server.db).get(clientId);
  return r && { statusAt: r.statusAt, cells: unpackCells(r.cells), seq: r.seq };
}
const failuresOf = (server: RunningServer, clientId: string): Map<number, { hresult: number; failedAt: string }> => createUpdateStatusStore(server.db).failuresOf(clientId);
const count = (db: Db, sql: string, ...args: unknown[]): number => (db.prepare(sql).pluck().get(...args) as number);

class Reporter {
  constructor(readonly c: WuaClient) {}
  /** One batch; every event shares the batch's time, as real agents send them. */
  async send(at: Date, events: Array<[number, string, string[]?, ReportingEventOptions?]>): Promise<{ status: number; text: string; xml: string }> {
    const xml = events.map(([id, upd, misc, o]) => reportingEvent(this.c.clientId, id, randomUUID(), upd, misc ?? [], { time: at.toISOString(), ...o })).join('');
    const r = await this.c.report(xml);
    return { status: r.status, text: r.text, xml };
  }
}
const upper = (u: Upd[]): string => u.map((x) => x.id.toUpperCase()).join(';');
const minutes = (base: number, m: number): Date => new Date(base + m * 60_000);

test('scan, download, install, fail, reboot, re-scan: the statuses real WSUS shows', async () => {
  await withServer({}, (config) => void importInto(config, sources), async (server) => {
    const [u1, u2, u3, u4, u5] = someUpdates(server.db, 5) as [Upd, Upd, Upd, Upd, Upd];
    const c = new WuaClient(server.url, randomUUID());
    await c.handshake();
    const r = new Reporter(c);
    const t0 = Date.now() - 3_600_000;
    const machine = { brand: 'Contoso', model: 'Lab 9000', bios: 'LAB.1.2', arch: 'Amd64Compatible', os: [10, 0, 26100] as [number, number, number], lcid: 1031 };

    // The scan result (147, 156 with the lists) and a finished download, in one batch.
    const first = await r.send(minutes(t0, 0), [
      [147, ZERO, ['B=3', 'G=1507.2601.30012.0']],
      [156, ZERO, ['G=1507.2601.30012.0', 'K=LABBIOS', 'L=2024-05-06T00:00:00', `U=${upper([u1, u2, u3, u4])}`, `V=${upper([u5])}`, 'AppName=x'], { machine }],
      [162, u1.id, ['B=1000']],
    ]);
    assert.equal(first.status, 200);
    assert.match(first.text, /<ReportEventBatchResult>true<\/ReportEventBatchResult>/);
    server.flush();
    let s = statusOf(server, c.clientId)!;
    assert.deepEqual(s.cells, new Map([[u1.pk, S.Downloaded], [u2.pk, S.NotInstalled], [u3.pk, S.NotInstalled], [u4.pk, S.NotInstalled], [u5.pk, S.Installed]]));
    assert.equal(s.statusAt, minutes(t0, 0).toISOString());

    // Inventory from the events; the stored 156 keeps only list sizes.
    const pc = server.db.prepare('SELECT manufacturer, model, bios_version, bios_name, bios_release_date, processor_architecture, os_build, os_locale, client_version, last_report_at, last_address FROM computers WHERE client_id = ?').get(c.clientId);
    assert.deepEqual({ ...(pc as object), last_report_at: typeof (pc as { last_report_at: unknown }).last_report_at }, {
      manufacturer: 'Contoso', model: 'Lab 9000', bios_version: 'LAB.1.2', bios_name: 'LABBIOS', bios_release_date: '2024-05-06T00:00:00',
      processor_architecture: 'AMD64', os_build: 26100, os_locale: 'de-DE', client_version: '1507.2601.30012.0', last_report_at: 'string', last_address: '127.0.0.1',
    });
    const stored156 = JSON.parse(server.db.prepare<[string], string>("SELECT misc_data FROM events WHERE client_id = ? AND event_id = 156").pluck().get(c.clientId)!) as string[];
    assert.deepEqual(stored156, ['U#=4', 'V#=1']);

    // Install: one succeeds (183, D=1 as a Defender update sends it), one fails, two wait for a reboot.
    const second = await r.send(minutes(t0, 5), [
      [183, u1.id, ['D=1']],
      [182, u2.id, [`F=${HR_0x80246007}`], { hresult: HR_0x80246007 }],
      [184, u3.id],
      [201, u4.id, ['D=1']],
    ]);
    server.flush();
    s = statusOf(server, c.clientId)!;
    assert.deepEqual(s.cells, new Map([[u1.pk, S.Installed], [u2.pk, S.Failed], [u3.pk, S.InstalledPendingReboot], [u4.pk, S.InstalledPendingReboot], [u5.pk, S.Installed]]));
    assert.deepEqual(failuresOf(server, c.clientId), new Map([[u2.pk, { hresult: HR_0x80246007, failedAt: minutes(t0, 5).toISOString() }]]));

    // A replayed batch (same EventInstanceIDs) changes nothing, not even the write sequence.
    const before = { seq: s.seq, events: count(server.db, 'SELECT count(*) FROM events') };
    assert.equal((await c.report(second.xml)).status, 200);
    server.flush();
    assert.equal(statusOf(server, c.clientId)!.seq, before.seq);
    assert.equal(count(server.db, 'SELECT count(*) FROM events'), before.events);

    // The reboot (no particular update) completes both pending installs.
    await r.send(minutes(t0, 10), [[202, ZERO]]);
    server.flush();
    s = statusOf(server, c.clientId)!;
    assert.equal(s.cells.get(u3.pk), S.Installed);
    assert.equal(s.cells.get(u4.pk), S.Installed);

    // The next scan: still failed while it stays installable; its HRESULT stays.
    await r.send(minutes(t0, 20), [[156, ZERO, [`U=${upper([u2])}`, `V=${upper([u1, u3, u4, u5])}`]]]);
    server.flush();
    s = statusOf(server, c.clientId)!;
    assert.deepEqual(s.cells, new Map([[u1.pk, S.Installed], [u2.pk, S.Failed], [u3.pk, S.Installed], [u4.pk, S.Installed], [u5.pk, S.Installed]]));
    assert.equal(failuresOf(server, c.clientId).get(u2.pk)?.hresult, HR_0x80246007);

    // A late, older scan result is stored but rolls nothing back.
    const seq = s.seq;
    await r.send(minutes(t0, -30), [[156, ZERO, [`U=${upper([u1, u2, u3, u4, u5])}`]]]);
    server.flush();
    assert.equal(statusOf(server, c.clientId)!.seq, seq);
    assert.equal(count(server.db, 'SELECT count(*) FROM events WHERE client_id = ? AND event_id = 156', c.clientId), 3);

    // Installed at last: the failure row goes.
    await r.send(minutes(t0, 30), [[183, u2.id]]);
    await r.send(minutes(t0, 40), [[156, ZERO, [`V=${upper([u1, u2, u3, u4, u5])}`]]]);
    server.flush();
    assert.deepEqual([...statusOf(server, c.clientId)!.cells.values()], [S.Installed, S.Installed, S.Installed, S.Installed, S.Installed]);
    assert.equal(failuresOf(server, c.clientId).size, 0);

    // Nothing applicable: an empty scan result empties the cells.
    await r.send(minutes(t0, 50), [[156, ZERO, []]]);
    server.flush();
    s = statusOf(server, c.clientId)!;
    assert.equal(s.cells.size, 0);
    assert.equal(s.statusAt, minutes(t0, 50).toISOString());
  });
});

test('unknown update ids are stored but change no status; bad input rejects or is stored predictably', async () => {
  await withServer({}, (config) => void importInto(config, sources), async (server) => {
    const [u1] = someUpdates(server.db, 1) as [Upd];
    const c = new WuaClient(server.url, randomUUID());
    await c.handshake();
    const r = new Reporter(c);
    const stranger = randomUUID();
    await r.send(new Date(), [[156, ZERO, [`U=${u1.id.toUpperCase()};${stranger.toUpperCase()}`]], [183, stranger]]);
    server.flush();
    assert.deepEqual(statusOf(server, c.clientId)!.cells, new Map([[u1.pk, S.NotInstalled]]));
    assert.equal(count(server.db, 'SELECT count(*) FROM events WHERE client_id = ?', c.clientId), 2);
    assert.equal((await server.adminDeps.reporting.settle()).unknownUpdateIds, 2);

    // A structurally broken event: the whole batch is refused, nothing stored.
    const before = count(server.db, 'SELECT count(*) FROM events');
    for (const bad of [
      reportingEvent(c.clientId, 156, 'not-a-guid'),
      reportingEvent(c.clientId, 156, randomUUID(), undefined, [], { time: 'yesterday' }),
      reportingEvent(c.clientId, 156, randomUUID()).replace('<EventID>156</EventID>', '<EventID>1.5</EventID>'),
    ]) {
      const f = await c.report(reportingEvent(c.clientId, 147, randomUUID()) + bad);
      assert.equal(f.status, 500);
      assert.match(f.text, /<ErrorCode>InvalidParameters<\/ErrorCode>/);
    }
    server.flush();
    assert.equal(count(server.db, 'SELECT count(*) FROM events'), before);

    // Impossible clocks: stored with the receipt time, counted.
    const t = Date.now();
    const id = randomUUID();
    await c.report(reportingEvent(c.clientId, 147, id, undefined, [], { time: '2099-01-01T00:00:00Z' }));
    server.flush();
    const at = Date.parse(server.db.prepare<[string], string>('SELECT time_at_target FROM events WHERE event_instance_id = ?').pluck().get(id)!);
    assert.ok(at >= t - 1000 && at <= Date.now(), 'receipt time');
    assert.equal((await server.adminDeps.reporting.settle()).impossibleTimes, 1);

    // A status list naming 1,500 installed updates (a real machine) is read whole, not cut at 4 KiB.
    const many = Array.from({ length: 1500 }, () => randomUUID().toUpperCase());
    await r.send(new Date(Date.now() + 1000), [[156, ZERO, [`V=${[...many, u1.id.toUpperCase()].join(';')}`]]]);
    server.flush();
    assert.deepEqual(statusOf(server, c.clientId)!.cells, new Map([[u1.pk, S.Installed]]), 'the id at the end of a 55 KB list counts');
  });
});

test('a flood from one client id is told ServerBusy; other clients keep reporting', async () => {
  const overrides = { limits: { maxEventsPerBatch: 10 }, reporting: { clientEventsPerMinute: 1, clientEventBurst: 10 } };
  await withServer(overrides, () => undefined, async (server) => {
    const flood = new WuaClient(server.url, randomUUID());
    const calm = new WuaClient(server.url, randomUUID());
    await flood.handshake();
    await calm.handshake();
    const ten = (c: WuaClient): string => Array.from({ length: 10 }, () => reportingEvent(c.clientId, 147, randomUUID())).join('');
    assert.equal((await flood.report(ten(flood))).status, 200);
    const busy = await flood.report(ten(flood));
    assert.equal(busy.status, 500);
    assert.match(busy.text, /<ErrorCode>ServerBusy<\/ErrorCode>/);
    assert.equal((await calm.report(ten(calm))).status, 200, 'another client is unaffected');
    server.flush();
    assert.equal(count(server.db, 'SELECT count(*) FROM events WHERE client_id = ?', flood.clientId), 10);
    assert.equal(count(server.db, 'SELECT count(*) FROM events WHERE client_id = ?', calm.clientId), 10);
    assert.equal((await server.adminDeps.reporting.settle()).busyClient, 1);
  });
});

test('a full backlog tells every client ServerBusy until it is worked off', async () => {
  await withServer({ limits: { maxPendingEvents: 3 } }, () => undefined, async (server) => {
    server.adminDeps.reporting.stop(); // hold the background processor: the backlog stays
    const a = new WuaClient(server.url, randomUUID());
    const b = new WuaClient(server.url, randomUUID());
    await a.handshake();
    await b.handshake();
    const two = (c: WuaClient): string => reportingEvent(c.clientId, 147, randomUUID()) + reportingEvent(c.clientId, 148, randomUUID());
    assert.equal((await a.report(two(a))).status, 200);
    assert.equal(server.adminDeps.reporting.pending(), 2);
    const refused = await b.report(two(b));
    assert.match(refused.text, /<ErrorCode>ServerBusy<\/ErrorCode>/);
    server.flush();
    assert.equal(server.adminDeps.reporting.pending(), 0);
    assert.equal((await b.report(two(b))).status, 200);
  });
});

test('an acknowledged batch survives a crash before processing and is applied on the next start', async () => {
  const tmp = tempDataDir();
  const config = testConfig(tmp.dir);
  try {
    importInto(config, sources);
    const clientId = randomUUID();
    // "Process" one: registration and an acknowledged batch, then gone without processing.
    const db = openDatabase(config.databaseFile);
    const [u1] = someUpdates(db, 1) as [Upd];
    createComputersStore(db).register({ clientId, dnsName: 'crash.lab.invalid' }, '', '10.1.2.3', new Date());
    const reporting = createReportingService({ db, config, clock: () => new Date(), log: quietLog });
    const ev = { targetSid: clientId, eventInstanceId: randomUUID(), eventId: 156, namespaceId: 1, sourceId: 101, updateId: ZERO, revisionNumber: 0,
      timeAtTarget: new Date().toISOString(), win32HResult: 0, appName: 'x', replacementStrings: [], miscData: [`U=${u1.id}`], machine: null };
    assert.equal(reporting.accept({ clientId } as ClientCookie, [ev], '10.1.2.3'), true);
    assert.equal(db.prepare('SELECT count(*) FROM report_inbox').pluck().get(), 1);
    db.close();

    // "Process" two: the server starts and works off the inbox in the background.
    const server = await startServer(config, quietLog);
    try {
      // the ingest thread opens its own connection first: give it time, without flush()
      for (let i = 0; i < 500 && count(server.db, 'SELECT count(*) FROM report_inbox') > 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(count(server.db, 'SELECT count(*) FROM report_inbox'), 0, 'processed after start');
      assert.deepEqual(statusOf(server, clientId)!.cells, new Map([[u1.pk, S.NotInstalled]]));
      assert.equal(count(server.db, 'SELECT count(*) FROM events WHERE client_id = ?', clientId), 1);
    } finally {
      await server.close();
    }
  } finally {
    tmp.cleanup();
  }
});

test('status is rebuilt once from events stored before the reporting migration', async () => {
  const tmp = tempDataDir();
  const config = testConfig(tmp.dir);
  try {
    importInto(config, sources);
    const db = openDatabase(config.databaseFile);
    const [u1, u2] = someUpdates(db, 2) as [Upd, Upd];
    const clientId = randomUUID();
    createComputersStore(db).register({ clientId, dnsName: 'old.lab.invalid' }, '', null, new Date());
    const at = (m: number): string => new Date(Date.UTC(2026, 0, 1, 0, m)).toISOString();
    const e = (eventId: number, updateId: string, time: string, misc: string[], hr = 0) => ({
      eventInstanceId: randomUUID(), clientId, eventId, namespaceId: 1, sourceId: 101, updateId, revisionNumber: 1, timeAtTarget: time,
      win32HResult: hr, appName: '', replacementStrings: [], miscData: misc,
    });
    createEventsStore(db).insertBatch([
      e(182, u2.id, at(5), [], 7),
      e(156, ZERO, at(0), [`U=${u1.id.toUpperCase()};${u2.id.toUpperCase()}`]),
      e(183, u1.id, at(5), []),
    ], new Date().toISOString());
    db.close();
    await withServerOn(config, async (server) => {
      server.flush();
      assert.deepEqual(statusOf(server, clientId)!.cells, new Map([[u1.pk, S.Installed], [u2.pk, S.Failed]]));
      assert.equal(failuresOf(server, clientId).get(u2.pk)?.hresult, 7);
      assert.match(server.db.prepare("SELECT value FROM meta WHERE key = 'status_backfilled'").pluck().get() as string, /^\d{4}-/);
    });
  } finally {
    tmp.cleanup();
  }
});

async function withServerOn(config: ReturnType<typeof testConfig>, body: (s: RunningServer) => Promise<void>): Promise<void> {
  const server = await startServer(config, quietLog);
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

test('retention: expired events, events beyond a computer\'s cap, events of deleted computers', async () => {
  await withServer({ reporting: { maxEventsPerComputer: 10 } }, () => undefined, async (server) => {
    const a = new WuaClient(server.url, randomUUID());
    const b = new WuaClient(server.url, randomUUID());
    await a.handshake();
    await b.handshake();
    const base = Date.now() - 600_000;
    for (let i = 0; i < 15; i++) await new Reporter(a).send(new Date(base + i * 1000), [[147, ZERO, [`B=${i}`]]]);
    await new Reporter(b).send(new Date(base), [[147, ZERO], [148, ZERO]]);
    server.flush();
    const reporting = server.adminDeps.reporting;
    assert.deepEqual(reporting.pruneEvents(new Date()), { expired: 0, orphaned: 0, overCap: 5 });
    const kept = server.db.prepare<[string], string>('SELECT misc_data FROM events WHERE client_id = ? ORDER BY time_at_target').pluck().all(a.clientId);
    assert.deepEqual(kept, Array.from({ length: 10 }, (_, i) => JSON.stringify([`B=${i + 5}`])), 'the newest ten');

    // Later runs check the cap of computers that reported since.
    for (let i = 15; i < 18; i++) await new Reporter(a).send(new Date(base + i * 1000), [[147, ZERO, [`B=${i}`]]]);
    server.flush();
    assert.deepEqual(reporting.pruneEvents(new Date()), { expired: 0, orphaned: 0, overCap: 3 });

    server.db.prepare('DELETE FROM computers WHERE client_id = ?').run(b.clientId);
    assert.deepEqual(reporting.pruneEvents(new Date()), { expired: 0, orphaned: 2, overCap: 0 });

    assert.deepEqual(reporting.pruneEvents(new Date(Date.now() + 31 * 86_400_000)), { expired: 10, orphaned: 0, overCap: 0 });
    assert.equal(count(server.db, 'SELECT count(*) FROM events'), 0);
  });
});
