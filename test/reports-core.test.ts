import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { openDatabase, type Db } from '../src/store/database.js';
import { createCatalogStore } from '../src/store/catalog.store.js';
import { createTargetingStore } from '../src/store/targeting.store.js';
import { createUpdateStatusStore } from '../src/store/update-status.store.js';
import { loadServerIdentity } from '../src/store/server-identity.store.js';
import { importDocuments } from '../src/services/import.service.js';
import { packCells } from '../src/core/reporting/status-rules.js';
import { UpdateState, type CountsSummary } from '../src/core/reporting/update-state.js';
import { DomainError } from '../src/core/errors.js';
import { createReportsService, type ReportsService } from '../src/services/reports/reports.service.js';
import { statusIndexFor } from '../src/services/reports/status-index.js';
import { csvCell, reportCsv, toCsv } from '../src/services/reports/report-csv.js';
import { eventDetail, eventKind } from '../src/services/reports/event-kinds.js';
import { quietLog, tempDataDir } from './support/test-server.js';
import { DAY, HRESULT, seedReportFleet, type SeededFleet } from './support/report-seed.js';

// The reports over a seeded database with known answers (see test/support/report-seed.ts):
// how Unknown and Not applicable follow from status and arrival times, what is hidden
// (declined updates, bundle members), group scope with subgroups, every filter, paging, and
// that the index kept current as computers report equals one built from scratch.

const catalog = generateCatalog({ updates: 40, seed: 11 });
const now = new Date('2026-06-01T12:00:00.000Z');

type Counts = Pick<CountsSummary, 'unknown' | 'notApplicable' | 'needed' | 'downloaded' | 'installed' | 'failed' | 'pendingReboot'>;
const pick = (c: CountsSummary): Counts => ({
  unknown: c.unknown, notApplicable: c.notApplicable, needed: c.needed, downloaded: c.downloaded, installed: c.installed, failed: c.failed, pendingReboot: c.pendingReboot,
});
const counts = (o: Partial<Counts>): Counts => ({ unknown: 0, notApplicable: 0, needed: 0, downloaded: 0, installed: 0, failed: 0, pendingReboot: 0, ...o });
const total = (c: CountsSummary): number => c.unknown + c.notApplicable + c.needed + c.downloaded + c.installed + c.failed + c.pendingReboot;
const code = (c: string) => (e: unknown): boolean => e instanceof DomainError && e.code === c;

describe('reports over a seeded fleet', () => {
  let tmp: ReturnType<typeof tempDataDir>;
  let db: Db;
  let fleet: SeededFleet;
  let reports: ReportsService;
  const file = (): string => join(tmp.dir, 'wsus.db');
  /** The same reports from a new connection: an index built from scratch. */
  const fresh = <T>(run: (r: ReportsService) => T): T => {
    const other = openDatabase(file());
    try {
      return run(createReportsService({ db: other, targetingMode: 'server', clock: () => now }));
    } finally {
      other.close();
    }
  };

  before(() => {
    tmp = tempDataDir();
    db = openDatabase(file());
    loadServerIdentity(db, now);
    const r = importDocuments({ db, catalog: createCatalogStore(db), log: quietLog, clock: () => now },
      [...catalog.documents].map((d) => ({ name: d.fileName, read: () => d.xml })));
    assert.equal(r.failed, 0);
    fleet = seedReportFleet(db, now);
    reports = createReportsService({ db, targetingMode: 'server', clock: () => now });
  });
  after(() => {
    db.close();
    tmp.cleanup();
  });

  const row = (id: string, f = {}) => reports.updates({ limit: 100_000, ...f }).rows.find((u) => u.updateId === id);
  const pc = (k: keyof SeededFleet['ids'], f = {}) => reports.computers({ limit: 100_000, ...f }).rows.find((c) => c.clientId === fleet.ids[k]);

  it('updates: Unknown vs Not applicable follow status time against arrival; every row sums to the computers', () => {
    const [u0, u1, u2, u3, u4] = fleet.u as [string, string, string, string, string];
    assert.deepEqual(pick(row(u0)!.counts), counts({ needed: 1, installed: 2, notApplicable: 1, unknown: 1 }));
    assert.deepEqual(pick(row(u1)!.counts), counts({ installed: 1, downloaded: 1, notApplicable: 2, unknown: 1 }));
    assert.deepEqual(pick(row(u2)!.counts), counts({ failed: 1, notApplicable: 3, unknown: 1 }));
    assert.deepEqual(pick(row(u3)!.counts), counts({ notApplicable: 4, unknown: 1 }), 'no cell, status newer than the arrival: not applicable');
    // u4 arrived 60 days ago: pc-a (status 90 d) and pc-d (70 d) have not scanned since → Unknown.
    assert.deepEqual(pick(row(u4)!.counts), counts({ pendingReboot: 1, unknown: 3, notApplicable: 1 }));
    const page = reports.updates({ limit: 100_000 });
    assert.equal(page.total, fleet.live);
    assert.ok(page.rows.every((u) => total(u.counts) === 5 && u.computers === 5));
    assert.deepEqual(page.rows.slice(0, 4).map((u) => u.updateId).sort(), [u0, u1, u2, u4].sort(), 'most required first');
    const titles = page.rows.slice(0, 4).map((u) => u.title.toLowerCase());
    assert.deepEqual(titles, [...titles].sort(), 'then by title');
    assert.equal(row(u0)!.counts.required, 1);
    assert.equal(row(u0)!.counts.compliancePercent, 75);
  });

  it('declined updates and bundle members are hidden; includeDeclined shows declined ones', () => {
    assert.equal(row(fleet.declined), undefined);
    assert.equal(row(fleet.member), undefined);
    assert.equal(row(fleet.member, { includeDeclined: true }), undefined, 'bundle members never have a row');
    assert.deepEqual(pick(row(fleet.declined, { includeDeclined: true })!.counts), counts({ needed: 1, notApplicable: 3, unknown: 1 }));
    assert.equal(row(fleet.declined, { includeDeclined: true })!.declined, true);
    assert.equal(pc('a')!.counts.needed, 1);
    assert.equal(pc('a', { includeDeclined: true })!.counts.needed, 2);
  });

  it('computers: counts over every update counted; Unknown for updates that arrived after the last status list', () => {
    const n = fleet.live;
    assert.deepEqual(pick(pc('a')!.counts), counts({ needed: 1, installed: 1, failed: 1, notApplicable: n - 4, unknown: 1 }));
    assert.deepEqual(pick(pc('b')!.counts), counts({ installed: 1, pendingReboot: 1, notApplicable: n - 2 }));
    assert.deepEqual(pick(pc('c')!.counts), counts({ unknown: n }), 'never reported: all unknown');
    assert.deepEqual(pick(pc('d')!.counts), counts({ downloaded: 1, notApplicable: n - 2, unknown: 1 }));
    const all = reports.computers();
    assert.deepEqual(all.rows.map((c) => c.name), ['pc-a.corp.test', 'pc-b.corp.test', 'pc-d.corp.test', 'pc-c.corp.test', 'pc-e.corp.test']);
    const a = all.rows[0]!;
    assert.deepEqual([a.groups, a.address, a.os, a.lastStatusAt], [['Ring0'], '10.0.0.1', 'Windows 11 Pro', new Date(now.getTime() - 90 * DAY).toISOString()]);
    assert.deepEqual(all.rows.find((c) => c.name === 'pc-c.corp.test')!.groups, ['Unassigned Computers']);
  });

  it('group scope includes subgroups; All Computers is everyone', () => {
    const ring0 = reports.updates({ group: 'ring0', limit: 100_000 });
    assert.ok(ring0.rows.every((u) => u.computers === 3 && total(u.counts) === 3));
    assert.deepEqual(pick(ring0.rows.find((u) => u.updateId === fleet.u[0])!.counts), counts({ needed: 1, installed: 2 }));
    assert.deepEqual(pick(ring0.rows.find((u) => u.updateId === fleet.u[4])!.counts), counts({ unknown: 1, pendingReboot: 1, notApplicable: 1 }));
    assert.deepEqual(reports.computers({ group: 'Ring0' }).rows.map((c) => c.name).sort(), ['pc-a.corp.test', 'pc-b.corp.test', 'pc-e.corp.test']);
    assert.deepEqual(reports.computers({ group: 'Ring1' }).rows.map((c) => c.name).sort(), ['pc-b.corp.test', 'pc-e.corp.test']);
    assert.deepEqual(reports.computers({ group: 'Unassigned Computers' }).rows.map((c) => c.name).sort(), ['pc-c.corp.test', 'pc-d.corp.test']);
    assert.equal(reports.computers({ group: 'All Computers' }).total, 5);
    assert.throws(() => reports.updates({ group: 'Nowhere' }), code('NotFound'));
  });

  it('groups: every group with its subgroups, reporting / needing / failing / compliant', () => {
    const g = reports.groups().rows;
    assert.deepEqual(g.map((x) => x.name), ['All Computers', 'Unassigned Computers', 'Ring0', 'Ring1']);
    const pickG = (name: string) => {
      const x = g.find((r) => r.name === name)!;
      return [x.computers, x.reporting, x.needing, x.failing, x.compliant];
    };
    assert.deepEqual(pickG('All Computers'), [5, 4, 3, 1, 1]);
    assert.deepEqual(pickG('Unassigned Computers'), [2, 1, 1, 0, 0]);
    assert.deepEqual(pickG('Ring0'), [3, 3, 2, 1, 1]);
    assert.deepEqual(pickG('Ring1'), [2, 2, 1, 0, 1]);
    assert.equal(total(g[0]!.counts), 5 * fleet.live, 'cells of every computer × update');
    assert.deepEqual(reports.groups({ group: 'Ring0' }).rows.map((x) => x.name), ['Ring0', 'Ring1']);
  });

  it('classifications: per classification over the computers in scope', () => {
    const rows = reports.classifications().rows;
    assert.ok(rows.length > 0);
    for (const r of rows) assert.equal(total(r.counts), r.updates * 5, r.name);
    const u2 = row(fleet.u[2]!)!;
    const mine = rows.find((r) => r.name === u2.classification)!;
    assert.ok(mine.counts.failed >= 1);
    const ring1 = reports.classifications({ group: 'Ring1' }).rows;
    for (const r of ring1) assert.equal(total(r.counts), r.updates * 2);
  });

  it('filters: classification and product restrict what is counted, states, dates, text', () => {
    const u0 = row(fleet.u[0]!)!;
    const inClass = reports.updates({ classifications: [u0.classification!], limit: 100_000 });
    assert.ok(inClass.rows.length > 0 && inClass.rows.every((u) => u.classification === u0.classification));
    const a = pc('a', { classifications: [u0.classification!] })!;
    assert.equal(total(a.counts), inClass.total, 'a computer counts only the updates of the classification');
    const byProduct = reports.updates({ products: [u0.products[0]!], limit: 100_000 });
    assert.ok(byProduct.rows.some((u) => u.updateId === u0.updateId) && byProduct.rows.every((u) => u.products.includes(u0.products[0]!)));
    assert.throws(() => reports.updates({ classifications: ['No Such Classification'] }), code('NotFound'));
    assert.throws(() => reports.computers({ products: ['No Such Product'] }), code('NotFound'));

    assert.deepEqual(reports.updates({ states: ['failed'] }).rows.map((u) => u.updateId), [fleet.u[2]]);
    assert.deepEqual(reports.computers({ states: ['failed'] }).rows.map((c) => c.name), ['pc-a.corp.test']);
    assert.deepEqual(reports.computers({ states: ['pending-reboot', 'downloaded'] }).rows.map((c) => c.name), ['pc-b.corp.test', 'pc-d.corp.test']);
    assert.throws(() => reports.updates({ states: ['bogus' as never] }), code('InvalidInput'));

    const iso = (days: number): string => new Date(now.getTime() - days * DAY).toISOString();
    assert.deepEqual(reports.updates({ since: iso(90) }).rows.map((u) => u.updateId), [fleet.u[4]], 'since bounds the arrival');
    assert.deepEqual(reports.computers({ since: iso(40) }).rows.map((c) => c.name), ['pc-b.corp.test', 'pc-e.corp.test'], 'since bounds the last status');
    assert.deepEqual(reports.computers({ until: iso(80) }).rows.map((c) => c.name), ['pc-a.corp.test'], 'until is exclusive; no status matches no bound');
    assert.throws(() => reports.updates({ since: iso(1), until: iso(2) }), code('InvalidInput'));
    assert.throws(() => reports.updates({ since: 'yesterday' }), code('InvalidInput'));

    assert.deepEqual(reports.computers({ text: 'PC-B' }).rows.map((c) => c.name), ['pc-b.corp.test']);
    assert.deepEqual(reports.computers({ text: '10.0.0.4' }).rows.map((c) => c.name), ['pc-d.corp.test']);
    assert.deepEqual(reports.computers({ text: fleet.ids.e.slice(0, 13) }).rows.map((c) => c.name), ['pc-e.corp.test']);
    assert.ok(reports.updates({ text: u0.title.slice(0, 12).toUpperCase(), limit: 1000 }).rows.some((u) => u.updateId === u0.updateId));
    const withKb = reports.updates({ limit: 100_000 }).rows.find((u) => u.kb.length > 0)!;
    assert.ok(reports.updates({ text: `KB${withKb.kb[0]}` }).rows.some((u) => u.updateId === withKb.updateId));
  });

  it('paging: total stays, rows are the slice; bad limits are refused', () => {
    const all = reports.updates({ limit: 100_000 });
    const p = reports.updates({ limit: 2, offset: 3 });
    assert.deepEqual([p.total, p.offset, p.limit], [all.total, 3, 2]);
    assert.deepEqual(p.rows.map((u) => u.updateId), all.rows.slice(3, 5).map((u) => u.updateId));
    assert.equal(reports.updates({ offset: all.total + 5 }).rows.length, 0);
    assert.equal(reports.updates().rows.length, Math.min(100, all.total));
    assert.throws(() => reports.updates({ limit: 0 }), code('InvalidInput'));
    assert.throws(() => reports.computers({ offset: -1 }), code('InvalidInput'));
  });

  it('failures: computer × update with the HRESULT, newest first; group, classification and date filters', () => {
    const f = reports.failures();
    assert.equal(f.total, 1);
    assert.deepEqual(f.rows[0], {
      computer: { clientId: fleet.ids.a, name: 'pc-a.corp.test', groups: ['Ring0'] },
      update: { updateId: fleet.u[2], title: row(fleet.u[2]!)!.title, kb: row(fleet.u[2]!)!.kb, classification: row(fleet.u[2]!)!.classification },
      hresult: '0x80246007', failedAt: fleet.failedAt,
    });
    assert.equal(reports.failures({ group: 'Ring1' }).total, 0);
    assert.equal(reports.failures({ group: 'Ring0' }).total, 1);
    assert.equal(reports.failures({ since: new Date(now.getTime() - 10 * DAY).toISOString() }).total, 0);
    assert.equal(reports.failures({ classifications: [row(fleet.u[2]!)!.classification!] }).total, 1);
  });

  it('not-reporting: why each silent computer is silent, longest first', () => {
    const r = reports.notReporting();
    assert.deepEqual(r.rows.map((x) => [x.name, x.reason]), [
      ['pc-c.corp.test', 'never-reported'],
      ['pc-a.corp.test', 'contacts-no-status'],
      ['pc-d.corp.test', 'duplicate-client-id'],
      ['pc-b.corp.test', 'no-contact'],
    ]);
    assert.equal(r.rows[3]!.silentDays, 30);
    assert.match(r.rows[1]!.detail, /still scans .* last status report is from/);
    assert.deepEqual(reports.notReporting({ days: 60 }).rows.map((x) => x.name), ['pc-c.corp.test', 'pc-a.corp.test', 'pc-d.corp.test']);
    assert.deepEqual(reports.notReporting({ group: 'Ring1' }).rows.map((x) => x.name), ['pc-b.corp.test']);
    assert.throws(() => reports.notReporting({ days: 0 }), code('InvalidInput'));
  });

  it('overview: fleet and update counts, by classification and group, top lists', () => {
    const o = reports.overview();
    assert.deepEqual(o.computers, { total: 5, reporting: 4, needing: 3, failing: 1, notReporting: 4, staleAfterDays: 7 });
    assert.deepEqual(o.updates, { total: fleet.live, approved: 0, needed: 4, failed: 1 });
    assert.equal(o.byGroup.length, 4);
    assert.ok(o.byClassification.length > 0);
    assert.equal(o.notReporting.length, 4);
    assert.equal(o.recentFailures[0]!.hresult, '0x80246007');
    assert.equal(o.lastSync, null);
    assert.equal(o.generatedAt, now.toISOString());
  });

  it('update detail: counts and computers per state (capped, with more); failures carry the HRESULT', () => {
    const d = reports.updateDetail(fleet.u[2]!);
    assert.equal(d.update.updateId, fleet.u[2]);
    assert.equal(d.counts.failed, 1);
    assert.deepEqual(d.computers.failed!.rows.map((c) => [c.name, c.hresult, c.failedAt]), [['pc-a.corp.test', '0x80246007', fleet.failedAt]]);
    assert.deepEqual(d.computers['not-applicable']!.rows.map((c) => c.name), ['pc-b.corp.test', 'pc-d.corp.test', 'pc-e.corp.test']);
    assert.deepEqual(d.computers.unknown!.rows.map((c) => c.name), ['pc-c.corp.test']);
    const capped = reports.updateDetail(fleet.u[2]!, { limit: 1 });
    assert.deepEqual([capped.computers['not-applicable']!.rows.length, capped.computers['not-applicable']!.more], [1, 2]);
    assert.equal(reports.updateDetail(fleet.u[0]!, { group: 'Ring1' }).counts.installed, 2);
    assert.throws(() => reports.updateDetail(fleet.member), code('NotFound'));
    assert.throws(() => reports.updateDetail('00000000-1111-2222-3333-444444444444'), code('NotFound'));
  });

  it('computer detail: inventory, updates per stored state, recent events with kind and HRESULT, cloned ids', () => {
    const d = reports.computerDetail('PC-A');
    assert.equal(d.computer.clientId, fleet.ids.a);
    assert.deepEqual([d.computer.inventory.manufacturer, d.computer.inventory.osVersion, d.computer.inventory.architecture], ['QEMU', '10.0.26100', 'AMD64']);
    assert.deepEqual(d.updates.needed!.rows.map((u) => u.updateId), [fleet.u[0]], 'declined updates and bundle members are not listed');
    assert.deepEqual(d.updates.failed!.rows.map((u) => [u.updateId, u.hresult]), [[fleet.u[2], '0x80246007']]);
    assert.deepEqual(d.recentEvents.map((e) => [e.eventId, e.kind, e.hresult]), [[182, 'Installation failed', '0x80246007'], [156, 'Status reported', null]]);
    assert.equal(d.recentEvents[0]!.title, row(fleet.u[2]!)!.title);
    assert.equal(d.recentEvents[1]!.detail, '1 installable, 1 installed');
    assert.deepEqual(d.computer.duplicateOf, []);
    assert.deepEqual(reports.computerDetail(fleet.ids.d).computer.duplicateOf.map((s) => s.name).sort(), ['clone-of-d.corp.test', 'pc-d.corp.test']);
    assert.equal(reports.computerDetail('pc-c.corp.test').counts.unknown, fleet.live);
    assert.throws(() => reports.computerDetail('ghost'), code('NotFound'));
  });

  it('search: computers by name, IP or id; updates by title or KB', () => {
    assert.deepEqual(reports.search('pc-a').computers.map((c) => c.name), ['pc-a.corp.test']);
    assert.equal(reports.search('corp.test').computers.length, 5);
    const title = row(fleet.u[1]!)!.title;
    assert.ok(reports.search(title).updates.some((u) => u.updateId === fleet.u[1]));
    assert.throws(() => reports.search('  '), code('InvalidInput'));
  });

  it('the status index for the admin listings and the maintenance rules: who requires what', () => {
    const index = statusIndexFor(db);
    const required = index.requiredCounts();
    for (const id of [fleet.u[0], fleet.u[2], fleet.u[4], fleet.u[1]]) assert.equal(required.get(id!), 1, id);
    assert.equal(required.has(fleet.u[3]!), false);
    assert.equal(required.has(fleet.member), false);
    assert.deepEqual(index.requiredBy(fleet.u[0]!), [fleet.ids.a]);
    assert.deepEqual([...index.statesOf(fleet.ids.a)!.states].sort(), [[fleet.u[0], 2], [fleet.u[1], 4], [fleet.u[2], 5]].sort());
    assert.equal(index.statesOf(fleet.ids.c), null);
  });

  it('kept current: new status, a deleted computer and a decline give what a fresh index gives', () => {
    const before = reports.updates({ limit: 100_000 });
    assert.ok(before.total > 0);
    const status = createUpdateStatusStore(db);
    db.transaction(() => {
      status.put(fleet.ids.c, new Date(now.getTime() - DAY).toISOString(), packCells(new Map([[fleet.upk[3]!, UpdateState.NotInstalled]])), status.nextSeq(), now.toISOString());
    })();
    assert.deepEqual(pick(row(fleet.u[3]!)!.counts), counts({ needed: 1, notApplicable: 4 }));
    assert.deepEqual(pick(row(fleet.u[0]!)!.counts), counts({ needed: 1, installed: 2, notApplicable: 2 }), 'pc-c reported: not applicable now');
    db.prepare('DELETE FROM computers WHERE client_id = ?').run(fleet.ids.d);
    assert.equal(reports.computers().total, 4);
    assert.deepEqual(pick(row(fleet.u[1]!)!.counts), counts({ installed: 1, notApplicable: 3 }));
    const snapshot = (r: ReportsService) => JSON.stringify([r.updates({ limit: 100_000 }), r.computers(), r.groups(), r.failures(), r.classifications()]);
    assert.equal(snapshot(reports), fresh(snapshot));

    createTargetingStore(db).setDeclined(fleet.u[0]!, true, now);
    assert.equal(row(fleet.u[0]!), undefined, 'declined: gone from the report');
    assert.equal(pc('a')!.counts.needed, 0);
    assert.equal(snapshot(reports), fresh(snapshot));
    createTargetingStore(db).setDeclined(fleet.u[0]!, false, now);
    assert.equal(row(fleet.u[0]!)!.counts.needed, 1);
  });

  it('CSV: RFC 4180 quoting, a header row, counts flattened, formulas defused', () => {
    assert.equal(csvCell('plain'), 'plain');
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell('two\nlines'), '"two\nlines"');
    assert.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
    assert.equal(csvCell(['KB1', 'KB2']), 'KB1; KB2');
    assert.equal(csvCell(null), '');
    assert.equal(csvCell(12), '12');
    assert.equal(toCsv(['a', 'b'], [[1, 'x,y']]), 'a,b\r\n1,"x,y"\r\n');
    const csv = reportCsv('computers', reports.computers().rows);
    const lines = csv.split('\r\n');
    assert.equal(lines[0], 'clientId,name,address,groups,os,lastContactAt,lastStatusAt,lastReportAt,unknown,notApplicable,needed,downloaded,installed,failed,pendingReboot,required,compliancePercent');
    assert.equal(lines.length, 4 + 2, 'header, 4 rows, final CRLF');
    assert.match(lines[1]!, new RegExp(`^${fleet.ids.a},pc-a\\.corp\\.test,10\\.0\\.0\\.1,Ring0,Windows 11 Pro,`));
    const updates = reportCsv('updates', reports.updates().rows).split('\r\n')[0];
    assert.match(updates!, /^updateId,title,kb,classification,products,msrcSeverity,arrivedAt,declined,approved,computers,unknown,/);
  });
});

describe('status derivation in edge cases', () => {
  it('a computer with cells but no status list yet: stored states count, the rest is unknown', () => {
    const tmp = tempDataDir();
    const db = openDatabase(join(tmp.dir, 'wsus.db'));
    try {
      loadServerIdentity(db, now);
      importDocuments({ db, catalog: createCatalogStore(db), log: quietLog, clock: () => now }, [...catalog.documents].map((d) => ({ name: d.fileName, read: () => d.xml })));
      const fleet = seedReportFleet(db, now);
      const status = createUpdateStatusStore(db);
      db.transaction(() => status.put(fleet.ids.c, null, packCells(new Map([[fleet.upk[0]!, UpdateState.Failed]])), status.nextSeq(), now.toISOString()))();
      status.setFailure(fleet.ids.c, fleet.upk[0]!, HRESULT, now.toISOString());
      const r = createReportsService({ db, targetingMode: 'server', clock: () => now });
      const c = r.computers().rows.find((x) => x.clientId === fleet.ids.c)!;
      assert.deepEqual(pick(c.counts), counts({ failed: 1, unknown: fleet.live - 1 }));
      assert.equal(c.lastStatusAt, null);
      assert.equal(r.notReporting().rows.find((x) => x.clientId === fleet.ids.c)?.reason, 'never-reported');

      // Client-side targeting: groups come from the TargetGroup names a computer sends, ancestors included.
      db.prepare("UPDATE computers SET requested_groups = 'RING1;nonexistent' WHERE client_id = ?").run(fleet.ids.c);
      const client = createReportsService({ db, targetingMode: 'client', clock: () => now });
      assert.deepEqual(client.computers({ group: 'Ring0' }).rows.map((x) => x.name), ['pc-c.corp.test']);
      assert.deepEqual(client.computers({ group: 'Ring0' }).rows[0]!.groups, ['Ring1']);
      assert.equal(client.computers({ group: 'Unassigned Computers' }).total, 4);
    } finally {
      db.close();
      tmp.cleanup();
    }
  });
});

describe('event history in words', () => {
  it('names events and summarizes stored status lists (kept as counts) and other MiscData', () => {
    assert.equal(eventKind(182, []), 'Installation failed');
    assert.equal(eventKind(201, ['D=1']), 'Installed, restart required');
    assert.equal(eventKind(999, []), 'Event 999');
    assert.equal(eventDetail(['U#=4', 'V#=2', 'W#=0', 'B=141']), '4 installable, 2 installed, B=141');
    assert.equal(eventDetail(['U=A2FEF9B0-7951-4C2C-A42B-9E351DD1C1FE;0DAF8592-0000-0000-0000-000000000000']), '2 installable');
  });
});
