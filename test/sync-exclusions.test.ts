import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { parseUpdateDocument } from '../src/core/catalog/parse-update.js';
import { createSyncAdmin } from '../src/services/sync/sync-admin.js';
import { DomainError } from '../src/core/errors.js';
import { catalogSnapshot, count, harness } from './support/sync-harness.js';

// Exclusion rules end to end: excluded updates and the members of excluded bundles never
// reach the catalog and are recorded with a reason; removing the rule brings them back on the
// next sync without refetching what is already here.

test('an architecture rule keeps x86 bundles, their members and x86 standalones out; removing it brings them back', async () => {
  const docs = [...generateCatalog({ updates: 40, seed: 21 }).documents];
  const h = harness();
  const reference = harness();
  try {
    h.fake.addAll(docs.map((d) => d.xml));
    reference.fake.addAll(docs.map((d) => d.xml));
    const admin = createSyncAdmin(h.db);
    const rule = admin.addExclusion('architecture', 'X86', new Date());
    assert.equal(rule.pattern, 'x86');
    assert.throws(() => admin.addExclusion('architecture', 'x86', new Date()), (e: unknown) => e instanceof DomainError && e.code === 'Conflict');

    const r = await h.service().run({ trigger: 'cli' });
    assert.equal(r.state, 'succeeded', r.error ?? '');
    assert.ok(r.counts.updates!.excluded > 0);
    const excluded = admin.excluded(10_000);
    assert.equal(excluded.length, r.counts.updates!.excluded);

    const parsed = new Map(docs.map((d) => [`${d.updateId}:${d.revisionNumber}`, parseUpdateDocument(d.xml)]));
    const inCatalog = new Set((h.db.prepare('SELECT update_id AS id FROM updates').all() as Array<{ id: string }>).map((x) => x.id));
    const excludedIds = new Set(excluded.map((e) => e.updateId));
    // bundles titled for x86 are out, and so are members no kept bundle names
    const listed = [...parsed.values()].filter((p) => p.updateType === 'Software');
    const x86Bundles = listed.filter((p) => p.bundledUpdates.length && /x86/.test(p.title) && !/x64|arm64/i.test(p.title));
    assert.ok(x86Bundles.length > 0);
    for (const b of x86Bundles) if (excludedIds.has(b.identity.updateId)) assert.ok(!inCatalog.has(b.identity.updateId), b.title);
    const memberReasons = excluded.filter((e) => /bundled only in excluded update/.test(e.reason));
    assert.ok(memberReasons.length > 0, 'members followed their bundles');
    for (const m of memberReasons) assert.ok(!inCatalog.has(m.updateId));
    // members of kept bundles stay even when their own title would match
    const keptBundles = listed.filter((p) => p.bundledUpdates.length && inCatalog.has(p.identity.updateId));
    for (const b of keptBundles) for (const m of b.bundledUpdates) assert.ok(inCatalog.has(m.updateId) || !parsed.has(`${m.updateId}:${m.revisionNumber}`), `member of kept ${b.title}`);
    // nothing excluded is refetched on the next (incremental) run
    const again = await h.service().run({ trigger: 'cli' });
    assert.equal(again.counts.updates!.fetched, 0);

    assert.throws(() => admin.removeExclusion(9999), (e: unknown) => e instanceof DomainError && e.code === 'NotFound');
    admin.removeExclusion(rule.id);
    assert.equal(admin.excludedCount(), 0);
    const back = await h.service().run({ trigger: 'cli' });
    assert.equal(back.state, 'succeeded', back.error ?? '');
    assert.equal(back.counts.updates!.fetched, excluded.length, 'only the formerly excluded revisions are fetched');
    assert.equal((await reference.service().run({ trigger: 'cli' })).state, 'succeeded');
    assert.deepEqual(catalogSnapshot(h.db), catalogSnapshot(reference.db));
    assert.equal(count(h.db, 'SELECT count(*) AS n FROM revisions'), count(reference.db, 'SELECT count(*) AS n FROM revisions'));
  } finally {
    h.close();
    reference.close();
  }
});

test('title, KB and language-pack rules', async () => {
  const docs = [...generateCatalog({ updates: 30, seed: 8 }).documents];
  const h = harness();
  try {
    h.fake.addAll(docs.map((d) => d.xml));
    const standalone = docs.map((d) => parseUpdateDocument(d.xml)).filter((p) => p.updateType === 'Software' && !p.bundledUpdates.length && p.kbArticleIds.length && p.prerequisites.some((c) => c.isCategory));
    const byKb = standalone[0]!;
    const admin = createSyncAdmin(h.db);
    admin.addExclusion('kb', `KB${byKb.kbArticleIds[0]}`, new Date());
    admin.addExclusion('title', '/quality rollup|cumulative update.*x64/', new Date());
    admin.addExclusion('language-pack', '', new Date());
    const r = await h.service().run({ trigger: 'cli' });
    assert.equal(r.state, 'succeeded', r.error ?? '');
    const reasons = admin.excluded(10_000);
    assert.ok(reasons.some((e) => e.updateId === byKb.identity.updateId && /KB/.test(e.reason)));
    assert.ok(reasons.some((e) => /title matches/.test(e.reason)));
    const titles = (h.db.prepare("SELECT r.title FROM revisions r WHERE r.bundled_updates != '[]'").all() as Array<{ title: string }>).map((t) => t.title);
    assert.ok(titles.length > 0 && !titles.some((t) => /quality rollup|cumulative update.*x64/i.test(t)));
    assert.deepEqual(admin.rules().map((x) => x.kind), ['kb', 'title', 'language-pack']);
  } finally {
    h.close();
  }
});
