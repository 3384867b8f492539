import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import type { Page, UpdateStatusDetail, UpdateStatusRow, ComputerStatusRow } from '../src/core/reporting/report-types.js';
import { importInto, withServer } from './support/test-server.js';
import { cliFor, json } from './support/admin-cli.js';
import { reportingEvent, WuaClient } from './support/wua-client.js';

// "Done when": a small fleet of simulated Windows Update clients scans, downloads, installs,
// fails and reboots through the real SOAP endpoints, and the reports show what real WSUS would:
// per update (installed, failed, pending reboot, downloaded, not applicable, unknown), per
// computer, and the failures with their HRESULT — through the admin API and `wsus report`.

const catalog = generateCatalog({ updates: 30, seed: 5 });
const sources = [...catalog.documents].map((d) => ({ name: d.fileName, read: () => d.xml }));
const ZERO = '00000000-0000-0000-0000-000000000000';
const E_FAIL_INSTALL = 0x80246007 | 0;

test('a fleet that scans, downloads, installs, fails and reboots shows the statuses real WSUS would', async () => {
  await withServer({}, (config) => void importInto(config, sources), async (server) => {
    const [target, other] = server.db.prepare<[], string>(
      `SELECT s.update_id FROM update_summary s WHERE s.update_type = 'Software' AND s.explicitly_deployable = 1
        AND s.publication_state != 'Expired' ORDER BY s.update_pk LIMIT 2`).pluck().all() as [string, string];
    const T = target.toUpperCase();
    const O = other.toUpperCase();
    const names = ['installs', 'fails', 'reboots', 'downloads', 'unaffected', 'silent'];
    const pc: Record<string, WuaClient> = {};
    for (const n of names) {
      pc[n] = new WuaClient(server.url, randomUUID(), { dnsName: `${n}.fleet.test` });
      await pc[n]!.handshake();
      await pc[n]!.fullScan();
    }
    // What each agent reports after its scan and install pass (one batch each, as agents send them).
    const at = new Date(Date.now() + 60_000).toISOString();
    const send = async (n: string, events: Array<[number, string, string[], number?]>): Promise<void> => {
      const c = pc[n]!;
      const xml = events.map(([id, upd, misc, hr]) => reportingEvent(c.clientId, id, randomUUID(), upd, misc, { time: at, hresult: hr ?? 0 })).join('');
      const r = await c.report(xml);
      assert.match(r.text, /<ReportEventBatchResult>true<\/ReportEventBatchResult>/, n);
    };
    await send('installs', [[147, ZERO, ['B=1']], [156, ZERO, [`U=${T}`, `V=${O}`]], [162, target, ['B=1048576']], [181, target, []], [183, target, ['D=1']]]);
    await send('fails', [[147, ZERO, ['B=1']], [156, ZERO, [`U=${T};${O}`]], [162, target, []], [181, target, []], [182, target, [], E_FAIL_INSTALL]]);
    await send('reboots', [[156, ZERO, [`U=${T}`]], [162, target, []], [184, target, []]]);
    await send('downloads', [[156, ZERO, [`U=${T}`]], [162, target, []]]);
    await send('unaffected', [[156, ZERO, [`V=${O}`]]]);
    // 'silent' registered and scanned but never reports: Unknown.

    const wsus = cliFor(server, 'reporter', 'fleet-viewer');
    const detail = json<UpdateStatusDetail>(await wsus('report', 'update', target, '--json'));
    assert.deepEqual(
      { ...detail.counts, compliancePercent: detail.counts.compliancePercent },
      { unknown: 1, notApplicable: 1, needed: 0, downloaded: 1, installed: 1, failed: 1, pendingReboot: 1, required: 3, compliancePercent: 40 },
    );
    const who = (state: keyof UpdateStatusDetail['computers']): string[] => (detail.computers[state]?.rows ?? []).map((c) => c.name).sort();
    assert.deepEqual(who('failed'), ['fails.fleet.test']);
    assert.equal(detail.computers.failed!.rows[0]!.hresult, '0x80246007');
    assert.deepEqual(who('pending-reboot'), ['reboots.fleet.test']);
    assert.deepEqual(who('downloaded'), ['downloads.fleet.test']);
    assert.deepEqual(who('installed'), ['installs.fleet.test']);

    // Per computer: the one that failed shows it, with the other update still needed.
    const failing = json<Page<ComputerStatusRow>>(await wsus('report', 'computers', '--state', 'failed', '--json'));
    assert.deepEqual(failing.rows.map((r) => [r.name, r.counts.failed, r.counts.needed]), [['fails.fleet.test', 1, 1]]);
    const csv = await wsus('report', 'failures', '--format', 'csv');
    assert.equal(csv.status, 0, csv.stderr);
    assert.match(csv.stdout, /fails\.fleet\.test.*0x80246007/);

    // The reboot completes the pending install; a fresh scan of the failed machine after a retry that worked.
    const later = new Date(Date.now() + 120_000).toISOString();
    await pc.reboots!.report(reportingEvent(pc.reboots!.clientId, 202, randomUUID(), ZERO, [], { time: later }));
    await pc.fails!.report(reportingEvent(pc.fails!.clientId, 183, randomUUID(), target, [], { time: later }) +
      reportingEvent(pc.fails!.clientId, 156, randomUUID(), ZERO, [`V=${T}`, `U=${O}`], { time: later }));
    const row = json<Page<UpdateStatusRow>>(await wsus('report', 'updates', '--text', detail.update.title, '--json')).rows.find((u) => u.updateId === target)!;
    assert.deepEqual([row.counts.installed, row.counts.failed, row.counts.pendingReboot, row.counts.required], [3, 0, 0, 1]);
    assert.equal(json<Page<unknown>>(await wsus('report', 'failures', '--json')).total, 0);
  });
});
