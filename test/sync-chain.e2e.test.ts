import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateCatalog, writeCatalog, type GeneratedDocument } from '../src/fixtures/catalog-generator.js';
import { documentSources, type UpdateDocumentSource } from '../src/services/import.service.js';
import { createContentStore } from '../src/services/content-store.service.js';
import { assertLocalChangesAllowed } from '../src/services/sync/replica-guard.js';
import { createSyncAdmin } from '../src/services/sync/sync-admin.js';
import { DomainError } from '../src/core/errors.js';
import { ALL_COMPUTERS_NAME } from '../src/core/targeting/builtin-groups.js';
import { cliFor } from './support/admin-cli.js';
import { child } from '../src/protocol/xml/xml-element.js';
import { projectRoot } from '../src/paths.js';
import { CAPTURES, capturesPresent, SKIP } from './support/captures.js';
import { adminHandle, importInto, quietLog, tempDataDir } from './support/test-server.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import {
  assertSameRevisions, currentKeys, downstreamOf, eventually, inScope, offers, productDeltas, scannedClient, startNode,
  type ChainNode,
} from './support/sync-chain.js';

// Loopback chains of real servers, each on its own data directory and port, synchronizing
// from each other over HTTP (MS-WSUSSS) as WSUS hierarchies do, with simulated Windows Update
// Agents scanning the ends of the chains. Recording proxies between the servers show what
// each downstream asked for. The `it`s of a describe are steps of one story and run in order.
//   1. A ← B (autonomous) ← C (replica of B): metadata in many GetUpdateData batches, B's own
//      approvals, declines and groups reaching C (A's staying on A), C refusing local changes,
//      then incremental syncs (new revisions, an expiry, a newly selected product).
//   2. A ← B' (replica) ← C' (replica): A's approvals, and later changes to them, reach a
//      client of C' exactly as they reach the same client of A.
//   3. Content through A ← B ← C with content 'approved': C's files come from B, which had
//      to fetch them from A first (404, DownloadFiles, next sync).

const MAIN = join(projectRoot, 'dist', 'src', 'cli', 'main.js');
const REAL_DOCS = join(CAPTURES, 'wsus-m0-wsusss', 'docs');
const DEFENDER_PRODUCT = '8c3fcc84-7410-4a95-8b89-a166a0190486';

const sourcesOf = (docs: Iterable<GeneratedDocument>): UpdateDocumentSource[] => [...docs].map((d) => ({ name: d.fileName, read: () => d.xml }));
/** The latest revision of every update of a kind that clients are offered (expired ones left out), in catalog order. */
const latestOf = (docs: Iterable<GeneratedDocument>, kind: GeneratedDocument['kind']): GeneratedDocument[] => {
  const latest = new Map<string, GeneratedDocument>();
  for (const d of docs) if (d.kind === kind && (latest.get(d.updateId)?.revisionNumber ?? -1) < d.revisionNumber) latest.set(d.updateId, d);
  return [...latest.values()].filter((d) => !d.xml.includes('PublicationState="Expired"'));
};
/** The document as a new revision: the root identity's RevisionNumber raised, optionally expired. */
function revise(doc: GeneratedDocument, revisionNumber: number, expired = false): UpdateDocumentSource {
  const root = `UpdateID="${doc.updateId}" RevisionNumber="${doc.revisionNumber}"`;
  assert.ok(doc.xml.toLowerCase().includes(root.toLowerCase()), `root identity of ${doc.fileName}`);
  let xml = doc.xml.replace(new RegExp(root, 'i'), `UpdateID="${doc.updateId}" RevisionNumber="${revisionNumber}"`);
  if (expired) xml = xml.replace(/PublicationState="Published"/, 'PublicationState="Expired"');
  assert.ok(!expired || xml.includes('PublicationState="Expired"'));
  return { name: `${doc.updateId}-r${revisionNumber}.xml`, read: () => xml };
}

function wsus(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, WSUS_LOG_LEVEL: 'error' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The nine real documents of the WSUS capture, plus the one category they lack: their
 * product (Microsoft Defender Antivirus), written in the shape of the real "OOBE ZDP" product
 * document, so that they are in scope for a downstream like the generated ones.
 */
function realDocuments(): UpdateDocumentSource[] {
  const real = documentSources([REAL_DOCS]);
  const template = readFileSync(join(REAL_DOCS, 'dd78b8a1-0b20-45c1-add6-4da72e9364cf-r202.xml'), 'utf8');
  const defender = template
    .replace('UpdateID="dd78b8a1-0b20-45c1-add6-4da72e9364cf" RevisionNumber="202"', `UpdateID="${DEFENDER_PRODUCT}" RevisionNumber="200"`)
    .replace('<upd:Title>OOBE ZDP</upd:Title>', '<upd:Title>Microsoft Defender Antivirus</upd:Title>');
  assert.ok(defender.includes(DEFENDER_PRODUCT) && defender.includes('Microsoft Defender Antivirus'));
  return [...real, { name: `${DEFENDER_PRODUCT}-r200.xml`, read: () => defender }];
}

describe('A ← B (autonomous) ← C (replica of B)', { skip: capturesPresent ? false : SKIP }, () => {
  const CAT = generateCatalog({ updates: 80, seed: 11 });
  /** a second catalog: its products, families and detectoids are new to A */
  const NEW = generateCatalog({ updates: 8, seed: 12 });
  let A: ChainNode;
  let B: ChainNode;
  let C: ChainNode;
  let toA: FaultProxy;
  let toB: FaultProxy;
  let selected: string[];

  before(async () => {
    A = await startNode('A', { upstreamRole: { maxUpdatesPerRequest: 25, compressBlobs: true } }, (config) => {
      // The real documents first: their company and Windows family documents are the ones kept.
      for (const part of [realDocuments(), sourcesOf(CAT.documents)]) {
        const r = importInto(config, part);
        assert.equal(r.failed, 0, JSON.stringify(r.failures));
      }
    });
    toA = await startFaultProxy(A.url);
    B = await startNode('B', {
      sync: downstreamOf(toA.url, 'b.chain.test'),
      upstreamRole: { maxUpdatesPerRequest: 25, compressBlobs: true },
    });
    toB = await startFaultProxy(B.url);
    C = await startNode('C', { sync: downstreamOf(toB.url, 'c.chain.test', { mode: 'replica' }) });
    // B's admin selects every product A has now, explicitly (by GUID: not synchronized yet).
    selected = A.admin((h) => (h.db.prepare("SELECT u.update_id AS id FROM updates u JOIN revisions r ON r.id = u.current_revision_id WHERE r.category_type = 'Product'").all() as Array<{ id: string }>).map((r) => r.id));
    assert.ok(selected.length >= 5 && selected.includes(DEFENDER_PRODUCT));
    B.admin((h) => createSyncAdmin(h.db).select('product', selected, true));
  });
  after(async () => {
    for (const n of [C, B, A]) await n?.close();
    await toA?.close();
    await toB?.close();
  });

  it('B and C end with exactly A\'s current revisions for B\'s products, fetched in many GetUpdateData batches', async () => {
    // An approval on A: an autonomous downstream keeps its own approvals.
    const standalone = latestOf(CAT.documents, 'standalone')[0]!;
    A.admin((h) => h.targeting.approve(standalone.updateId, ALL_COMPUTERS_NAME, 'Install', null, 'a-admin', new Date()));

    const rb = await B.sync();
    const scope = inScope(A.server.db, selected);
    assert.ok(scope.size > 300, `${scope.size} revisions in scope`);
    assertSameRevisions(A.server.db, B.server.db, scope, 'B');
    const listed = rb.counts.categories!.listed + rb.counts.updates!.listed;
    assert.equal(listed, scope.size);
    assert.equal(rb.counts.categories!.fetched + rb.counts.updates!.fetched, scope.size);
    assert.equal(toA.of('GetUpdateData').length, rb.counts.categories!.requests + rb.counts.updates!.requests);
    assert.ok(toA.of('GetUpdateData').length >= Math.ceil(scope.size / 25), `${toA.of('GetUpdateData').length} GetUpdateData calls`);
    assert.ok(currentKeys(B.server.db).has('a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe:200'), 'the real Defender bundle came through');
    assert.ok(toA.of('GetUpdateData').some((c) => c.response?.includes('<XmlUpdateBlobCompressed>TVNDRg')), 'large documents travelled as cabinets');
    assert.equal(B.server.db.prepare('SELECT count(*) AS n FROM approvals').pluck().get(), 0, 'A\'s approval stays on A');

    const rc = await C.sync();
    assertSameRevisions(A.server.db, C.server.db, scope, 'C');
    assert.equal(rc.counts.deployments!.approvals, 0);
    assert.equal(C.server.db.prepare('SELECT count(*) AS n FROM approvals').pluck().get(), 0);
  });

  it('approvals, declines and groups made on B reach C and its clients; A\'s approvals do not', async () => {
    const [installed, declined, piloted] = latestOf(CAT.documents, 'bundle').slice(0, 3).map((d) => d.updateId) as [string, string, string];
    const cached = await scannedClient(C.url);
    assert.ok(offers(cached).has(declined), 'the client of C has the update B is about to decline');

    const deadline = '2031-03-01T00:00:00.000Z';
    B.admin((h) => {
      h.targeting.createGroup('Pilot', undefined, new Date());
      h.targeting.createGroup('Ring 1', 'Pilot', new Date());
      h.targeting.approve(installed, ALL_COMPUTERS_NAME, 'Install', null, 'b-admin', new Date());
      h.targeting.approve(piloted, 'Ring 1', 'Install', deadline, 'b-admin', new Date());
      h.targeting.setDeclined(declined, true, new Date());
    });
    const rc = await C.sync();
    assert.equal(rc.counts.updates!.fetched, 0, 'no metadata changed');
    assert.equal(rc.counts.deployments!.approvals, 2);

    const groups = (n: ChainNode) => n.admin((h) => h.targeting.groups().map((g) => `${g.id} ${g.name} ${g.parentId}`).sort());
    assert.deepEqual(groups(C), groups(B), 'same groups, same ids, same tree');
    const approvals = (n: ChainNode) => n.admin((h) => h.targeting.approvals().map((a) => `${a.updateId} ${a.groupId} ${a.action} ${a.deadline}`).sort());
    assert.deepEqual(approvals(C), approvals(B));
    assert.equal(approvals(C).length, 2);
    // C mirrors B's declines exactly: the one made here, plus what B's default decline rules
    // (expired updates) declined after its own sync.
    const declinedOn = (n: ChainNode) => n.admin((h) => h.db.prepare('SELECT update_id FROM updates WHERE declined = 1 ORDER BY 1').pluck().all() as string[]);
    assert.deepEqual(declinedOn(C), declinedOn(B));
    assert.ok(declinedOn(C).includes(declined));

    // The cached client: the approval arrives as a changed deployment, the decline as out of scope.
    const cachedBefore = offers(cached);
    const page = await cached.syncPage();
    // The declined bundle is withdrawn, and with it its payloads (offered only as its members).
    const members = B.admin((h) => (JSON.parse(h.db.prepare('SELECT r.bundled_updates FROM updates u JOIN revisions r ON r.id = u.current_revision_id WHERE u.update_id = ?').pluck().get(declined) as string) as Array<{ updateId: string }>)
      .map((m) => m.updateId.toLowerCase()));
    const idOf = new Map([...cachedBefore].map(([id, o]) => [o.revisionId, id]));
    assert.deepEqual(page.outOfScope.map((r) => idOf.get(r)).sort(), [declined, ...members].sort(), 'the declined bundle and its members are withdrawn');
    assert.ok(!offers(cached).has(declined));
    // ChangedUpdates carry no Core: the client knows the revision by its id.
    const changed = page.changed.find((u) => u.revisionId === cachedBefore.get(installed)!.revisionId);
    assert.equal(changed?.action, 'Install', 'the approval reaches the cached client as ChangedUpdates');
    // A fresh client of C: Install for the approved update, nothing of the declined one.
    const fresh = offers(await scannedClient(C.url));
    assert.equal(fresh.get(installed)?.action, 'Install');
    assert.equal(fresh.get(piloted)?.action, 'PreDeploymentCheck', 'the Ring 1 approval is not for unassigned computers');
    assert.ok(!fresh.has(declined));
  });

  it('C refuses local approvals: the replica guard and `wsus approve` (exit code 4)', async () => {
    assert.throws(() => assertLocalChangesAllowed(C.config), (e: unknown) => e instanceof DomainError && e.code === 'Conflict' && /replica of/.test(e.message));
    assert.doesNotThrow(() => assertLocalChangesAllowed(B.config));
    const id = latestOf(CAT.documents, 'bundle')[5]!.updateId;
    // through C's admin API, as an administrator would (asynchronously: C runs in this process)
    const r = await cliFor(C.server)('approve', id, '--group', ALL_COMPUTERS_NAME);
    assert.equal(r.status, 4, r.stderr);
    assert.match(r.stderr, /this server is a replica of http:\/\/127\.0\.0\.1:\d+: approvals, declines and groups come from the upstream/);
    assert.equal(C.admin((h) => h.targeting.approvals().length), 2, 'nothing changed');
  });

  it('incremental: only the new revision, the expiry and a newly selected product move down the chain', async () => {
    const [revised, expiring] = latestOf(CAT.documents, 'standalone').slice(1, 3) as [GeneratedDocument, GeneratedDocument];
    const approved = latestOf(CAT.documents, 'bundle')[0]!; // approved on B for All Computers above
    const client = await scannedClient(C.url);
    const seen = offers(client);
    assert.equal(seen.get(revised.updateId)?.revisionNumber, revised.revisionNumber);
    assert.ok(seen.has(expiring.updateId));
    assert.equal(seen.get(approved.updateId)?.action, 'Install');

    // A changes: new revisions (of an update B approved, too), an expiry (a new revision,
    // Expired), and a new product line.
    const newDocs = [...NEW.documents];
    const onA = currentKeys(A.server.db);
    const knownIds = new Set([...onA].map((k) => k.slice(0, k.indexOf(':'))));
    const fresh = newDocs.filter((d) => !knownIds.has(d.updateId));
    const r = importInto(A.config, [
      revise(revised, revised.revisionNumber + 1), revise(approved, approved.revisionNumber + 1),
      revise(expiring, expiring.revisionNumber + 1, true), ...sourcesOf(fresh),
    ]);
    assert.equal(r.failed, 0, JSON.stringify(r.failures));
    const newProducts = fresh.filter((d) => d.kind === 'product').map((d) => d.updateId);
    const newConfigIds = new Set(fresh.filter((d) => ['productFamily', 'product', 'detectoid'].includes(d.kind)).map((d) => d.updateId));
    const newTop = fresh.filter((d) => d.kind === 'bundle' || d.kind === 'standalone');
    assert.ok(newProducts.length >= 1 && newTop.length >= 1);

    // B: the categories phase brings the new categories and detectoids, the updates phase only
    // the three new revisions (the new products are not selected yet).
    let mark = toA.requests.length;
    const rb = await B.sync();
    assert.equal(rb.counts.categories!.fetched, newConfigIds.size);
    // (A bundle is listed with its payloads, which B already holds.)
    const payloads = A.admin((h) => (JSON.parse(h.db.prepare('SELECT r.bundled_updates FROM updates u JOIN revisions r ON r.id = u.current_revision_id WHERE u.update_id = ?').pluck().get(approved.updateId) as string) as unknown[]).length);
    assert.equal(rb.counts.updates!.fetched, 3);
    assert.equal(rb.counts.updates!.listed, 3 + payloads);
    assert.equal(rb.counts.updates!.alreadyPresent, payloads);
    assert.equal(toA.of('GetUpdateData', mark).length, Math.ceil(newConfigIds.size / 25) + 1);
    assert.deepEqual([...productDeltas(toA.of('GetRevisionIdList', mark).at(-1)!.body).values()].filter((d) => !d), [], 'Delta=true for every product');
    const onB = currentKeys(B.server.db);
    assert.ok(newTop.every((d) => ![...onB].some((k) => k.startsWith(`${d.updateId}:`))), 'nothing of the unselected new products');

    // C: the same delta. C selects nothing, so it takes every product B offers: the new
    // products and product families are asked for with Delta=false (B has no updates in them yet).
    mark = toB.requests.length;
    const rc = await C.sync();
    assert.equal(rc.counts.categories!.fetched, newConfigIds.size);
    assert.equal(rc.counts.updates!.fetched, 3);
    const cDeltas = productDeltas(toB.of('GetRevisionIdList', mark).at(-1)!.body);
    assert.deepEqual([...cDeltas].filter(([, d]) => !d).map(([id]) => id).sort(),
      fresh.filter((d) => d.kind === 'product' || d.kind === 'productFamily').map((d) => d.updateId).sort());
    assert.equal(toB.of('GetUpdateData', mark).length, Math.ceil(newConfigIds.size / 25) + 1);
    assertSameRevisions(B.server.db, C.server.db, currentKeys(B.server.db), 'C after the delta');

    // The client of C: new revisions replace the old ones (B's approval stays with the update),
    // the expired update is withdrawn.
    const page = await client.syncPage();
    const after1 = offers(client);
    assert.equal(after1.get(revised.updateId)?.revisionNumber, revised.revisionNumber + 1, 'the client sees the new revision');
    assert.ok(page.outOfScope.includes(seen.get(revised.updateId)!.revisionId), 'the old revision is out of scope');
    assert.deepEqual(after1.get(approved.updateId) && [after1.get(approved.updateId)!.revisionNumber, after1.get(approved.updateId)!.action], [approved.revisionNumber + 1, 'Install']);
    assert.ok(page.outOfScope.includes(seen.get(approved.updateId)!.revisionId));
    assert.ok(page.outOfScope.includes(seen.get(expiring.updateId)!.revisionId), 'the expired update is out of scope');
    assert.ok(!after1.has(expiring.updateId));
    assert.ok(!offers(await scannedClient(C.url)).has(expiring.updateId), 'a new client never gets the expired update');

    // B's admin selects the new product(s): the next sync asks with Delta=false for them only.
    const sel = wsus(['products', 'select', ...newProducts, '--local', '--data', B.config.dataDir]);
    assert.equal(sel.status, 0, sel.stderr);
    mark = toA.requests.length;
    const rb2 = await B.sync();
    const deltas = productDeltas(toA.of('GetRevisionIdList', mark).at(-1)!.body);
    assert.deepEqual([...deltas].filter(([, d]) => !d).map(([id]) => id).sort(), [...newProducts].sort(), 'Delta=false exactly for the newly selected products');
    assert.equal(deltas.size, selected.length + newProducts.length);
    const scope = inScope(A.server.db, [...selected, ...newProducts]);
    assertSameRevisions(A.server.db, B.server.db, scope, 'B after selecting the new products');
    const newRevisions = [...scope].filter((k) => fresh.some((d) => k === `${d.updateId}:${d.revisionNumber}`) && !newConfigIds.has(k.slice(0, k.indexOf(':'))));
    assert.ok(newRevisions.length > 5);
    assert.equal(rb2.counts.updates!.fetched, newRevisions.length, 'exactly the new product\'s revisions were fetched');
    assert.equal(rb2.counts.categories!.fetched, 0);

    mark = toB.requests.length;
    const rc2 = await C.sync();
    assert.equal(rc2.counts.updates!.fetched, newRevisions.length);
    assert.equal(toB.of('GetUpdateData', mark).length, Math.ceil(newRevisions.length / 25));
    assertSameRevisions(A.server.db, C.server.db, scope, 'C after B selected the new products');
    const late = offers(await scannedClient(C.url));
    const offered = [...latestOf(fresh, 'bundle'), ...latestOf(fresh, 'standalone')];
    assert.ok(offered.length >= 1);
    for (const d of offered) assert.equal(late.get(d.updateId)?.revisionNumber, d.revisionNumber, `new product update ${d.updateId} reaches the client of C`);
  });
});

describe('A ← B\' (replica) ← C\' (replica)', () => {
  const CAT = generateCatalog({ updates: 30, seed: 5 });
  let A: ChainNode;
  let B: ChainNode;
  let C: ChainNode;

  before(async () => {
    A = await startNode('A', { targetingMode: 'client', upstreamRole: { maxUpdatesPerRequest: 25 } }, (config) => {
      assert.equal(importInto(config, sourcesOf(CAT.documents)).failed, 0);
    });
    B = await startNode('B', { sync: downstreamOf(A.url, 'b2.chain.test', { mode: 'replica' }), upstreamRole: { maxUpdatesPerRequest: 25 } });
    C = await startNode('C', { targetingMode: 'client', sync: downstreamOf(B.url, 'c2.chain.test', { mode: 'replica' }) });
  });
  after(async () => {
    for (const n of [C, B, A]) await n?.close();
  });

  it('a client of C\' in a child group gets exactly what A\'s approvals give the same client of A', async () => {
    const tops = [...latestOf(CAT.documents, 'bundle'), ...latestOf(CAT.documents, 'standalone')].map((d) => d.updateId);
    const [toPilot, toRing, removed, declined, toOthers] = tops as [string, string, string, string, string];
    A.admin((h) => {
      const now = new Date();
      h.targeting.createGroup('Pilot', undefined, now);
      h.targeting.createGroup('Ring 1', 'Pilot', now);
      h.targeting.createGroup('Broad', undefined, now);
      h.targeting.approve(toPilot, 'Pilot', 'Install', '2030-06-01T12:00:00.000Z', 'a-admin', now);
      h.targeting.approve(toRing, 'Ring 1', 'Install', '2030-07-01T00:00:00.000Z', 'a-admin', now);
      h.targeting.approve(removed, 'Ring 1', 'Uninstall', null, 'a-admin', now);
      h.targeting.approve(toOthers, 'Broad', 'Install', null, 'a-admin', now);
      h.targeting.setDeclined(declined, true, now);
    });
    await B.sync();
    const rc = await C.sync();
    assert.equal(rc.counts.deployments!.approvals, 4);

    const onA = offers(await scannedClient(A.url, 'Ring 1'));
    const onC = offers(await scannedClient(C.url, 'Ring 1'));
    const view = (m: Map<string, { revisionNumber: number; action: string; deadline: string | null }>) =>
      [...m].map(([id, o]) => `${id} r${o.revisionNumber} ${o.action} ${o.deadline ?? '-'}`).sort();
    assert.deepEqual(view(onC), view(onA));
    assert.ok(onA.size > 100);
    assert.equal(onC.get(toPilot)?.action, 'Install');
    assert.equal(onC.get(toPilot)?.deadline, '2030-06-01T12:00:00.000Z', 'inherited from Pilot, with its deadline');
    assert.equal(onC.get(toRing)?.deadline, '2030-07-01T00:00:00.000Z');
    assert.equal(onC.get(removed)?.action, 'Uninstall');
    assert.equal(onC.get(toOthers)?.action, 'PreDeploymentCheck', 'Broad\'s approval is not for Ring 1');
    assert.ok(!onC.has(declined), 'the declined update is never offered');
    // A client of another group sees Broad's approval and none of Ring 1's.
    const broad = offers(await scannedClient(C.url, 'Broad'));
    assert.equal(broad.get(toOthers)?.action, 'Install');
    assert.equal(broad.get(toRing)?.action, 'PreDeploymentCheck');
  });

  it('changes on A (approval removed, re-approved with a new deadline, undeclined and approved) reach C\' through B\'', async () => {
    const tops = [...latestOf(CAT.documents, 'bundle'), ...latestOf(CAT.documents, 'standalone')].map((d) => d.updateId);
    const [toPilot, toRing, , declined, toOthers] = tops as [string, string, string, string, string];
    const cachedOnC = await scannedClient(C.url, 'Ring 1');
    A.admin((h) => {
      const now = new Date();
      assert.ok(h.targeting.unapprove(toRing, 'Ring 1', now));
      h.targeting.approve(toPilot, 'Pilot', 'Install', '2030-09-01T00:00:00.000Z', 'a-admin', now);
      h.targeting.setDeclined(declined, false, now);
      h.targeting.approve(declined, ALL_COMPUTERS_NAME, 'Install', null, 'a-admin', now);
    });
    await B.sync();
    await C.sync();

    const view = (m: Map<string, { revisionNumber: number; action: string; deadline: string | null }>) =>
      [...m].map(([id, o]) => `${id} r${o.revisionNumber} ${o.action} ${o.deadline ?? '-'}`).sort();
    const onA = offers(await scannedClient(A.url, 'Ring 1'));
    const onC = offers(await scannedClient(C.url, 'Ring 1'));
    assert.deepEqual(view(onC), view(onA));
    assert.equal(onC.get(toRing)?.action, 'PreDeploymentCheck', 'the removed approval is gone');
    assert.equal(onC.get(toPilot)?.deadline, '2030-09-01T00:00:00.000Z', 'the new deadline');
    assert.equal(onC.get(declined)?.action, 'Install', 'undeclined and approved');
    assert.equal(onC.get(toOthers)?.action, 'PreDeploymentCheck', 'Broad\'s approval is still not for Ring 1');
    const approvals = (n: ChainNode) => n.admin((h) => h.targeting.approvals().map((a) => `${a.updateId} ${a.groupId} ${a.action} ${a.deadline}`).sort());
    assert.deepEqual(approvals(C), approvals(A));
    assert.deepEqual(approvals(B), approvals(A));
    // The client that scanned C before the change: deployments changed in place, the undeclined update is new.
    const page = await cachedOnC.syncPage();
    const changed = new Map(page.changed.map((u) => [u.revisionId, u]));
    const before = offers(cachedOnC);
    assert.equal(changed.get(before.get(toRing)!.revisionId)?.action, 'PreDeploymentCheck');
    assert.equal(changed.get(before.get(toPilot)!.revisionId)?.deadline, '2030-09-01T00:00:00.000Z');
  });
});

describe('content through A ← B (autonomous) ← C (replica), content \'approved\'', () => {
  let catalogDir: ReturnType<typeof tempDataDir>;
  let A: ChainNode;
  let B: ChainNode;
  let C: ChainNode;
  let toA: FaultProxy;
  let toB: FaultProxy;

  before(async () => {
    catalogDir = tempDataDir();
    await writeCatalog(catalogDir.dir, { updates: 12, seed: 9, fileSize: 48 * 1024 });
    A = await startNode('A', {}, async (config) => {
      assert.equal(importInto(config, documentSources([join(catalogDir.dir, 'updates')])).failed, 0);
      const h = adminHandle(config);
      const store = createContentStore({ db: h.db, dir: config.contentDir, log: quietLog, clock: () => new Date() });
      try {
        await store.importFiles([join(catalogDir.dir, 'content')]);
      } finally {
        await store.close();
        h.close();
      }
    });
    toA = await startFaultProxy(A.url);
    B = await startNode('B', { sync: downstreamOf(toA.url, 'b3.chain.test', { content: 'approved' }) });
    toB = await startFaultProxy(B.url);
    C = await startNode('C', { sync: downstreamOf(toB.url, 'c3.chain.test', { mode: 'replica', content: 'approved' }) });
  });
  after(async () => {
    for (const n of [C, B, A]) await n?.close();
    await toA?.close();
    await toB?.close();
    catalogDir?.cleanup();
  });

  it('C downloads the files of an update approved on B, which fetched them from A; a client of C gets the right bytes', async () => {
    const r0 = await B.sync();
    assert.equal(r0.counts.content!.wanted, 0, 'nothing approved');
    assert.equal((await C.sync()).counts.content!.wanted, 0);
    const bundle = B.admin((h) => h.db.prepare("SELECT u.update_id AS id FROM updates u JOIN revisions r ON r.id = u.current_revision_id WHERE r.bundled_updates != '[]' ORDER BY u.update_id LIMIT 1").get() as { id: string });
    B.admin((h) => h.targeting.approve(bundle.id, ALL_COMPUTERS_NAME, 'Install', null, 'b-admin', new Date()));
    const wanted = B.admin((h) => h.db.prepare(
      `SELECT DISTINCT f.sha1_hex AS hex FROM files f JOIN revisions r ON r.id = f.revision_id
        WHERE r.id IN (SELECT cr.id FROM updates u JOIN revisions r ON r.id = u.current_revision_id, json_each(r.bundled_updates) b
                         JOIN updates cu ON cu.update_id = lower(json_extract(b.value, '$.updateId'))
                         JOIN revisions cr ON cr.update_pk = cu.id AND cr.revision_number = json_extract(b.value, '$.revisionNumber')
                        WHERE u.update_id = ?)`,
    ).pluck().all(bundle.id) as string[]);
    assert.ok(wanted.length >= 1);
    const presentOn = (n: ChainNode) => n.admin((h) => new Set(h.db.prepare("SELECT sha1_hex FROM content WHERE state = 'present'").pluck().all() as string[]));
    assert.equal(presentOn(B).size, 0, 'B holds no content yet');

    // First sync of C: B answers 404 (and starts fetching from A), C asks B with DownloadFiles.
    const r1 = await C.sync();
    assert.equal(r1.counts.content!.wanted, wanted.length);
    // (B may already hold a file C asks for late in the run: its fetch started with C's first 404.)
    assert.ok(r1.counts.content!.requestedFromUpstream >= 1, 'C asked B to download with DownloadFiles');
    assert.equal(r1.counts.content!.requestedFromUpstream + r1.counts.content!.downloaded, wanted.length);
    assert.ok(toB.of('Content').some((c) => c.status === 404));
    assert.equal(toB.of('DownloadFiles').length, 1);
    await eventually('B to fetch the approved files from A', () => wanted.every((h) => presentOn(B).has(h)));
    const fromA = toA.of('Content').filter((c) => c.status === 200).length;
    assert.ok(fromA >= wanted.length, `B fetched ${fromA} files from A's /Content`);
    // The next sync of C finds them on B.
    const r2 = await C.sync();
    assert.equal(r2.counts.content!.failed, 0, r2.counts.content!.errors.join('; '));
    assert.equal(r2.counts.content!.downloaded + r1.counts.content!.downloaded, wanted.length);
    assert.deepEqual([...presentOn(C)].sort(), [...wanted].sort());

    // A client of C downloads every file of the approved update from C and gets the metadata's SHA-1.
    const client = await scannedClient(C.url);
    const approved = [...client.received.values()].filter((u) => u.action === 'Install');
    assert.ok(approved.length >= 1);
    const leaves = [...client.received.values()].filter((u) => u.action === 'Bundle' || u.action === 'Install').map((u) => u.revisionId).sort((a, b) => a - b);
    const locations = new Map<string, string>();
    for (let i = 0; i < leaves.length; i += 50) {
      const r = await client.extendedInfo(leaves.slice(i, i + 50));
      for (const l of child(child(r.result, 'GetExtendedUpdateInfoResult'), 'FileLocations')?.children ?? []) locations.set(child(l, 'FileDigest')!.text, child(l, 'Url')!.text);
    }
    let fetched = 0;
    for (const [sha1, url] of locations) {
      const hex = Buffer.from(sha1, 'base64').toString('hex').toUpperCase();
      if (!wanted.includes(hex)) continue;
      assert.ok(url.startsWith(`${C.url}/Content/`), url);
      const res = await fetch(url);
      assert.equal(res.status, 200, url);
      assert.equal(createHash('sha1').update(Buffer.from(await res.arrayBuffer())).digest('base64'), sha1);
      fetched++;
    }
    assert.equal(fetched, wanted.length, 'every file of the approved update is announced and served by C');
  });
});
