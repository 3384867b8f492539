import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { parseUpdateDocument } from '../src/core/catalog/parse-update.js';
import { UpstreamFaultError, UpstreamTransportError } from '../src/upstream/server-sync-session.js';
import { createSyncStore } from '../src/store/sync.store.js';
import { createSyncRunsStore } from '../src/store/sync-runs.store.js';
import { syncState } from '../src/services/sync/sync-state.js';
import type { RevisionFilter } from '../src/core/server-sync/server-sync-model.js';
import { CAPTURES } from './support/captures.js';
import { catalogSnapshot, count, harness } from './support/sync-harness.js';

// The downstream sync against an in-memory upstream on a real SQLite database: first and
// incremental syncs, Delta for new selections, revisions and expiry, partial answers,
// ServerChanged, failures recorded, bad documents skipped, real documents.

const docsOf = (updates: number, seed: number) => [...generateCatalog({ updates, seed }).documents];

/** A new revision of a document: new RevisionNumber (first occurrence = the update's own), optional title/state. */
export function revise(xml: string, rev: number, o: { title?: string; expired?: boolean } = {}): string {
  let out = xml.replace(/(<upd:UpdateIdentity UpdateID="[^"]+" RevisionNumber=")\d+"/, `$1${rev}"`);
  if (o.expired) out = out.replace(/PublicationState="\w+"/, 'PublicationState="Expired"');
  if (o.title) out = out.replace(/(<upd:Title>)[^<]*/, `$1${o.title}`);
  return out;
}

test('first sync from a WSUS upstream with nothing selected takes every category and update it offers', async () => {
  const h = harness();
  try {
    h.fake.maxPerRequest = 25;
    h.fake.addAll(docsOf(40, 7).map((d) => d.xml));
    let changes = 0;
    const r = await h.service({ onCatalogChanged: () => { changes++; } }).run({ trigger: 'cli' });
    assert.ok(changes >= 2, 'a server view is told after each phase merged');
    assert.equal(r.state, 'succeeded', r.error ?? '');
    const cat = r.counts.categories!;
    const upd = r.counts.updates!;
    assert.ok(cat.listed > 40 && cat.merged === cat.listed, JSON.stringify(cat));
    assert.ok(upd.listed > 100 && upd.merged === upd.listed, JSON.stringify(upd));
    assert.equal(r.counts.badDocuments.count, 0);
    assert.ok(r.counts.notes.some((n) => /no products selected: taking all/.test(n)), r.counts.notes.join('\n'));
    assert.equal(count(h.db, 'SELECT count(*) AS n FROM revisions'), cat.listed + upd.listed);
    assert.equal(count(h.db, 'SELECT count(*) AS n FROM sync_staging'), 0, 'staging is drained');
    // every GetUpdateData stayed within the upstream's limit, and the anchors were saved
    const st = syncState(createSyncStore(h.db));
    for (const a of ['config', 'categories', 'updates'] as const) assert.ok(st.anchor(a), a);
    const run = createSyncRunsStore(h.db).byId(r.runId)!;
    assert.equal(run.state, 'succeeded');
    assert.equal(h.fake.lastOptions?.serverName, h.config.sync.serverName);
    // the MU URLs from GetUpdateData fileUrls reached the files table
    assert.ok(count(h.db, "SELECT count(*) AS n FROM files WHERE mu_url LIKE 'http://mu.example.test/%'") > 0);
  } finally {
    h.close();
  }
});

test('incremental sync fetches only what changed; expired and newer revisions become current', async () => {
  const h = harness();
  try {
    const docs = docsOf(30, 3);
    h.fake.addAll(docs.map((d) => d.xml));
    assert.equal((await h.service().run({ trigger: 'cli' })).state, 'succeeded');
    const fetchedBefore = h.fake.calls.filter((c) => c.op === 'updateData').reduce((a, c) => a + (c.arg as number), 0);

    const standalone = docs.filter((d) => d.kind === 'standalone');
    const revised = revise(standalone[0]!.xml, 900, { title: 'Revised title' });
    const expired = revise(standalone[1]!.xml, 901, { expired: true });
    h.fake.add(revised);
    h.fake.add(expired);
    const r = await h.service().run({ trigger: 'schedule' });
    assert.equal(r.state, 'succeeded', r.error ?? '');
    const fetchedAfter = h.fake.calls.filter((c) => c.op === 'updateData').reduce((a, c) => a + (c.arg as number), 0);
    assert.equal(fetchedAfter - fetchedBefore, 2, 'only the two new revisions were fetched');
    assert.equal(r.counts.updates!.merged, 2);
    const lastFilter = h.fake.calls.filter((c) => c.op === 'revisionIdList').at(-1)!.arg as RevisionFilter;
    assert.ok(lastFilter.anchor, 'incremental list carries the anchor');
    assert.ok(lastFilter.categories!.every((c) => c.delta) && lastFilter.classifications!.every((c) => c.delta));

    const current = (id: string) => h.db.prepare(
      `SELECT r.revision_number AS rev, r.title, r.publication_state AS state FROM updates u JOIN revisions r ON r.id = u.current_revision_id WHERE u.update_id = ?`,
    ).get(id) as { rev: number; title: string; state: string };
    assert.deepEqual(current(standalone[0]!.updateId), { rev: 900, title: 'Revised title', state: standalone[0]!.xml.includes('"Expired"') ? 'Expired' : 'Published' });
    assert.equal(current(standalone[1]!.updateId).rev, 901);
    assert.equal(current(standalone[1]!.updateId).state, 'Expired', 'the expired revision is current; the scan withdraws it');
  } finally {
    h.close();
  }
});

test('a newly selected product is listed with Delta=false and brings all its updates', async () => {
  const h = harness();
  try {
    const docs = docsOf(40, 11);
    h.fake.addAll(docs.map((d) => d.xml));
    const parsed = docs.map((d) => parseUpdateDocument(d.xml));
    const productIds = new Set(parsed.filter((p) => p.categoryType === 'Product').map((p) => p.identity.updateId));
    const classIds = parsed.filter((p) => p.categoryType === 'UpdateClassification').map((p) => p.identity.updateId);
    const used = [...new Set(parsed.flatMap((p) => p.prerequisites.filter((c) => c.isCategory).flatMap((c) => c.updateIds)))]
      .filter((id) => productIds.has(id) && parsed.some((p) => p.updateType === 'Software' && p.prerequisites.some((c) => c.updateIds.includes(id))));
    assert.ok(used.length >= 2, 'the catalog spans several products');
    const store = createSyncStore(h.db);
    store.select('product', [used[0]!]);
    store.select('classification', classIds);
    const r1 = await h.service().run({ trigger: 'cli' });
    assert.equal(r1.state, 'succeeded', r1.error ?? '');
    assert.ok(r1.counts.updates!.merged > 0);
    const after1 = count(h.db, 'SELECT count(*) AS n FROM revisions');

    store.select('product', [used[1]!]);
    const r2 = await h.service().run({ trigger: 'cli' });
    assert.equal(r2.state, 'succeeded', r2.error ?? '');
    const filter = h.fake.calls.filter((c) => c.op === 'revisionIdList').at(-1)!.arg as RevisionFilter;
    assert.equal(filter.categories!.find((c) => c.id === used[0])?.delta, true);
    assert.equal(filter.categories!.find((c) => c.id === used[1])?.delta, false, 'new product: Delta=false');
    assert.ok(filter.classifications!.every((c) => c.delta));
    assert.ok(r2.counts.updates!.merged > 0);
    assert.equal(count(h.db, 'SELECT count(*) AS n FROM revisions'), after1 + r2.counts.updates!.merged);
    assert.equal(r2.counts.updates!.fetched, r2.counts.updates!.merged, 'only the new product\'s revisions were fetched');
  } finally {
    h.close();
  }
});

test('from Microsoft Update with nothing selected only categories are synchronized, and the run says so', async () => {
  const h = harness({ upstream: 'https://sws.update.microsoft.com' });
  try {
    h.fake.addAll(docsOf(10, 2).map((d) => d.xml));
    const r = await h.service().run({ trigger: 'cli' });
    assert.equal(r.state, 'succeeded', r.error ?? '');
    assert.ok(r.counts.categories!.merged > 0);
    assert.equal(r.counts.updates, undefined);
    assert.ok(r.counts.notes.some((n) => /updates phase skipped: no products and classifications selected: synchronized categories only/.test(n)), r.counts.notes.join('\n'));
    assert.equal(count(h.db, "SELECT count(*) AS n FROM revisions WHERE update_type = 'Software'"), 0);
  } finally {
    h.close();
  }
});

test('ids an answer left out are asked again; one that never comes back fails the run with its id, keeping committed anchors', async () => {
  const h = harness();
  try {
    h.fake.maxPerRequest = 20;
    const docs = docsOf(20, 5);
    h.fake.addAll(docs.map((d) => d.xml));
    const latestRev = new Map<string, number>();
    for (const d of docs) latestRev.set(d.updateId, Math.max(latestRev.get(d.updateId) ?? 0, d.revisionNumber));
    const sw = docs.filter((d) => d.kind === 'standalone' && latestRev.get(d.updateId) === d.revisionNumber);
    for (const d of sw.slice(0, 5)) h.fake.omitOnce.add(`${d.updateId}:${d.revisionNumber}`);
    const r = await h.service().run({ trigger: 'cli' });
    assert.equal(r.state, 'succeeded', r.error ?? '');
    assert.equal(r.counts.updates!.reRequested, 5);

    const h2 = harness();
    try {
      h2.fake.addAll(docs.map((d) => d.xml));
      const lost = `${sw[0]!.updateId}:${sw[0]!.revisionNumber}`;
      h2.fake.neverReturn.add(lost);
      const bad = await h2.service().run({ trigger: 'cli' });
      assert.equal(bad.state, 'failed');
      assert.equal(bad.phase, 'updates');
      assert.match(bad.error!, /did not return 1 revision\(s\) after 4 requests/);
      assert.ok(bad.error!.includes(lost));
      const st = syncState(createSyncStore(h2.db));
      assert.ok(st.anchor('categories'), 'the committed categories phase keeps its anchor');
      assert.equal(st.anchor('updates'), null, 'the failed phase saved no anchor');
      const row = createSyncRunsStore(h2.db).byId(bad.runId)!;
      assert.equal(row.state, 'failed');
      assert.equal(row.error, bad.error);
      assert.equal(row.phase, 'updates');
      // what was fetched is merged (resume point), the rest waits for the next run
      h2.fake.neverReturn.clear();
      const again = await h2.service().run({ trigger: 'cli' });
      assert.equal(again.state, 'succeeded', again.error ?? '');
      assert.equal(again.counts.updates!.fetched, 1, 'only the missing revision is fetched again');
    } finally {
      h2.close();
    }
  } finally {
    h.close();
  }
});

test('ServerChanged clears anchors and cookie and resynchronizes fully in the same run', async () => {
  const h = harness();
  try {
    h.fake.addAll(docsOf(15, 9).map((d) => d.xml));
    assert.equal((await h.service().run({ trigger: 'cli' })).state, 'succeeded');
    const st = syncState(createSyncStore(h.db));
    assert.match(st.cookie()!, /^cookie-e1-/);
    h.fake.epoch = 2; // the upstream was rebuilt
    const before = count(h.db, 'SELECT count(*) AS n FROM revisions');
    const r = await h.service().run({ trigger: 'cli' });
    assert.equal(r.state, 'succeeded', r.error ?? '');
    assert.ok(r.counts.notes.some((n) => /ServerChanged/.test(n)));
    const lists = h.fake.calls.filter((c) => c.op === 'revisionIdList').slice(-2).map((c) => (c.arg as RevisionFilter).anchor);
    assert.deepEqual(lists, [null, null], 'both lists start from no anchor');
    assert.match(st.cookie()!, /^cookie-e2-/);
    assert.match(st.anchor('updates')!, /^e2,/);
    assert.equal(r.counts.updates!.fetched, 0, 'revisions already here are not fetched again');
    assert.equal(count(h.db, 'SELECT count(*) AS n FROM revisions'), before);

    // a fault mid-run (not at GetCookie) takes the same path
    h.fake.failures.push({ op: 'revisionIdList', call: h.fake.count('revisionIdList') + 2, error: () => new UpstreamFaultError('GetRevisionIdList', 'ServerChanged', '', 500) });
    const r2 = await h.service().run({ trigger: 'cli' });
    assert.equal(r2.state, 'succeeded', r2.error ?? '');
    assert.ok(r2.counts.notes.some((n) => /ServerChanged during updates/.test(n)), r2.counts.notes.join('\n'));
  } finally {
    h.close();
  }
});

test('network failures are recorded with the exact error; bad documents are reported and skipped', async () => {
  const h = harness();
  try {
    const docs = docsOf(10, 4);
    h.fake.addAll(docs.map((d) => d.xml));
    h.fake.failures.push({ op: 'revisionIdList', call: 2, error: () => new UpstreamTransportError('GetRevisionIdList', 'connect ECONNREFUSED 10.0.0.1:8530') });
    const r = await h.service().run({ trigger: 'schedule' });
    assert.equal(r.state, 'failed');
    assert.equal(r.error, 'GetRevisionIdList: connect ECONNREFUSED 10.0.0.1:8530');
    const hist = createSyncRunsStore(h.db).history(5);
    assert.equal(hist[0]!.error, r.error);
    assert.equal(hist[0]!.phase, 'updates');
    assert.ok((hist[0]!.counts as { categories?: { merged: number } }).categories!.merged > 0);

    // a broken document: listed and served, but not parseable
    const victim = docs.find((d) => d.kind === 'standalone')!;
    const key = `${victim.updateId}:${victim.revisionNumber}`;
    const doc = h.fake.docs.get(key)!;
    h.fake.docs.set(key, { ...doc, xml: doc.xml.replace('<upd:Properties', '<upd:Properties UpdateType="Bogus" x') });
    const r2 = await h.service().run({ trigger: 'cli' });
    assert.equal(r2.state, 'succeeded', r2.error ?? '');
    assert.equal(r2.counts.badDocuments.count, 1);
    assert.equal(r2.counts.badDocuments.first[0]!.updateId, victim.updateId);
    assert.ok(r2.counts.badDocuments.first[0]!.error.length > 0);
    assert.equal(count(h.db, 'SELECT count(*) AS n FROM updates WHERE update_id = ?', victim.updateId), 0);
  } finally {
    h.close();
  }
});

test('real WSUS documents synchronize', { skip: !existsSync(join(CAPTURES, 'wsus-m0-wsusss/docs')) && 'real captures not found' }, async () => {
  const h = harness();
  try {
    const dir = join(CAPTURES, 'wsus-m0-wsusss/docs');
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.xml'))) h.fake.add(readFileSync(join(dir, f), 'utf8'));
    // the captured set holds the Defender update but not its product and classification documents
    const store = createSyncStore(h.db);
    store.select('product', ['8c3fcc84-7410-4a95-8b89-a166a0190486']);
    store.select('classification', ['e0789628-ce08-4437-be74-2495b842f43b']);
    const r = await h.service().run({ trigger: 'cli' });
    assert.equal(r.state, 'succeeded', r.error ?? '');
    assert.equal(r.counts.badDocuments.count, 0);
    const merged = r.counts.categories!.merged + (r.counts.updates?.merged ?? 0);
    assert.equal(count(h.db, 'SELECT count(*) AS n FROM revisions'), merged);
    assert.ok(count(h.db, "SELECT count(*) AS n FROM updates WHERE update_id = 'a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe'") === 1, 'the Defender update arrived');
  } finally {
    h.close();
  }
});

test('a crash mid-fetch or mid-merge, then a re-run, ends in the same catalog as an uninterrupted sync', async () => {
  const docs = docsOf(40, 21).map((d) => d.xml);
  const clean = harness();
  const crashFetch = harness();
  const crashMerge = harness();
  try {
    for (const h of [clean, crashFetch, crashMerge]) {
      h.fake.maxPerRequest = 10;
      h.fake.addAll(docs);
      createSyncStore(h.db).addRule('architecture', 'x86', new Date());
    }
    assert.equal((await clean.service().run({ trigger: 'cli' })).state, 'succeeded');
    const expected = catalogSnapshot(clean.db);
    assert.ok(expected.some((l) => l.startsWith('excluded ')), 'the rule excluded something');

    // 1) the process "dies" during the updates fetch: staged batches stay
    crashFetch.fake.failures.push({ op: 'updateData', call: 12, error: () => new Error('simulated crash') });
    const f1 = await crashFetch.service().run({ trigger: 'cli' });
    assert.equal(f1.state, 'failed');
    const staged = count(crashFetch.db, "SELECT count(*) AS n FROM sync_staging WHERE phase = 'updates'");
    assert.ok(staged > 0, 'fetched batches were staged');
    const callsBefore = crashFetch.fake.calls.filter((c) => c.op === 'updateData').reduce((a, c) => a + (c.arg as number), 0);
    const f2 = await crashFetch.service().run({ trigger: 'cli' });
    assert.equal(f2.state, 'succeeded', f2.error ?? '');
    assert.equal(f2.counts.updates!.alreadyStaged, staged, 'staged documents are not fetched again');
    const refetched = crashFetch.fake.calls.filter((c) => c.op === 'updateData').reduce((a, c) => a + (c.arg as number), 0) - callsBefore;
    assert.equal(refetched, f2.counts.updates!.fetched);
    assert.deepEqual(catalogSnapshot(crashFetch.db), expected);

    // 2) the process "dies" during the merge, after some pages committed
    let inserts = 0;
    const failing = new Proxy(crashMerge.catalog, {
      get(target, prop, recv) {
        if (prop === 'insert') {
          return (...args: Parameters<typeof target.insert>) => {
            if (++inserts === 120) throw new Error('simulated crash in merge');
            return target.insert(...args);
          };
        }
        return Reflect.get(target, prop, recv) as unknown;
      },
    });
    const m1 = await crashMerge.service({ catalog: failing }).run({ trigger: 'cli' });
    assert.equal(m1.state, 'failed');
    assert.match(m1.error!, /simulated crash in merge/);
    const m2 = await crashMerge.service().run({ trigger: 'cli' });
    assert.equal(m2.state, 'succeeded', m2.error ?? '');
    assert.deepEqual(catalogSnapshot(crashMerge.db), expected);
  } finally {
    clean.close();
    crashFetch.close();
    crashMerge.close();
  }
});
