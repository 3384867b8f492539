import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { openDatabase } from '../src/store/database.js';
import { createCatalogStore } from '../src/store/catalog.store.js';
import { createTargetingStore } from '../src/store/targeting.store.js';
import { createComputersStore } from '../src/store/computers.store.js';
import { createUpdateListingStore } from '../src/store/update-listing.store.js';
import { createApprovalsBulkStore } from '../src/store/approvals-bulk.store.js';
import { createComputersAdminStore } from '../src/store/computers-admin.store.js';
import { createGroupsAdminStore } from '../src/store/groups-admin.store.js';
import { loadServerIdentity, readCounter } from '../src/store/server-identity.store.js';
import { importDocuments } from '../src/services/import.service.js';
import { parseDeadline } from '../src/core/admin/deadline.js';
import { parseStatusLists } from '../src/core/admin/status-lists.js';
import { classifyUpdateRef } from '../src/core/admin/update-refs.js';
import { subtreeDeepestFirst, wouldCreateCycle } from '../src/core/targeting/group-moves.js';
import { DomainError } from '../src/core/errors.js';
import { createApprovalsAdminService } from '../src/services/admin/approvals-admin.service.js';
import { quietLog, tempDataDir } from './support/test-server.js';

// The pieces behind `wsus updates|approve|groups|computers` on a real SQLite file: the update
// summary the triggers keep at ingest, the list filters, bulk approvals, and the pure rules.

const catalog = generateCatalog({ updates: 60, seed: 21 });
const documents = [...catalog.documents];

function revise(xml: string, rev: number, o: { title?: string; expired?: boolean; supersedes?: string[] } = {}): string {
  let out = xml.replace(/(<upd:UpdateIdentity UpdateID="[^"]+" RevisionNumber=")\d+"/, `$1${rev}"`);
  if (o.expired) out = out.replace(/PublicationState="\w+"/, 'PublicationState="Expired"');
  if (o.title) out = out.replace(/(<upd:Title>)[^<]*/, `$1${o.title}`);
  return out;
}

function open() {
  const tmp = tempDataDir();
  const db = openDatabase(join(tmp.dir, 'wsus.db'));
  loadServerIdentity(db, new Date());
  const catalogStore = createCatalogStore(db);
  const targeting = createTargetingStore(db);
  targeting.ensureBuiltinGroups(new Date());
  const load = (docs: Array<{ name: string; xml: string }>): void => {
    const r = importDocuments({ db, catalog: catalogStore, log: quietLog, clock: () => new Date() }, docs.map((d) => ({ name: d.name, read: () => d.xml })));
    assert.equal(r.failed, 0, JSON.stringify(r.failures));
  };
  load(documents.map((d) => ({ name: d.fileName, xml: d.xml })));
  return { db, targeting, load, listing: createUpdateListingStore(db), close: () => { db.close(); tmp.cleanup(); } };
}

const base = { sort: 'arrival' as const, limit: 100_000, offset: 0 };

test('pure rules: deadlines, status lists, update references, group nesting', () => {
  assert.equal(parseDeadline('2026-12-01'), '2026-12-01T00:00:00.000Z');
  assert.equal(parseDeadline('2026-12-01T18:30:00+02:00'), '2026-12-01T16:30:00.000Z');
  assert.equal(parseDeadline('2026-12-01T18:30'), '2026-12-01T18:30:00.000Z', 'no zone = UTC, as a date alone');
  assert.equal(parseDeadline(undefined), null);
  for (const bad of ['tomorrow', '2026-02-29', '2026-13-01', '2026-12-01T25:00:00Z', '1999-01-01', '9999-12-31', '2026-12-01T10:00:00+0200', 42]) {
    assert.throws(() => parseDeadline(bad), (e: unknown) => e instanceof DomainError && e.code === 'InvalidInput', String(bad));
  }
  const s = parseStatusLists(['G=1', 'U=AAAAAAAA-0000-0000-0000-000000000001;AAAAAAAA-0000-0000-0000-000000000002', 'V=AAAAAAAA-0000-0000-0000-000000000002',
    'W=AAAAAAAA-0000-0000-0000-000000000003', 'g=AAAAAAAA-0000-0000-0000-000000000004', 'h='])!;
  assert.deepEqual([...s.needed].sort(), ['aaaaaaaa-0000-0000-0000-000000000001', 'aaaaaaaa-0000-0000-0000-000000000003', 'aaaaaaaa-0000-0000-0000-000000000004']);
  assert.equal(parseStatusLists(['G=1', 'B=5']), null, 'no lists: not a status report');
  assert.deepEqual(classifyUpdateRef('KB5034441'), { kind: 'kb', raw: 'KB5034441', kb: '5034441' });
  assert.deepEqual(classifyUpdateRef('5034441').kind, 'kb');
  assert.deepEqual(classifyUpdateRef('A2FEF9B0-7951-4C2C-A42B-9E351DD1C1FE'), { kind: 'id', raw: 'A2FEF9B0-7951-4C2C-A42B-9E351DD1C1FE', updateId: 'a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe' });
  assert.equal(classifyUpdateRef('Windows 11 cumulative update').kind, 'title');
  const tree = [{ id: 'a', name: 'A', parentId: null }, { id: 'b', name: 'B', parentId: 'a' }, { id: 'c', name: 'C', parentId: 'b' }, { id: 'd', name: 'D', parentId: 'a' }];
  assert.equal(wouldCreateCycle(tree, 'b', 'c'), true);
  assert.equal(wouldCreateCycle(tree, 'b', 'b'), true);
  assert.equal(wouldCreateCycle(tree, 'b', 'd'), false);
  assert.deepEqual(subtreeDeepestFirst(tree, 'a').map((g) => g.id), ['c', 'b', 'd', 'a']);
});

test('update_summary follows the current revision at ingest: title, expiry, supersedence', () => {
  const h = open();
  try {
    const sum = catalog.summary.interesting;
    const doc = documents.filter((d) => d.updateId === sum.superseding!.updateId).at(-1)!;
    const rev = sum.superseding!.revisionNumber;
    // the superseded update counts as superseded while the superseding revision is current
    const superseded = (id: string): boolean => h.listing.list({ ...base, states: [{ state: 'superseded', negate: false }], includeAll: true }).rows.some((r) => r.updateId === id);
    const victim = sum.superseding!.supersededIds[0]!;
    assert.equal(superseded(victim), true);
    // a newer revision that supersedes nothing: the edge of the old revision no longer counts
    const stripped = revise(doc.xml, rev + 1, { title: 'Renamed update', expired: true }).replace(/<upd:SupersededUpdates>[\s\S]*?<\/upd:SupersededUpdates>/, '');
    h.load([{ name: 'r.xml', xml: stripped }]);
    const row = h.listing.byUpdateId(sum.superseding!.updateId)!;
    assert.deepEqual([row.title, row.publicationState], ['Renamed update', 'Expired']);
    assert.equal(h.listing.byTitle('renamed UPDATE')[0]?.updateId, sum.superseding!.updateId);
    const otherSuperseders = h.db.prepare(`SELECT count(*) FROM revision_supersedes x JOIN update_summary w ON w.revision_id = x.revision_id
      WHERE x.superseded_update_id = ?`).pluck().get(victim) as number;
    assert.equal(superseded(victim), otherSuperseders > 0);
    // an older revision arriving late does not replace the current one
    h.load([{ name: 'old.xml', xml: revise(doc.xml, 1, { title: 'Ancient title' }) }]);
    assert.equal(h.listing.byUpdateId(sum.superseding!.updateId)!.title, 'Renamed update');
    // every update has exactly one summary row matching its current revision
    assert.equal(h.db.prepare(`SELECT count(*) FROM updates u LEFT JOIN update_summary s ON s.update_pk = u.id
      WHERE s.revision_id IS NOT u.current_revision_id`).pluck().get(), 0);
  } finally {
    h.close();
  }
});

test('list filters on real SQLite: classification, product, text, KB, states, dates, paging', () => {
  const h = open();
  try {
    const all = h.listing.list(base);
    const deployable = h.db.prepare(`SELECT count(*) FROM revisions r JOIN updates u ON u.current_revision_id = r.id
      WHERE r.explicitly_deployable = 1 AND r.update_type IN ('Software', 'Driver')`).pluck().get() as number;
    assert.equal(all.total, deployable);
    const [security] = h.listing.categories('UpdateClassification', 'SECURITY UPDATES', false);
    const sec = h.listing.list({ ...base, classificationIds: [security!.updateId] });
    const facts = h.listing.pageFacts(sec.rows);
    assert.ok(sec.total > 0 && [...facts.values()].every((f) => f.classifications.includes('Security Updates')));
    const b = catalog.summary.interesting.bundle!;
    assert.ok(h.listing.list({ ...base, productIds: [b.productId] }).rows.some((r) => r.updateId === b.updateId));
    const kb = catalog.summary.interesting.security!.kbArticleId;
    const byKb = h.listing.list({ ...base, text: `KB${kb}`, kb });
    assert.ok(byKb.rows.length >= 1 && byKb.rows.every((r) => r.kb.includes(kb) || r.title.includes(kb)));
    assert.equal(h.listing.list({ ...base, text: '100%_\\' }).total, 0, 'LIKE wildcards in the text are literal');
    const page = h.listing.list({ ...base, limit: 5, offset: 10 });
    assert.deepEqual(page.rows.map((r) => r.updateId), all.rows.slice(10, 15).map((r) => r.updateId));
    const beyond = h.listing.list({ ...base, limit: 5, offset: all.total + 10 });
    assert.deepEqual([beyond.rows.length, beyond.total], [0, all.total], 'the total is known past the last page');
    assert.equal(h.listing.list({ ...base, arrivedBefore: '2000-01-01T00:00:00.000Z' }).total, 0);
    const expired = h.listing.list({ ...base, states: [{ state: 'expired', negate: false }] });
    const notExpired = h.listing.list({ ...base, states: [{ state: 'expired', negate: true }] });
    assert.equal(expired.total + notExpired.total, all.total);
    assert.ok(expired.rows.every((r) => r.publicationState === 'Expired'));
    const titles = h.listing.list({ ...base, sort: 'title' }).rows.map((r) => r.title.toLowerCase());
    assert.deepEqual(titles, [...titles].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
  } finally {
    h.close();
  }
});

test('bulk approvals: one transaction and one change_seq; declined refused as a whole; what-if writes nothing', () => {
  const h = open();
  try {
    for (const g of ['P1', 'P2', 'P3']) h.targeting.createGroup(g, undefined, new Date());
    const ids = h.listing.list({ ...base, states: [{ state: 'expired', negate: true }] }).rows.slice(0, 40).map((r) => r.updateId);
    const service = createApprovalsAdminService({
      config: { sync: { mode: 'autonomous' } as never }, listing: h.listing, bulk: createApprovalsBulkStore(h.db), groups: createGroupsAdminStore(h.db),
      clock: () => new Date(), log: quietLog, changed: () => undefined,
    });
    const count = (): number => h.db.prepare('SELECT count(*) FROM approvals').pluck().get() as number;
    const dry = service.approve({ updates: ids, groups: ['P1', 'p2', 'P3'], whatIf: true }, 'tester');
    assert.deepEqual([dry.counts.new, dry.written, count()], [120, 0, 0]);
    const seq = readCounter(h.db, 'change_seq');
    const r = service.approve({ updates: ids, groups: ['P1', 'p2', 'P3'], deadline: '2031-01-01' }, 'tester');
    assert.deepEqual([r.counts.new, r.written, count()], [120, 120, 120]);
    assert.equal(readCounter(h.db, 'change_seq'), seq + 1);
    const deployments = h.db.prepare('SELECT count(DISTINCT deployment_id) FROM approvals').pluck().get();
    assert.equal(deployments, 120, 'a deployment id each');
    // One declined update among many: the whole action is refused, nothing written.
    service.setDeclined({ updates: [ids[39]!] }, true);
    assert.equal(count(), 117, 'declining removed its 3 approvals');
    assert.throws(() => service.approve({ updates: ids, groups: ['P1'], action: 'uninstall' }, 'tester'), (e: unknown) => e instanceof DomainError && e.code === 'Conflict');
    assert.equal(h.db.prepare("SELECT count(*) FROM approvals WHERE action = 'Uninstall'").pluck().get(), 0);
    // tombstones for downstream replicas: re-approving and unapproving bury the old deployments
    const tombs = (): number => h.db.prepare('SELECT count(*) FROM deployment_tombstones').pluck().get() as number;
    const t0 = tombs();
    service.approve({ updates: ids.slice(0, 2), groups: ['P1'], action: 'uninstall' }, 'tester');
    service.unapprove({ updates: ids.slice(0, 2), groups: ['P2'] });
    assert.equal(tombs(), t0 + 4);
  } finally {
    h.close();
  }
});

test('computer sightings: recorded on change only; duplicates are several names or overlapping addresses', () => {
  const h = open();
  try {
    const computers = createComputersStore(h.db);
    const admin = createComputersAdminStore(h.db);
    const t = (m: number): Date => new Date(Date.UTC(2026, 0, 1, 0, m));
    const sightings = (): number => h.db.prepare('SELECT count(*) FROM computer_sightings').pluck().get() as number;
    computers.register({ clientId: 'c1', dnsName: 'PC1.corp' }, '', '10.0.0.1', t(0));
    computers.register({ clientId: 'c2', dnsName: 'pc2.corp' }, '', '10.0.0.2', t(0));
    computers.register({ clientId: 'c3', dnsName: 'pc3.corp' }, '', '10.0.0.3', t(0));
    assert.equal(sightings(), 3);
    // same name and address again: no write; c2 renumbered by DHCP a day later: a second sighting, no overlap
    computers.recordContacts(new Map([['c1', { at: t(5).toISOString(), address: '10.0.0.1', dnsName: 'pc1.corp' }]]), new Map());
    assert.equal(h.db.prepare("SELECT last_seen_at FROM computer_sightings WHERE client_id = 'c1'").pluck().get(), t(0).toISOString(), 'unchanged: not written');
    computers.recordContacts(new Map([['c2', { at: new Date(Date.UTC(2026, 0, 2)).toISOString(), address: '10.0.0.9', dnsName: 'pc2.corp' }]]), new Map());
    // c3 is two machines: names alternate
    computers.recordContacts(new Map([['c3', { at: t(10).toISOString(), address: '10.0.0.4', dnsName: 'lab-b.corp' }]]), new Map());
    computers.recordContacts(new Map([['c3', { at: t(20).toISOString(), address: '10.0.0.3', dnsName: 'pc3.corp' }]]), new Map());
    assert.deepEqual([...admin.duplicatesAmong(['c1', 'c2', 'c3'])], ['c3']);
    // c1 seen from two addresses at the same time (same name): also a clone
    computers.recordContacts(new Map([['c1', { at: t(30).toISOString(), address: '10.0.0.7', dnsName: 'pc1.corp' }]]), new Map());
    computers.recordContacts(new Map([['c1', { at: t(31).toISOString(), address: '10.0.0.1', dnsName: 'pc1.corp' }]]), new Map());
    assert.deepEqual([...admin.duplicatesAmong(['c1', 'c2', 'c3'])].sort(), ['c1', 'c3']);
    assert.deepEqual(admin.list({ duplicates: true, sort: 'name', limit: 10, offset: 0 }).rows.map((r) => r.clientId), ['c1', 'c3']);
    // an unknown client's contact (deleted meanwhile) records nothing
    computers.recordContacts(new Map([['gone', { at: t(40).toISOString(), address: '10.0.0.8', dnsName: 'gone.corp' }]]), new Map());
    assert.equal(h.db.prepare("SELECT count(*) FROM computer_sightings WHERE client_id = 'gone'").pluck().get(), 0);
  } finally {
    h.close();
  }
});
