import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { startServer, type RunningServer } from '../src/app/server.js';
import type { ComputerStatusDetail, ComputerStatusRow, GroupStatusRow, Overview, Page, UpdateStatusRow } from '../src/core/reporting/report-types.js';
import { adminHandle, importInto, quietLog, tempDataDir, testConfig } from './support/test-server.js';
import { cliFor, json, type CliResult } from './support/admin-cli.js';
import { reportingEvent, WuaClient } from './support/wua-client.js';
import { seedReportFleet, type SeededFleet } from './support/report-seed.js';

// The reports as administrators and scripts reach them: the admin API under /api/reports/*
// (strict query parameters, JSON and CSV, reporter tokens allowed) and `wsus report …` as a
// process (table, CSV and JSON output, exit codes), over a seeded fleet plus one simulated
// Windows Update client reporting through the real SOAP endpoint.

const catalog = generateCatalog({ updates: 40, seed: 11 });
const sources = [...catalog.documents].map((d) => ({ name: d.fileName, read: () => d.xml }));

describe('reports through the admin API and the CLI', () => {
  let tmp: ReturnType<typeof tempDataDir>;
  let server: RunningServer;
  let fleet: SeededFleet;
  let reporterToken: string;
  let wsus: (...args: string[]) => Promise<CliResult>;

  const api = async (path: string, token: string | null = reporterToken): Promise<{ status: number; type: string; body: string; disposition: string }> => {
    const res = await fetch(`${server.admin.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text(), disposition: res.headers.get('content-disposition') ?? '' };
  };
  const get = async <T>(path: string): Promise<T> => {
    const r = await api(path);
    assert.equal(r.status, 200, `${path}: ${r.body}`);
    return JSON.parse(r.body) as T;
  };

  before(async () => {
    tmp = tempDataDir();
    const config = testConfig(tmp.dir);
    importInto(config, sources);
    const h = adminHandle(config);
    try {
      fleet = seedReportFleet(h.db, new Date());
    } finally {
      h.close();
    }
    server = await startServer(config, quietLog);
    reporterToken = server.adminDeps.tokens.create({ name: 'viewer', role: 'reporter', expiresDays: null, createdBy: 'test' }).token;
    wsus = cliFor(server, 'reporter', 'cli-viewer');
  });
  after(async () => {
    await server.close();
    tmp.cleanup();
  });

  it('every report answers a reporter token with JSON', async () => {
    const o = await get<Overview>('/api/reports/overview');
    assert.equal(o.computers.total, 5);
    assert.equal(o.recentFailures[0]?.hresult, '0x80246007');
    const updates = await get<Page<UpdateStatusRow>>('/api/reports/updates?limit=500');
    assert.equal(updates.total, fleet.live);
    assert.equal(updates.rows.find((u) => u.updateId === fleet.u[0])!.counts.needed, 1);
    const computers = await get<Page<ComputerStatusRow>>('/api/reports/computers?group=Ring0&state=failed,needed');
    assert.deepEqual(computers.rows.map((c) => c.name), ['pc-a.corp.test']);
    const groups = await get<Page<GroupStatusRow>>('/api/reports/groups');
    assert.deepEqual(groups.rows.map((g) => g.name), ['All Computers', 'Unassigned Computers', 'Ring0', 'Ring1']);
    assert.ok((await get<Page<unknown>>('/api/reports/classifications')).total > 0);
    assert.equal((await get<Page<unknown>>('/api/reports/failures?group=Ring0')).total, 1);
    assert.equal((await get<Page<unknown>>('/api/reports/not-reporting?days=7')).total, 4);
    const detail = await get<{ counts: { failed: number } }>(`/api/reports/updates/${fleet.u[2]}?limit=5`);
    assert.equal(detail.counts.failed, 1);
    const pc = await get<ComputerStatusDetail>('/api/reports/computers/pc-a');
    assert.equal(pc.updates.failed!.rows[0]!.hresult, '0x80246007');
    const found = await get<{ computers: unknown[] }>('/api/reports/search?q=pc-');
    assert.equal(found.computers.length, 5);
    // repeated classification parameters: an update matches any
    const u0 = updates.rows.find((u) => u.updateId === fleet.u[0])!;
    const both = await get<Page<UpdateStatusRow>>(`/api/reports/updates?classification=${encodeURIComponent(u0.classification!)}&classification=${encodeURIComponent(u0.classification!)}&limit=500`);
    assert.ok(both.rows.every((u) => u.classification === u0.classification));
  });

  it('format=csv: text/csv with a header row and every matching row', async () => {
    const r = await api('/api/reports/computers?format=csv');
    assert.equal(r.status, 200);
    assert.match(r.type, /^text\/csv/);
    assert.match(r.disposition, /filename="computers\.csv"/);
    const lines = r.body.trimEnd().split('\r\n');
    assert.match(lines[0]!, /^clientId,name,address,groups,os,/);
    assert.equal(lines.length, 1 + 5);
    const limited = await api('/api/reports/updates?format=csv&limit=2');
    assert.equal(limited.body.trimEnd().split('\r\n').length, 3);
  });

  it('strict parameters: unknown or malformed is 400, unknown names 404, no token 401', async () => {
    const cases: Array<[string, number, RegExp]> = [
      ['/api/reports/updates?grop=Ring0', 400, /unknown query parameter "grop"/],
      ['/api/reports/groups?state=failed', 400, /unknown query parameter "state"/],
      ['/api/reports/computers?state=bogus', 400, /unknown state "bogus"/],
      ['/api/reports/updates?limit=abc', 400, /limit must be a whole number/],
      ['/api/reports/updates?limit=0', 400, /limit must be/],
      ['/api/reports/updates?format=xml', 400, /format must be json or csv/],
      ['/api/reports/updates?since=tomorrow', 400, /since/],
      ['/api/reports/updates?includeDeclined=maybe', 400, /includeDeclined must be true or false/],
      ['/api/reports/not-reporting?days=0', 400, /days must be/],
      ['/api/reports/search', 400, /q: give some text/],
      ['/api/reports/overview?group=x', 400, /unknown query parameter/],
      ['/api/reports/updates?group=Nowhere', 404, /group "Nowhere" not found/],
      ['/api/reports/updates?classification=Nothing', 404, /classification not found/],
      ['/api/reports/updates/KB999999999', 404, /not found/],
      [`/api/reports/updates/${fleet.member}`, 404, /not reported on/],
      ['/api/reports/computers/ghost', 404, /computer "ghost" not found/],
    ];
    for (const [path, status, message] of cases) {
      const r = await api(path);
      assert.equal(r.status, status, `${path}: ${r.body}`);
      assert.match((JSON.parse(r.body) as { error: string }).error, message, path);
    }
    assert.equal((await api('/api/reports/overview', null)).status, 401);
  });

  it('status a Windows Update client reports through SOAP shows in the reports', async () => {
    const c = new WuaClient(server.url, randomUUID(), { dnsName: 'live-pc.corp.test' });
    await c.handshake();
    const u3 = fleet.u[3]!;
    await c.report(reportingEvent(c.clientId, 156, randomUUID(), undefined, [`U=${u3.toUpperCase()}`, `V=${fleet.u[1]!.toUpperCase()}`]));
    await c.report(reportingEvent(c.clientId, 182, randomUUID(), u3, [], { hresult: 0x80070643 | 0 }));
    let d: ComputerStatusDetail | null = null;
    for (let i = 0; i < 50 && !d?.updates.failed; i++) {
      d = await get<ComputerStatusDetail>('/api/reports/computers/live-pc');
      if (!d.updates.failed) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(d!.updates.failed!.rows.map((u) => [u.updateId, u.hresult]), [[u3, '0x80070643']]);
    assert.deepEqual(d!.updates.installed!.rows.map((u) => u.updateId), [fleet.u[1]]);
    const row = (await get<Page<UpdateStatusRow>>('/api/reports/updates?state=failed')).rows.find((u) => u.updateId === u3)!;
    assert.equal(row.counts.failed, 1);
    assert.equal(row.computers, 6);
  });

  it('wsus report: tables within 120 columns, CSV, JSON; usage errors exit 2, unknown refs 3', async () => {
    const t = await wsus('report', 'updates', '--limit', '5');
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /^REQUIRED\s+FAILED\s+INSTALLED\s+N\/A\s+UNKNOWN\s+COMPL\s+KB\s+CLASSIFICATION\s+TITLE/);
    assert.ok(t.stdout.split('\n').every((l) => l.length <= 120), t.stdout);
    assert.match(t.stderr, /showing 1-5 of/);
    for (const kind of ['computers', 'groups', 'classifications', 'failures', 'not-reporting']) {
      const r = await wsus('report', kind);
      assert.equal(r.status, 0, `${kind}: ${r.stderr}`);
      assert.ok(r.stdout.split('\n').every((l) => l.length <= 120), `${kind}:\n${r.stdout}`);
    }
    const computers = await wsus('report', 'computers', '--group', 'Ring0');
    assert.match(computers.stdout, /^NAME\s+GROUP\s+LAST STATUS\s+REQUIRED/);
    assert.match(computers.stdout, /\npc-a\.corp\.test\s+Ring0\s/);

    const csv = await wsus('report', 'computers', '--state', 'failed', '--state', 'pending-reboot', '--format', 'csv');
    assert.equal(csv.status, 0, csv.stderr);
    const lines = csv.stdout.trimEnd().split('\r\n');
    assert.match(lines[0]!, /^clientId,name,/);
    assert.deepEqual(lines.slice(1).map((l) => l.split(',')[1]).sort(), ['live-pc.corp.test', 'pc-a.corp.test', 'pc-b.corp.test']);

    const page = json<Page<UpdateStatusRow>>(await wsus('report', 'updates', '--text', fleet.u[0]!, '--json'));
    assert.deepEqual(page.rows.map((u) => u.updateId), [fleet.u[0]]);
    const same = json<Page<UpdateStatusRow>>(await wsus('report', 'updates', '--text', fleet.u[0]!, '--format', 'json'));
    assert.deepEqual(same, page);
    const silent = json<Page<{ name: string }>>(await wsus('report', 'not-reporting', '--days', '60', '--json'));
    assert.deepEqual(silent.rows.map((r) => r.name), ['pc-c.corp.test', 'pc-a.corp.test', 'pc-d.corp.test']);

    const update = await wsus('report', 'update', fleet.u[2]!);
    assert.equal(update.status, 0, update.stderr);
    assert.match(update.stdout, /failed \(1\):\n\s+pc-a\.corp\.test\s+10\.0\.0\.1\s+Ring0\s+0x80246007/);
    const computer = await wsus('report', 'computer', 'pc-a');
    assert.equal(computer.status, 0, computer.stderr);
    assert.match(computer.stdout, /^pc-a\.corp\.test\n\s+client id/);
    assert.match(computer.stdout, /recent events \(2\):\n.*Installation failed 0x80246007/);

    const failures: Array<[string[], number, RegExp]> = [
      [['report', 'updates', '--state', 'bogus'], 2, /unknown state "bogus"/],
      [['report', 'groups', '--state', 'failed'], 2, /unknown option --state/],
      [['report', 'updates', '--format', 'xml'], 2, /--format must be table, csv, json/],
      [['report', 'update', fleet.u[0]!, '--format', 'csv'], 2, /--format must be table, json/],
      [['report', 'updates', 'extra'], 2, /takes no arguments/],
      [['report', 'bogus'], 2, /usage: wsus report/],
      [['report', 'updates', '--limit', '0'], 2, /--limit must be/],
      [['report', 'computers', '--group', 'Nowhere'], 3, /group "Nowhere" not found/],
      [['report', 'computer', 'ghost'], 3, /computer "ghost" not found/],
      [['report', 'update'], 2, /exactly one update/],
    ];
    for (const [args, code, message] of failures) {
      const r = await wsus(...args);
      assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
  });
});
