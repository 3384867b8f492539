import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateCatalog, type GeneratedContentFile } from '../src/fixtures/catalog-generator.js';
import { createContentStore, type ContentStore } from '../src/services/content-store.service.js';
import { createSyncContentSource } from '../src/services/sync/content-source.js';
import { syncState } from '../src/services/sync/sync-state.js';
import { createSyncStore } from '../src/store/sync.store.js';
import { quietLog } from './support/test-server.js';
import { count, harness, type Harness } from './support/sync-harness.js';

// The content phase: 'all' and 'approved' against a real content store and an HTTP upstream
// serving /Content (404 → DownloadFiles + pending), Microsoft URLs, and the lazy-download hook.

interface ContentServer { url: string; served: string[]; missing: Set<string>; close: () => Promise<void> }

async function contentServer(files: GeneratedContentFile[]): Promise<ContentServer> {
  const byName = new Map(files.map((f) => [f.contentFileName.toUpperCase(), f]));
  const served: string[] = [];
  const missing = new Set<string>();
  const server: Server = createServer((req, res) => {
    const name = (req.url ?? '').split('/').pop()!.toUpperCase();
    const hex = name.split('.')[0]!;
    const f = byName.get(name) ?? files.find((x) => x.sha1Hex === hex && (req.url ?? '').startsWith('/mu/'));
    if (!f || missing.has(f.sha1Hex)) { res.statusCode = 404; res.end(); return; }
    served.push(req.url ?? '');
    const body = f.bytes();
    res.setHeader('content-length', body.length);
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, served, missing, close: () => new Promise((r) => server.close(() => r())) };
}

async function withContent(sync: Record<string, unknown>, body: (h: Harness, store: ContentStore, srv: ContentServer, files: GeneratedContentFile[]) => Promise<void>): Promise<void> {
  const cat = generateCatalog({ updates: 12, seed: 31, fileSize: 4096 });
  const files = [...cat.contentFiles];
  const srv = await contentServer(files);
  const h = harness({ upstream: srv.url, ...sync });
  h.fake.muBase = `${srv.url}/mu`;
  h.fake.addAll([...cat.documents].map((d) => d.xml));
  const store = createContentStore({ db: h.db, dir: h.config.contentDir, log: quietLog, clock: () => new Date(), retryDelayMs: 1, downloadAttempts: 1 });
  try {
    await body(h, store, srv, files);
  } finally {
    await store.close();
    h.close();
    await srv.close();
  }
}

test("content 'all' downloads every file clients can be offered (not expired, declined or old revisions); 404s go to DownloadFiles and stay pending", async () => {
  await withContent({ content: 'all' }, async (h, store, srv) => {
    const r0 = await h.service({ contentStore: store }).run({ trigger: 'cli' });
    assert.equal(r0.state, 'succeeded', r0.error ?? '');
    const all = (h.db.prepare(
      `SELECT DISTINCT f.sha1_hex AS h, f.sha1 FROM files f JOIN revisions r ON r.id = f.revision_id
         JOIN updates u ON u.current_revision_id = r.id AND u.declined = 0 WHERE r.publication_state != 'Expired'`,
    ).all() as Array<{ h: string; sha1: string }>);
    const expiredOnly = h.db.prepare(
      `SELECT count(DISTINCT f.sha1_hex) AS n FROM files f JOIN revisions r ON r.id = f.revision_id WHERE r.publication_state = 'Expired'
         AND f.sha1_hex NOT IN (SELECT f2.sha1_hex FROM files f2 JOIN revisions r2 ON r2.id = f2.revision_id JOIN updates u2 ON u2.current_revision_id = r2.id
                                 WHERE r2.publication_state != 'Expired')`,
    ).get() as { n: number };
    assert.ok(expiredOnly.n > 0, 'the catalog has files only expired updates use');
    assert.equal(count(h.db, `SELECT count(*) AS n FROM content c WHERE c.sha1_hex IN (SELECT f.sha1_hex FROM files f JOIN revisions r ON r.id = f.revision_id WHERE r.publication_state = 'Expired')
      AND c.sha1_hex NOT IN (SELECT f2.sha1_hex FROM files f2 JOIN revisions r2 ON r2.id = f2.revision_id JOIN updates u2 ON u2.current_revision_id = r2.id WHERE r2.publication_state != 'Expired')`), 0,
      'files only expired updates use are not fetched');
    assert.equal(r0.counts.content!.wanted, all.length);
    assert.equal(r0.counts.content!.downloaded, all.length);
    assert.equal(count(h.db, "SELECT count(*) AS n FROM content WHERE state = 'present'"), all.length);
    assert.ok(srv.served.every((u) => u.startsWith('/Content/')));

    // drop two files from the content store and hide them on the upstream: DownloadFiles, pending
    const gone = all.slice(0, 2);
    h.db.prepare(`DELETE FROM content WHERE sha1_hex IN (${gone.map(() => '?').join(',')})`).run(...gone.map((g) => g.h));
    for (const g of gone) srv.missing.add(g.h);
    const r1 = await h.service({ contentStore: store }).run({ trigger: 'cli' });
    assert.equal(r1.state, 'succeeded', r1.error ?? '');
    assert.equal(r1.counts.content!.requestedFromUpstream, 2);
    assert.deepEqual(h.fake.downloadRequests.at(-1)!.sort(), gone.map((g) => g.sha1).sort());
    const st = syncState(createSyncStore(h.db));
    assert.deepEqual(st.pendingContent(), gone.map((g) => g.h).sort());
    // the upstream got them: the next run fetches them and clears the pending list
    srv.missing.clear();
    const r2 = await h.service({ contentStore: store }).run({ trigger: 'cli' });
    assert.equal(r2.counts.content!.downloaded, 2);
    assert.deepEqual(st.pendingContent(), []);
  });
});

test("content 'approved' fetches only the files of Install-approved updates (bundle members included), from Microsoft when asked", async () => {
  await withContent({ content: 'approved', contentSource: 'microsoft' }, async (h, store, srv) => {
    const r0 = await h.service({ contentStore: store }).run({ trigger: 'cli' });
    assert.equal(r0.state, 'succeeded', r0.error ?? '');
    assert.equal(r0.counts.content!.wanted, 0, 'nothing approved yet');
    const bundle = h.db.prepare(
      "SELECT u.update_id AS id, r.bundled_updates AS b FROM updates u JOIN revisions r ON r.id = u.current_revision_id WHERE r.bundled_updates != '[]' LIMIT 1",
    ).get() as { id: string; b: string };
    h.targeting.approve(bundle.id, 'All Computers', 'Install', null, 'admin', new Date());
    const members = (JSON.parse(bundle.b) as Array<{ updateId: string; revisionNumber: number }>);
    const expected = new Set((h.db.prepare(
      `SELECT DISTINCT f.sha1_hex AS h FROM files f JOIN revisions r ON r.id = f.revision_id JOIN updates u ON u.id = r.update_pk
        WHERE u.update_id IN (${members.map(() => '?').join(',')})`,
    ).all(...members.map((m) => m.updateId)) as Array<{ h: string }>).map((r) => r.h));
    assert.ok(expected.size > 0);
    const r1 = await h.service({ contentStore: store }).run({ trigger: 'cli' });
    assert.equal(r1.state, 'succeeded', r1.error ?? '');
    assert.equal(r1.counts.content!.downloaded, expected.size);
    const present = new Set((h.db.prepare("SELECT sha1_hex AS h FROM content WHERE state = 'present'").all() as Array<{ h: string }>).map((r) => r.h));
    assert.deepEqual(present, expected);
    assert.ok(srv.served.length > 0 && srv.served.every((u) => u.startsWith('/mu/')), 'Microsoft URLs were used');
  });
});

test('the lazy-download hook names the upstream content URL, or the Microsoft URL, without a session', async () => {
  await withContent({ content: 'approved' }, async (h, _store, srv) => {
    await h.service().run({ trigger: 'cli' });
    const f = h.db.prepare('SELECT sha1_hex AS h, file_name AS n FROM files LIMIT 1').get() as { h: string; n: string };
    const hook = createSyncContentSource({ db: h.db, config: h.config, catalog: h.catalog });
    const ext = f.n.slice(f.n.lastIndexOf('.'));
    assert.deepEqual(await hook(f.h), { url: `${srv.url}/Content/${f.h.slice(-2)}/${f.h}${ext}` });
    assert.equal(await hook('0'.repeat(40)), undefined, 'unknown digest');
    const mu = createSyncContentSource({ db: h.db, config: { sync: { ...h.config.sync, contentSource: 'microsoft' } }, catalog: h.catalog });
    assert.deepEqual(await mu(f.h), { url: `${srv.url}/mu/${f.h}.bin` });
    const none = createSyncContentSource({ db: h.db, config: { sync: { ...h.config.sync, content: 'none' } }, catalog: h.catalog });
    assert.equal(await none(f.h), undefined);
  });
});
