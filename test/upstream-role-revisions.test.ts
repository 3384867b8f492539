import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import type { IdAndDelta, RevisionFilter, UpdateIdentity } from '../src/core/server-sync/server-sync-model.js';
import { formatAnchor } from '../src/core/server-sync/anchor.js';
import { readCounter } from '../src/store/server-identity.store.js';
import { DSS_ID, fault, upstreamHarness, type UpstreamHarness } from './support/upstream-harness.js';

// GetRevisionIdList: the config pass, the product AND classification filter with bundled
// children, anchors (incremental, Delta=false, malformed, ahead of us).

const catalog = generateCatalog({ updates: 40, seed: 5 });
const docs = [...catalog.documents];
const key = (i: UpdateIdentity): string => `${i.updateId}/${i.revisionNumber}`;
const filter = (f: Partial<RevisionFilter>): RevisionFilter => ({
  anchor: null, getConfig: false, get63LanguageOnly: false, categories: null, classifications: null, languages: null, ...f,
});
const all = (ids: string[], delta = true): IdAndDelta[] => ids.map((id) => ({ id, delta }));

function categoriesOf(h: UpstreamHarness, type: 'Product' | 'UpdateClassification'): string[] {
  return h.admin.db.prepare(
    'SELECT u.update_id FROM updates u JOIN revisions r ON r.id = u.current_revision_id WHERE r.category_type = ?',
  ).pluck().all(type) as string[];
}

/** Current revision of every update of these kinds, as the generator made them. */
function currentOf(kinds: string[]): Set<string> {
  const latest = new Map<string, number>();
  for (const d of docs) if (kinds.includes(d.kind)) latest.set(d.updateId, Math.max(latest.get(d.updateId) ?? 0, d.revisionNumber));
  return new Set([...latest].map(([updateId, revisionNumber]) => key({ updateId, revisionNumber })));
}

test('GetConfig=true: every category, classification and detectoid, parents first, then only what changed', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  h.importDocs(docs);
  const { session } = h.session();
  const first = h.role.revisionIdList(session, filter({ getConfig: true }));
  const expected = currentOf(['company', 'productFamily', 'product', 'classification', 'detectoid']);
  assert.deepEqual(new Set(first.revisions.map(key)), expected);
  assert.equal(first.revisions.length, expected.size);
  assert.equal(first.revisions[0]!.updateId, catalog.summary.interesting.company.updateId);
  const pos = new Map(first.revisions.map((r, i) => [r.updateId, i]));
  for (const p of categoriesOf(h, 'Product')) assert.ok(pos.get(p)! > pos.get(catalog.summary.interesting.windowsFamily.updateId)!);
  assert.equal(first.anchor.split(',')[0], String(readCounter(h.admin.db, 'change_seq')));
  assert.deepEqual(h.role.revisionIdList(session, filter({ getConfig: true, anchor: first.anchor })).revisions, []);
  // GetRevisionIdList marks the downstream as synchronizing.
  const row = h.admin.db.prepare('SELECT last_sync_at FROM downstream_servers WHERE server_id = ?').get(DSS_ID) as { last_sync_at: string };
  assert.equal(row.last_sync_at, new Date(h.now.ms).toISOString());
});

test('GetConfig=false: updates in a listed product AND a listed classification, with their bundled children', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  h.importDocs(docs);
  const { session } = h.session();
  const products = categoriesOf(h, 'Product');
  const classes = categoriesOf(h, 'UpdateClassification');
  const everything = h.role.revisionIdList(session, filter({ categories: all(products), classifications: all(classes) }));
  const software = currentOf(['bundle', 'standalone']);
  const listed = new Set(everything.revisions.map(key));
  for (const k of software) assert.ok(listed.has(k), k);
  assert.equal(listed.size, everything.revisions.length, 'no duplicates');
  // Every other listed revision is a bundled child, which has no categories of its own.
  const childRevisions = new Set(docs.filter((d) => d.kind === 'bundleChild').map((d) => key(d)));
  for (const k of listed) assert.ok(software.has(k) || childRevisions.has(k), k);
  // Payloads come before the bundles that contain them.
  const b = catalog.summary.interesting.bundle!;
  const pos = new Map(everything.revisions.map((r, i) => [r.updateId, i]));
  for (const child of b.childIds) assert.ok(pos.get(child)! < pos.get(b.updateId)!, child);

  const one = h.role.revisionIdList(session, filter({ categories: all([b.productId.toUpperCase()]), classifications: all([b.classificationId]) }));
  const ids = new Set(one.revisions.map((r) => r.updateId));
  assert.ok(ids.has(b.updateId));
  for (const child of b.childIds) assert.ok(ids.has(child), child);
  assert.ok(one.revisions.length < everything.revisions.length);
  const otherClass = classes.find((c) => c !== b.classificationId)!;
  const none = h.role.revisionIdList(session, filter({ categories: all([b.productId]), classifications: all([otherClass]) }));
  assert.ok(!none.revisions.some((r) => r.updateId === b.updateId));
  // Declines travel through GetDeployments: a declined update is still listed.
  h.admin.targeting.setDeclined(b.updateId, true, new Date());
  assert.ok(h.role.revisionIdList(session, filter({ categories: all([b.productId]), classifications: all([b.classificationId]) }))
    .revisions.some((r) => r.updateId === b.updateId));
});

test('an incremental list returns only the new revision; Delta=false returns everything again', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  const revised = docs.filter((d) => d.kind === 'standalone' && d.revisionNumber > 200)[0]!;
  h.importDocs(docs.filter((d) => d !== revised));
  const { session } = h.session();
  const products = all(categoriesOf(h, 'Product'));
  const classes = all(categoriesOf(h, 'UpdateClassification'));
  const first = h.role.revisionIdList(session, filter({ categories: products, classifications: classes }));
  assert.ok(first.revisions.some((r) => r.updateId === revised.updateId && r.revisionNumber === revised.revisionNumber - 1));
  assert.deepEqual(h.role.revisionIdList(session, filter({ anchor: first.anchor, categories: products, classifications: classes })).revisions, []);
  h.importDocs([revised]);
  const next = h.role.revisionIdList(session, filter({ anchor: first.anchor, categories: products, classifications: classes }));
  assert.deepEqual(next.revisions, [{ updateId: revised.updateId, revisionNumber: revised.revisionNumber }]);
  assert.notEqual(next.anchor, first.anchor);
  // A classification newly selected (Delta=false) brings all its updates, ignoring the anchor.
  const picked = catalog.summary.interesting.bundle!.classificationId;
  const fresh = classes.map((c) => ({ id: c.id, delta: c.id !== picked }));
  const again = h.role.revisionIdList(session, filter({ anchor: next.anchor, categories: products, classifications: fresh }));
  const inPicked = h.role.revisionIdList(session, filter({ categories: products, classifications: all([picked]) }));
  assert.deepEqual(new Set(again.revisions.map(key)), new Set(inPicked.revisions.map(key)));
  assert.ok(again.revisions.length > 0);
  const allAgain = h.role.revisionIdList(session, filter({ anchor: next.anchor, categories: all(products.map((p) => p.id), false), classifications: classes }));
  assert.equal(allAgain.revisions.length, first.revisions.length);
});

test('one list without the other answers nothing (as WSUS) without moving the anchor', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  h.importDocs(docs);
  const { session } = h.session();
  const products = all(categoriesOf(h, 'Product'));
  const classes = all(categoriesOf(h, 'UpdateClassification'));
  const productsOnly = h.role.revisionIdList(session, filter({ categories: products }));
  assert.deepEqual(productsOnly.revisions, []);
  assert.match(productsOnly.anchor, /^0,/);
  assert.deepEqual(h.role.revisionIdList(session, filter({ classifications: classes, categories: [] })).revisions, []);
  const later = h.role.revisionIdList(session, filter({ anchor: productsOnly.anchor, categories: products, classifications: classes }));
  assert.ok(later.revisions.length > 100);
});

test('malformed anchors and filters are InvalidParameters; an anchor ahead of us is ServerChanged', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  h.importDocs(docs.slice(0, 50));
  const { session } = h.session();
  assert.equal(fault(() => h.role.revisionIdList(session, filter({ anchor: 'garbage' }))), 'InvalidParameters:filter');
  assert.equal(fault(() => h.role.revisionIdList(session, filter({ getConfig: true, anchor: '12,2026-10-04T16:00:00' }))), 'InvalidParameters:filter');
  assert.equal(fault(() => h.role.revisionIdList(session, filter({ categories: all(['x']), classifications: all(['y']) }))), 'InvalidParameters:filter');
  const ahead = formatAnchor(readCounter(h.admin.db, 'change_seq') + 1000, new Date());
  assert.equal(fault(() => h.role.revisionIdList(session, filter({ getConfig: true, anchor: ahead }))), 'ServerChanged');
});
