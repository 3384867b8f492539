import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rollupResetGuid } from '../src/core/server-sync/derived-guid.js';
import { DSS_ID, fault, upstreamHarness } from './support/upstream-harness.js';

// Reporting rollup from downstream servers: configuration, storage, out-of-sync detection,
// batch limits, and how a rollup caller with the spec's dummy cookie is identified.

const computer = (id: string, extra: Record<string, string> = {}) => ({
  computerId: id,
  fields: { ComputerId: id, LastSyncTime: '2026-10-04T10:00:00Z', ParentServerId: DSS_ID, ...extra },
});

test('GetRollupConfiguration: detailed rollup, WSUS batch sizes, a reset GUID stable per server', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  assert.deepEqual(h.role.rollupConfiguration(), {
    doDetailedRollup: true, rollupResetGuid: rollupResetGuid(h.serverId), serverId: h.serverId,
    rollupDownstreamServersMaxBatchSize: 5000, rollupComputersMaxBatchSize: 1500,
    getOutOfSyncComputersMaxBatchSize: 20000, rollupComputerStatusMaxBatchSize: 500,
  });
});

test('rollup callers: a real cookie, or the dummy one from a downstream that authenticated here', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  assert.equal(fault(() => h.role.rollupSession(null, [DSS_ID])), 'InvalidCookie');
  const { cookie } = h.session();
  assert.equal(h.role.rollupSession(cookie, []).serverId, DSS_ID);
  assert.deepEqual(h.role.rollupSession('', ['not-a-guid', randomUUID(), DSS_ID.toUpperCase()]), {
    serverId: DSS_ID, fqdn: 'dss.lab.invalid', protocolVersion: '1.20',
  });
  assert.equal(fault(() => h.role.rollupSession(null, [randomUUID()])), 'InvalidCookie');
});

test('RollupDownstreamServers stores the latest batch on the calling downstream', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  const { session } = h.session();
  const records = [{ ServerId: DSS_ID, FullDomainName: 'dss.lab.invalid', Version: '10.0.26100', IsReplica: 'true' }];
  h.role.rollupDownstreamServers(session, '2026-10-04T16:00:00Z', records);
  const row = h.admin.db.prepare('SELECT rollup, last_rollup_at FROM downstream_servers WHERE server_id = ?').get(DSS_ID) as { rollup: string; last_rollup_at: string };
  assert.deepEqual(JSON.parse(row.rollup), records);
  assert.equal(row.last_rollup_at, new Date(h.now.ms).toISOString());
  assert.equal(fault(() => h.role.rollupDownstreamServers(session, null, Array(5001).fill(records[0]))), 'InvalidParameters:downstreamServers');
});

test('RollupComputers stores computers and asks for Details of new ones sent without', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  const { session } = h.session();
  const changed = h.role.rollupComputers(session, null, [computer('pc1'), computer('pc2', { FullDomainName: 'pc2.lab', OSMajorVersion: '10' })]);
  assert.deepEqual(changed, [{ computerId: 'pc1', change: 'NewParent' }]);
  assert.deepEqual(h.role.rollupComputers(session, null, [computer('pc1', { FullDomainName: 'pc1.lab' })]), []);
  // Known computers stay known; details sent earlier survive a record without them.
  assert.deepEqual(h.role.rollupComputers(session, null, [computer('pc1', { LastSyncTime: '2026-10-04T11:00:00Z' })]), []);
  const info = JSON.parse((h.admin.db.prepare("SELECT info FROM rollup_computers WHERE computer_id = 'pc1'").get() as { info: string }).info);
  assert.equal(info.FullDomainName, 'pc1.lab');
  assert.equal(info.LastSyncTime, '2026-10-04T11:00:00Z');
  // An older record does not overwrite a newer one.
  h.role.rollupComputers(session, null, [computer('pc1', { LastSyncTime: '2026-10-01T00:00:00Z', FullDomainName: 'old' })]);
  const again = JSON.parse((h.admin.db.prepare("SELECT info FROM rollup_computers WHERE computer_id = 'pc1'").get() as { info: string }).info);
  assert.equal(again.FullDomainName, 'pc1.lab');
  // Moving to another parent server is news too.
  const moved = computer('pc2', { ParentServerId: randomUUID(), LastSyncTime: '2026-10-05T00:00:00Z' });
  assert.deepEqual(h.role.rollupComputers(session, null, [moved]), [{ computerId: 'pc2', change: 'NewParent' }]);
  assert.equal(fault(() => h.role.rollupComputers(session, null, Array.from({ length: 1501 }, (_, i) => computer(`c${i}`)))), 'InvalidParameters:computers');
  assert.equal(fault(() => h.role.rollupComputers(session, null, [computer('')])), 'InvalidParameters:computers');
});

test('status rollup: out-of-sync computers, full rollups replace, deltas keep the newest', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  const { session } = h.session();
  h.role.rollupComputers(session, null, [computer('pc1'), computer('pc2')]);
  assert.deepEqual(h.role.getOutOfSyncComputers(session, DSS_ID, [{ computerId: 'pc1', lastRollupNumber: 0 }, { computerId: 'pcX', lastRollupNumber: 4 }]), ['pc1', 'pcX']);
  const u1 = randomUUID();
  const u2 = randomUUID();
  const status = (n: number, full: boolean, statuses: Array<[string, number, string]>) => ({
    computerId: 'pc1',
    fields: { RollupNumber: String(n), IsFullRollup: String(full), EffectiveLastDetectionTime: '2026-10-04T09:00:00Z' },
    statuses: statuses.map(([updateId, summarizationState, lastChangeTime]) => ({ updateId, revisionNumber: 200, summarizationState, lastChangeTime })),
  });
  assert.equal(h.role.rollupComputerStatus(session, null, DSS_ID, [status(1, true, [[u1, 2, '2026-10-04T08:00:00Z'], [u2, 4, '2026-10-04T08:00:00Z']])]), true);
  assert.deepEqual(h.role.getOutOfSyncComputers(session, DSS_ID, [{ computerId: 'pc1', lastRollupNumber: 1 }]), []);
  assert.deepEqual(h.role.getOutOfSyncComputers(session, DSS_ID, [{ computerId: 'pc1', lastRollupNumber: 2 }]), ['pc1']);
  const states = () => Object.fromEntries((h.admin.db.prepare("SELECT update_id, state FROM rollup_update_status WHERE computer_id = 'pc1'").all() as Array<{ update_id: string; state: number }>).map((r) => [r.update_id, r.state]));
  // A delta: u1 installed later; a stale change for u2 is ignored.
  h.role.rollupComputerStatus(session, null, DSS_ID, [status(2, false, [[u1, 4, '2026-10-04T12:00:00Z'], [u2, 5, '2026-10-01T00:00:00Z']])]);
  assert.deepEqual(states(), { [u1]: 4, [u2]: 4 });
  // A full rollup replaces everything.
  h.role.rollupComputerStatus(session, null, DSS_ID, [status(3, true, [[u2, 0, '2026-10-04T13:00:00Z']])]);
  assert.deepEqual(states(), { [u2]: 0 });
  assert.equal(fault(() => h.role.rollupComputerStatus(session, null, DSS_ID, Array(501).fill(status(4, true, [])))), 'InvalidParameters:computers');
  assert.equal(fault(() => h.role.getOutOfSyncComputers(session, DSS_ID, Array(20001).fill({ computerId: 'pc1', lastRollupNumber: 1 }))), 'InvalidParameters:lastRollupNumbers');
});
