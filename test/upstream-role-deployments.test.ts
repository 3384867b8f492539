import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { deploymentGuid } from '../src/core/server-sync/derived-guid.js';
import { formatAnchor } from '../src/core/server-sync/anchor.js';
import { ROOT_PARENT_GROUP } from '../src/core/server-sync/server-sync-model.js';
import { ALL_COMPUTERS_ID, UNASSIGNED_COMPUTERS_ID } from '../src/core/targeting/builtin-groups.js';
import { readCounter } from '../src/store/server-identity.store.js';
import { fault, upstreamHarness, type UpstreamHarness } from './support/upstream-harness.js';

// GetDeployments across anchors: approvals, re-approvals, unapprovals and declines as a
// replica downstream sees them, and EULA acceptance.

const catalog = generateCatalog({ updates: 40, seed: 5 });
const docs = [...catalog.documents];
const bundle = catalog.summary.interesting.bundle!;
const standalone = catalog.summary.interesting.standalone!;
const eula = catalog.summary.interesting.withEula!;

/** What a replica does each sync: GetRevisionIdList for the sync anchor, then GetDeployments. */
function sync(h: UpstreamHarness, deploymentAnchor: string | null) {
  const { session } = h.session();
  const syncAnchor = h.role.revisionIdList(session, {
    anchor: null, getConfig: true, get63LanguageOnly: false, categories: null, classifications: null, languages: null,
  }).anchor;
  return h.role.deployments(session, deploymentAnchor, syncAnchor);
}

test('groups, deployments and anchors: approve, re-approve, unapprove, decline', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  h.importDocs(docs);
  const admin = h.admin.targeting;
  const pilot = admin.createGroup('Pilot', undefined, new Date());

  const empty = sync(h, null);
  assert.deepEqual(empty.deployments, []);
  assert.deepEqual(empty.deadDeployments, []);
  assert.deepEqual(empty.hiddenUpdates, []);
  const groups = new Map(empty.groups.map((g) => [g.id, g]));
  assert.deepEqual(groups.get(ALL_COMPUTERS_ID), { id: ALL_COMPUTERS_ID, parentId: ROOT_PARENT_GROUP, name: 'All Computers', isBuiltin: true });
  assert.deepEqual(groups.get(UNASSIGNED_COMPUTERS_ID)?.parentId, ALL_COMPUTERS_ID);
  assert.deepEqual(groups.get(pilot.id), { id: pilot.id, parentId: ALL_COMPUTERS_ID, name: 'Pilot', isBuiltin: false });

  const a1 = admin.approve(bundle.updateId, 'Pilot', 'Install', '2026-11-01T00:00:00.000Z', 'alice', new Date('2026-10-05T08:00:00Z'));
  const afterApprove = sync(h, empty.anchor);
  assert.deepEqual(afterApprove.deployments, [{
    updateId: bundle.updateId, revisionNumber: bundle.revisionNumber, action: 0, adminName: 'alice',
    deadline: '2026-11-01T00:00:00.000Z', isAssigned: true, goLiveTime: '2026-10-05T08:00:00.000Z',
    deploymentGuid: deploymentGuid(h.serverId, a1.deploymentId), targetGroupId: pilot.id, downloadPriority: 1,
  }]);
  assert.deepEqual(sync(h, afterApprove.anchor).deployments, []);

  // Re-approving replaces the deployment: the new one arrives, the old one dies.
  const a2 = admin.approve(bundle.updateId, 'Pilot', 'Uninstall', null, 'bob', new Date());
  const afterReapprove = sync(h, afterApprove.anchor);
  assert.equal(afterReapprove.deployments.length, 1);
  assert.equal(afterReapprove.deployments[0]!.action, 1);
  assert.equal(afterReapprove.deployments[0]!.deadline, null);
  assert.equal(afterReapprove.deployments[0]!.deploymentGuid, deploymentGuid(h.serverId, a2.deploymentId));
  assert.deepEqual(afterReapprove.deadDeployments, [deploymentGuid(h.serverId, a1.deploymentId)]);

  admin.unapprove(bundle.updateId, 'Pilot', new Date());
  const afterUnapprove = sync(h, afterReapprove.anchor);
  assert.deepEqual(afterUnapprove.deployments, []);
  assert.deepEqual(afterUnapprove.deadDeployments, [deploymentGuid(h.serverId, a2.deploymentId)]);

  const a3 = admin.approve(standalone.updateId, 'All Computers', 'Install', null, 'carol', new Date());
  const a4 = admin.approve(standalone.updateId, 'Pilot', 'Install', null, 'carol', new Date());
  admin.setDeclined(standalone.updateId, true, new Date());
  const afterDecline = sync(h, afterUnapprove.anchor);
  assert.deepEqual(afterDecline.deployments, []);
  assert.deepEqual(new Set(afterDecline.deadDeployments), new Set([a3, a4].map((a) => deploymentGuid(h.serverId, a.deploymentId))));
  assert.deepEqual(afterDecline.hiddenUpdates, [standalone.updateId]);
  // Hidden updates are the full list every time; a first sync gets every live deployment.
  assert.deepEqual(sync(h, afterDecline.anchor).hiddenUpdates, [standalone.updateId]);
  admin.approve(bundle.updateId, 'All Computers', 'Install', null, 'dave', new Date());
  assert.deepEqual(sync(h, null).deployments.map((d) => d.updateId), [bundle.updateId]);
});

test('deployments stop at the sync anchor: later approvals wait for the next metadata sync', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  h.importDocs(docs);
  const { session } = h.session();
  const syncAnchor = h.role.revisionIdList(session, {
    anchor: null, getConfig: true, get63LanguageOnly: false, categories: null, classifications: null, languages: null,
  }).anchor;
  h.admin.targeting.approve(bundle.updateId, 'All Computers', 'Install', null, 'alice', new Date());
  const stale = h.role.deployments(session, null, syncAnchor);
  assert.deepEqual(stale.deployments, []);
  assert.equal(stale.anchor.split(',')[0], syncAnchor.split(',')[0]);
  assert.equal(sync(h, stale.anchor).deployments.length, 1);
});

test('an approval names the revision the downstream had at its sync anchor', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  const revised = docs.find((d) => d.kind === 'standalone' && d.revisionNumber > 200)!;
  h.importDocs(docs.filter((d) => d !== revised));
  const { session } = h.session();
  const syncAnchor = h.role.revisionIdList(session, {
    anchor: null, getConfig: true, get63LanguageOnly: false, categories: null, classifications: null, languages: null,
  }).anchor;
  h.importDocs([revised]);
  h.admin.targeting.approve(revised.updateId, 'All Computers', 'Install', null, 'alice', new Date());
  // Pretend the approval predates the anchor (as a DSS that synced metadata, then we imported r+1).
  h.admin.db.prepare('UPDATE approvals SET change_seq = 1').run();
  const d = h.role.deployments(session, null, syncAnchor).deployments;
  assert.deepEqual(d.map((x) => [x.updateId, x.revisionNumber]), [[revised.updateId, revised.revisionNumber - 1]]);
  assert.equal(sync(h, null).deployments[0]!.revisionNumber, revised.revisionNumber);
});

test('approving an update with a EULA accepts it: AcceptedEulas lists its EulaID', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  h.importDocs(docs);
  assert.deepEqual(sync(h, null).acceptedEulas, []);
  h.admin.targeting.approve(eula.updateId, 'All Computers', 'Uninstall', null, 'alice', new Date());
  assert.deepEqual(sync(h, null).acceptedEulas, [], 'an Uninstall approval accepts nothing');
  h.admin.targeting.approve(eula.updateId, 'Unassigned Computers', 'Install', null, 'alice', new Date());
  assert.deepEqual(sync(h, null).acceptedEulas, [eula.eulaId.toLowerCase()]);
});

test('GetDeployments anchors: syncAnchor required, malformed ones named, ahead of us ServerChanged', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  h.importDocs(docs.slice(0, 20));
  const { session } = h.session();
  const good = formatAnchor(readCounter(h.admin.db, 'change_seq'), new Date());
  assert.equal(fault(() => h.role.deployments(session, null, null)), 'InvalidParameters:syncAnchor');
  assert.equal(fault(() => h.role.deployments(session, null, '')), 'InvalidParameters:syncAnchor');
  assert.equal(fault(() => h.role.deployments(session, null, 'x')), 'InvalidParameters:syncAnchor');
  assert.equal(fault(() => h.role.deployments(session, 'x', good)), 'InvalidParameters:deploymentAnchor');
  assert.equal(fault(() => h.role.deployments(session, null, formatAnchor(10 ** 9, new Date()))), 'ServerChanged');
  assert.ok(h.role.deployments(session, '', good).groups.length >= 2);
});
