import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import type { DeploymentsResult } from '../src/core/server-sync/server-sync-model.js';
import { ROOT_PARENT_GROUP } from '../src/core/server-sync/server-sync-model.js';
import { ALL_COMPUTERS_ID, UNASSIGNED_COMPUTERS_ID } from '../src/core/targeting/builtin-groups.js';
import type { MirroredApproval } from '../src/store/targeting-mirror.store.js';
import { readCounter } from '../src/store/server-identity.store.js';
import { upstreamHarness, type UpstreamHarness } from './support/upstream-harness.js';

// The targeting-store functions a replica uses to mirror its upstream, including a chain
// upstream → replica → replica's own downstream.

const catalog = generateCatalog({ updates: 40, seed: 5 });
const docs = [...catalog.documents];
const bundle = catalog.summary.interesting.bundle!;
const standalone = catalog.summary.interesting.standalone!;

const noFilter = { anchor: null, getConfig: true, get63LanguageOnly: false, categories: null, classifications: null, languages: null };

function deploymentsOf(h: UpstreamHarness, anchor: string | null): DeploymentsResult {
  const { session } = h.session();
  return h.role.deployments(session, anchor, h.role.revisionIdList(session, noFilter).anchor);
}

/** What the replica merge does with one GetDeployments answer. */
function mirror(replica: UpstreamHarness, d: DeploymentsResult) {
  const t = replica.admin.targeting;
  const now = new Date();
  const groups = t.replaceGroupsFromUpstream(d.groups, now);
  const declined = t.setDeclinedSet(d.hiddenUpdates, now);
  for (const guid of d.deadDeployments) t.removeMirroredApproval(guid, now);
  const approvals = t.upsertMirroredApprovals(d.deployments.map((x): MirroredApproval => ({
    updateId: x.updateId, groupId: x.targetGroupId, action: x.action === 0 ? 'Install' : 'Uninstall', deadline: x.deadline,
    upstreamDeploymentGuid: x.deploymentGuid, approvedBy: x.adminName, approvedAt: x.goLiveTime,
  })), now);
  return { groups, declined, approvals };
}

const deploymentSeqOf = (h: UpstreamHarness, updateId: string): number =>
  (h.admin.db.prepare('SELECT deployment_change_seq AS s FROM updates WHERE update_id = ?').get(updateId) as { s: number }).s;

test('a replica chain carries groups, deployments, dead deployments and declines with the upstream GUIDs', (t) => {
  const up = upstreamHarness();
  const replica = upstreamHarness();
  t.after(() => { up.close(); replica.close(); });
  up.importDocs(docs);
  replica.importDocs(docs.filter((d) => d.updateId !== standalone.updateId));
  const ring = up.admin.targeting.createGroup('Ring0', undefined, new Date());
  const child = up.admin.targeting.createGroup('Ring0-Servers', 'Ring0', new Date());
  up.admin.targeting.approve(bundle.updateId, 'Ring0-Servers', 'Install', '2026-12-01T00:00:00.000Z', 'alice', new Date());
  up.admin.targeting.approve(standalone.updateId, 'Ring0', 'Install', null, 'alice', new Date());

  const first = deploymentsOf(up, null);
  const before = deploymentSeqOf(replica, bundle.updateId);
  const r1 = mirror(replica, first);
  assert.deepEqual(r1.groups, { added: 2, updated: 0, removed: 0, approvalsRemoved: 0 });
  assert.deepEqual(r1.approvals, { applied: 1, unchanged: 0, 'unknown-update': 1, 'unknown-group': 0, declined: 0 });
  assert.ok(deploymentSeqOf(replica, bundle.updateId) > before, 'clients of the replica see the change');
  assert.deepEqual(replica.admin.targeting.groups().find((g) => g.id === child.id), { id: child.id, name: 'Ring0-Servers', parentId: ring.id });
  const approval = replica.admin.targeting.approvals().find((a) => a.updateId === bundle.updateId)!;
  assert.equal(approval.groupId, child.id);
  assert.equal(approval.deadline, '2026-12-01T00:00:00.000Z');

  // The replica's own downstreams see the upstream's deployment GUID.
  const chained = deploymentsOf(replica, null);
  assert.deepEqual(chained.deployments.map((d) => d.deploymentGuid), first.deployments.filter((d) => d.updateId === bundle.updateId).map((d) => d.deploymentGuid));
  // Applying the same answer again changes nothing.
  const seq = readCounter(replica.admin.db, 'change_seq');
  assert.deepEqual(mirror(replica, first).approvals.unchanged, 1);
  assert.equal(readCounter(replica.admin.db, 'change_seq'), seq);

  // Upstream re-approves, then declines: the replica and its downstreams follow.
  up.admin.targeting.approve(bundle.updateId, 'Ring0-Servers', 'Uninstall', null, 'bob', new Date());
  const second = deploymentsOf(up, first.anchor);
  mirror(replica, second);
  assert.equal(replica.admin.targeting.approvals().find((a) => a.updateId === bundle.updateId)!.action, 'Uninstall');
  const chained2 = deploymentsOf(replica, chained.anchor);
  assert.deepEqual(chained2.deadDeployments, [chained.deployments[0]!.deploymentGuid]);
  assert.deepEqual(chained2.deployments.map((d) => d.deploymentGuid), second.deployments.map((d) => d.deploymentGuid));

  up.admin.targeting.setDeclined(bundle.updateId, true, new Date());
  const third = deploymentsOf(up, second.anchor);
  const r3 = mirror(replica, third);
  assert.deepEqual(r3.declined, { declined: 1, undeclined: 0, unknown: 0 });
  assert.deepEqual(replica.admin.targeting.approvals(), []);
  const chained3 = deploymentsOf(replica, chained2.anchor);
  assert.deepEqual(chained3.hiddenUpdates, [bundle.updateId]);
  assert.deepEqual(chained3.deadDeployments, [second.deployments[0]!.deploymentGuid]);
});

test('replaceGroupsFromUpstream renames, moves and removes groups; built-ins stay', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  h.importDocs(docs);
  const tg = h.admin.targeting;
  const a = tg.createGroup('A', undefined, new Date());
  const b = tg.createGroup('B', undefined, new Date());
  const local = tg.createGroup('LocalOnly', undefined, new Date());
  tg.approve(bundle.updateId, 'LocalOnly', 'Install', null, 'x', new Date());
  h.admin.db.prepare(`INSERT INTO computers (client_id, dns_name, assigned_group_id, registered_at) VALUES ('c1', 'pc1', ?, '2026-01-01')`).run(local.id);
  const fresh = randomUUID();
  const counts = tg.replaceGroupsFromUpstream([
    { id: ALL_COMPUTERS_ID, parentId: ROOT_PARENT_GROUP, name: 'All Computers', isBuiltin: true },
    { id: UNASSIGNED_COMPUTERS_ID, parentId: ALL_COMPUTERS_ID, name: 'Unassigned Computers', isBuiltin: true },
    // A and B swap names; B moves under a group that arrives after it.
    { id: a.id, parentId: ALL_COMPUTERS_ID, name: 'B', isBuiltin: false },
    { id: b.id, parentId: fresh, name: 'A', isBuiltin: false },
    { id: fresh.toUpperCase(), parentId: ALL_COMPUTERS_ID, name: 'LocalOnly', isBuiltin: false },
  ], new Date());
  assert.deepEqual(counts, { added: 1, updated: 2, removed: 1, approvalsRemoved: 1 });
  const byId = new Map(tg.groups().map((g) => [g.id, g]));
  assert.equal(byId.size, 5);
  assert.deepEqual(byId.get(b.id), { id: b.id, name: 'A', parentId: fresh });
  assert.equal(byId.get(a.id)!.name, 'B');
  assert.equal(byId.get(fresh)!.name, 'LocalOnly');
  assert.ok(!byId.has(local.id));
  assert.equal((h.admin.db.prepare("SELECT assigned_group_id AS g FROM computers WHERE client_id = 'c1'").get() as { g: string | null }).g, null);
  assert.deepEqual(tg.approvals(), []);
  const tombstones = h.admin.db.prepare('SELECT count(*) AS n FROM deployment_tombstones').get() as { n: number };
  assert.equal(tombstones.n, 1);
  assert.deepEqual(tg.replaceGroupsFromUpstream([...tg.groups()].map((g) => ({ id: g.id, parentId: g.parentId ?? ROOT_PARENT_GROUP, name: g.name, isBuiltin: false })), new Date()),
    { added: 0, updated: 0, removed: 0, approvalsRemoved: 0 });
});

test('mirrored approvals: unknown groups and declined updates are reported; removal by GUID', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  h.importDocs(docs);
  const tg = h.admin.targeting;
  const guid = randomUUID();
  const base: MirroredApproval = {
    updateId: bundle.updateId.toUpperCase(), groupId: ALL_COMPUTERS_ID, action: 'Install', deadline: '9999-12-31T23:59:59.9999999',
    upstreamDeploymentGuid: guid.toUpperCase(), approvedBy: 'up', approvedAt: '2026-10-01T00:00:00.000Z',
  };
  assert.equal(tg.upsertMirroredApproval({ ...base, groupId: randomUUID() }, new Date()), 'unknown-group');
  assert.equal(tg.upsertMirroredApproval({ ...base, updateId: randomUUID() }, new Date()), 'unknown-update');
  assert.equal(tg.upsertMirroredApproval(base, new Date()), 'applied');
  assert.equal(tg.upsertMirroredApproval(base, new Date()), 'unchanged');
  assert.deepEqual(tg.approvals().map((a) => [a.updateId, a.deadline, a.approvedAt]), [[bundle.updateId, null, '2026-10-01T00:00:00.000Z']]);
  tg.setDeclined(standalone.updateId, true, new Date());
  assert.equal(tg.upsertMirroredApproval({ ...base, updateId: standalone.updateId }, new Date()), 'declined');
  assert.equal(tg.removeMirroredApproval(randomUUID(), new Date()), false);
  const seq = deploymentSeqOf(h, bundle.updateId);
  assert.equal(tg.removeMirroredApproval(guid, new Date()), true);
  assert.deepEqual(tg.approvals(), []);
  assert.ok(deploymentSeqOf(h, bundle.updateId) > seq);
  const dead = h.admin.db.prepare('SELECT deployment_guid FROM deployment_tombstones').pluck().all();
  assert.deepEqual(dead, [guid]);
  // The upstream re-issuing that deployment revives it.
  assert.equal(tg.upsertMirroredApproval(base, new Date()), 'applied');
  assert.deepEqual(h.admin.db.prepare('SELECT deployment_guid FROM deployment_tombstones').pluck().all(), []);
});

test('setDeclinedSet declines exactly the given set and bumps only what changed', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  h.importDocs(docs);
  const tg = h.admin.targeting;
  tg.setDeclined(standalone.updateId, true, new Date());
  const untouched = docs.find((d) => d.kind === 'standalone' && d.updateId !== standalone.updateId)!.updateId;
  const seqUntouched = deploymentSeqOf(h, untouched);
  assert.deepEqual(tg.setDeclinedSet([bundle.updateId.toUpperCase(), randomUUID()], new Date()), { declined: 1, undeclined: 1, unknown: 1 });
  const declined = h.admin.db.prepare('SELECT update_id FROM updates WHERE declined = 1').pluck().all();
  assert.deepEqual(declined, [bundle.updateId]);
  assert.equal(deploymentSeqOf(h, untouched), seqUntouched);
  const seq = readCounter(h.admin.db, 'change_seq');
  assert.deepEqual(tg.setDeclinedSet([bundle.updateId], new Date()), { declined: 0, undeclined: 0, unknown: 0 });
  assert.equal(readCounter(h.admin.db, 'change_seq'), seq);
});
