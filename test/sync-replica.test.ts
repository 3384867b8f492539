import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { ALL_COMPUTERS_ID, UNASSIGNED_COMPUTERS_ID } from '../src/core/targeting/builtin-groups.js';
import { ROOT_PARENT_GROUP } from '../src/core/server-sync/server-sync-model.js';
import { assertLocalChangesAllowed } from '../src/services/sync/replica-guard.js';
import { syncState } from '../src/services/sync/sync-state.js';
import { createSyncStore } from '../src/store/sync.store.js';
import { DomainError } from '../src/core/errors.js';
import { harness } from './support/sync-harness.js';

// Replica mode: groups, approvals, dead deployments and declines come from the upstream
// through the targeting store's mirror, with the deployment anchor saved in the same commit.

const PILOT = '7d2f4c1e-1111-4a3b-9c8d-000000000001';
const RING2 = '7d2f4c1e-1111-4a3b-9c8d-000000000002';

test('replica mirrors groups, Install/Uninstall approvals, dead deployments and declines', async () => {
  const h = harness({ mode: 'replica' });
  try {
    const docs = [...generateCatalog({ updates: 20, seed: 13 }).documents];
    h.fake.addAll(docs.map((d) => d.xml));
    const latest = new Map<string, number>();
    for (const d of docs) latest.set(d.updateId, Math.max(latest.get(d.updateId) ?? 0, d.revisionNumber));
    const tops = docs.filter((d) => (d.kind === 'bundle' || d.kind === 'standalone') && latest.get(d.updateId) === d.revisionNumber).map((d) => d.updateId);
    const [u1, u2, u3, u4, u5] = tops;
    h.fake.groups = [
      { id: ALL_COMPUTERS_ID, parentId: ROOT_PARENT_GROUP, name: 'All Computers', isBuiltin: true },
      { id: UNASSIGNED_COMPUTERS_ID, parentId: ALL_COMPUTERS_ID, name: 'Unassigned Computers', isBuiltin: true },
      { id: PILOT, parentId: ALL_COMPUTERS_ID, name: 'Pilot', isBuiltin: false },
      { id: RING2, parentId: PILOT, name: 'Ring 2', isBuiltin: false },
    ];
    h.fake.deploy({ updateId: u1!, action: 0, deploymentGuid: 'aaaaaaaa-0000-4000-8000-000000000001', targetGroupId: PILOT, deadline: '2030-01-01T00:00:00.000Z' });
    h.fake.deploy({ updateId: u2!, action: 1, deploymentGuid: 'aaaaaaaa-0000-4000-8000-000000000002', targetGroupId: RING2, deadline: null });
    h.fake.deploy({ updateId: u3!, action: 2, deploymentGuid: 'aaaaaaaa-0000-4000-8000-000000000003', targetGroupId: PILOT, deadline: null });
    h.fake.deploy({ updateId: u4!, action: 0, deploymentGuid: 'aaaaaaaa-0000-4000-8000-000000000004', targetGroupId: ALL_COMPUTERS_ID, deadline: null });
    h.fake.hidden = [u5!];

    const r = await h.service().run({ trigger: 'cli' });
    assert.equal(r.state, 'succeeded', r.error ?? '');
    const d = r.counts.deployments!;
    assert.equal(d.groups, 4);
    assert.equal(d.approvals, 3);
    assert.equal(d.skipped.scanOrBlock, 1);
    const names = h.targeting.groups().map((g) => g.name).sort();
    assert.deepEqual(names, ['All Computers', 'Pilot', 'Ring 2', 'Unassigned Computers']);
    const approvals = h.targeting.approvals().map((a) => `${a.updateId}|${a.groupId}|${a.action}|${a.deadline}`).sort();
    assert.deepEqual(approvals, [
      `${u1}|${PILOT}|Install|2030-01-01T00:00:00.000Z`,
      `${u2}|${RING2}|Uninstall|null`,
      `${u4}|${ALL_COMPUTERS_ID}|Install|null`,
    ].sort());
    const declined = h.db.prepare('SELECT update_id FROM updates WHERE declined = 1').all() as Array<{ update_id: string }>;
    assert.deepEqual(declined.map((x) => x.update_id), [u5]);
    const st = syncState(createSyncStore(h.db));
    const firstDeploymentAnchor = st.anchor('deployments');
    assert.ok(firstDeploymentAnchor);
    const depCall = h.fake.calls.find((c) => c.op === 'deployments')!.arg as { deploymentAnchor: string | null; syncAnchor: string };
    assert.equal(depCall.deploymentAnchor, null);
    assert.equal(depCall.syncAnchor, st.anchor('updates'), 'GetDeployments gets the updates anchor as syncAnchor');

    // incremental: one deployment dies, one is added, a group is removed upstream, the decline is lifted
    h.fake.killDeployment('aaaaaaaa-0000-4000-8000-000000000004');
    h.fake.deploy({ updateId: u5!, action: 0, deploymentGuid: 'aaaaaaaa-0000-4000-8000-000000000005', targetGroupId: PILOT, deadline: null });
    h.fake.groups = h.fake.groups.filter((g) => g.id !== RING2);
    h.fake.hidden = [];
    const r2 = await h.service().run({ trigger: 'schedule' });
    assert.equal(r2.state, 'succeeded', r2.error ?? '');
    const depCall2 = h.fake.calls.filter((c) => c.op === 'deployments').at(-1)!.arg as { deploymentAnchor: string | null };
    assert.equal(depCall2.deploymentAnchor, firstDeploymentAnchor, 'the second call carries the saved deployment anchor');
    assert.deepEqual(h.targeting.approvals().map((a) => `${a.updateId}|${a.groupId}|${a.action}`).sort(), [
      `${u1}|${PILOT}|Install`,
      `${u5}|${PILOT}|Install`,
    ].sort());
    assert.equal((h.db.prepare('SELECT count(*) AS n FROM updates WHERE declined = 1').get() as { n: number }).n, 0);
    assert.ok(!h.targeting.groups().some((g) => g.id === RING2));
  } finally {
    h.close();
  }
});

test('local approvals, declines and groups are refused on a replica', () => {
  const replica = harness({ mode: 'replica' });
  const autonomous = harness();
  try {
    assert.throws(() => assertLocalChangesAllowed(replica.config), (e: unknown) =>
      e instanceof DomainError && e.code === 'Conflict'
      && e.message === 'this server is a replica of http://upstream.test:8530: approvals, declines and groups come from the upstream');
    assert.doesNotThrow(() => assertLocalChangesAllowed(autonomous.config));
  } finally {
    replica.close();
    autonomous.close();
  }
});
