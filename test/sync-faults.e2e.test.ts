import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateCatalog, writeCatalog, type GeneratedDocument } from '../src/fixtures/catalog-generator.js';
import { documentSources } from '../src/services/import.service.js';
import { createContentStore } from '../src/services/content-store.service.js';
import { syncState } from '../src/services/sync/sync-state.js';
import { createSyncStore } from '../src/store/sync.store.js';
import { createSyncRunsStore } from '../src/store/sync-runs.store.js';
import { syncCommand } from '../src/cli/commands/sync.command.js';
import { healthCommand } from '../src/cli/commands/health.command.js';
import { startFaultProxy, type FaultProxy, type FaultRule } from './support/fault-proxy.js';
import { adminHandle, importInto, quietLog, tempDataDir } from './support/test-server.js';
import {
  assertSameCatalog, capturingLog, count, textSink, currentCore, downstreamSettings, importGenerated, operations, revisionKeys, startNode, startUpstream, updateDataItems,
  type CapturedLog, type Node,
} from './support/sync-loopback.js';

// Upstream A (ours, a generated catalog, 20 updates per GetUpdateData) ← fault proxy ←
// downstream B, all real servers on loopback. Every fault the proxy can inject is survived
// (retries, re-requests) and B ends with the same catalog as a downstream that synced without
// faults; a fault beyond sync.retries fails the run with its exact error (history, health),
// keeps the committed anchors, and the next run fetches only what is missing; corrupted
// content is quarantined and never served; a rebuilt upstream (new identity, same port)
// answers ServerChanged and B resynchronizes fully in the same run.

const MAX_PER_REQUEST = 20;
const CATALOG: GeneratedDocument[] = [...generateCatalog({ updates: 60, seed: 17 }).documents];
/** what the upstream lists: the highest revision of each update */
const UPDATES = new Set(CATALOG.map((d) => d.updateId)).size;

let A: Node;
let reference: string[];

before(async () => {
  // blobs above 5,120 bytes go out as cabinets, as from a real WSUS
  A = await startUpstream(CATALOG, MAX_PER_REQUEST, { compressBlobs: true });
  const clean = await startNode(downstreamSettings(A.url));
  try {
    const r = await clean.server.sync.run({ trigger: 'admin' });
    assert.equal(r.state, 'succeeded', r.error ?? '');
    reference = currentCore(clean.server.db);
    assertSameCatalog(reference, currentCore(A.server.db), 'the clean downstream holds what the upstream holds');
  } finally {
    await clean.close();
  }
});

after(async () => {
  await A?.close();
});

interface Rig { proxy: FaultProxy; B: Node; captured: CapturedLog }

async function rig(target: string, sync: Record<string, unknown> = {}): Promise<Rig> {
  const proxy = await startFaultProxy(target);
  const captured = capturingLog();
  const B = await startNode(downstreamSettings(proxy.url, sync), { log: captured.log });
  return { proxy, B, captured };
}

async function unrig(r: Rig): Promise<void> {
  await r.B.close();
  await r.proxy.close();
}

const serverId = (n: Node): string => (n.server.db.prepare("SELECT value FROM meta WHERE key = 'server_id'").get() as { value: string }).value;

/** Stops `old`, replaces its database with a fresh one (a new server id) holding `docs`, and starts it on the same port. */
async function rebuild(old: Node, docs: GeneratedDocument[]): Promise<Node> {
  await old.stop();
  for (const f of ['wsus.db', 'wsus.db-wal', 'wsus.db-shm']) rmSync(join(old.dir, f), { force: true });
  const node = await startNode({ httpPort: old.port, upstreamRole: { maxUpdatesPerRequest: MAX_PER_REQUEST } }, {
    dir: old.dir, prepare: (c) => importGenerated(c, docs),
  });
  assert.equal(node.port, old.port);
  return node;
}

interface FaultCase {
  name: string;
  rules: FaultRule[];
  /** what the upstream client's retry warnings must include (`operation: reason`) */
  retries: RegExp[];
}

const CASES: FaultCase[] = [
  {
    name: 'ServerBusy on GetUpdateData, twice',
    rules: [{ operation: 'GetUpdateData', fault: { kind: 'server-busy' }, times: 2 }],
    retries: [/^GetUpdateData: ServerBusy$/, /^GetUpdateData: ServerBusy$/],
  },
  {
    name: 'dropped connection on GetRevisionIdList',
    rules: [{ operation: 'GetRevisionIdList', fault: { kind: 'drop' } }],
    retries: [/^GetRevisionIdList: (UND_ERR_SOCKET|ECONNRESET)/],
  },
  {
    name: 'truncated GetUpdateData answer',
    rules: [{ operation: 'GetUpdateData', fault: { kind: 'truncate' } }],
    retries: [/^GetUpdateData: (UND_ERR_RES_CONTENT_LENGTH_MISMATCH|truncated response|UND_ERR_SOCKET)/],
  },
  {
    name: 'HTTP 503 on GetConfigData, 502 on GetAuthConfig',
    rules: [
      { operation: 'GetConfigData', fault: { kind: 'http-status', status: 503 } },
      { operation: 'GetAuthConfig', fault: { kind: 'http-status', status: 502 } },
    ],
    retries: [/^GetAuthConfig: HTTP 502/, /^GetConfigData: HTTP 503/],
  },
];

test('each injected fault is survived and the downstream ends with the same catalog as a clean one', { concurrency: true }, async (t) => {
  await Promise.all(CASES.map((c) => t.test(c.name, async () => {
    const r = await rig(A.url);
    try {
      for (const rule of c.rules) r.proxy.inject(rule);
      const run = await r.B.server.sync.run({ trigger: 'admin' });
      assert.equal(run.state, 'succeeded', run.error ?? '');
      assert.equal(r.proxy.pending(), 0, 'every fault was hit');
      assert.equal(run.counts.badDocuments.count, 0);
      assertSameCatalog(currentCore(r.B.server.db), reference, 'catalog');
      const retries = r.captured.retries();
      assert.equal(retries.length, c.retries.length, retries.join('\n'));
      for (const re of c.retries) assert.ok(retries.some((x) => re.test(x)), `${re} in\n${retries.join('\n')}`);
      // each retried call went out again: one request per fault plus the ones that succeeded
      const faulted = r.proxy.requests.filter((q) => q.fault !== null);
      assert.equal(faulted.length, c.rules.reduce((n, x) => n + (x.times ?? 1), 0));
      const history = createSyncRunsStore(r.B.server.db).history(1)[0]!;
      assert.equal(history.state, 'succeeded');
      assert.equal(history.error, null);
    } finally {
      await unrig(r);
    }
  })));
});

test('partial GetUpdateData answers: the items left out are asked for again, and only those', async () => {
  const r = await rig(A.url);
  try {
    r.proxy.inject({ operation: 'GetUpdateData', fault: { kind: 'partial-update-data' }, times: 3 });
    const run = await r.B.server.sync.run({ trigger: 'admin' });
    assert.equal(run.state, 'succeeded', run.error ?? '');
    assertSameCatalog(currentCore(r.B.server.db), reference, 'catalog');
    const asked = updateDataItems(r.proxy);
    const partial = r.proxy.requests.filter((q) => q.operation === 'GetUpdateData').map((q) => q.fault === 'partial-update-data');
    // every second item of the three cut answers, in the order they were asked
    const withheld = asked.flatMap((items, i) => (partial[i] ? items.filter((_, k) => k % 2 === 1) : []));
    assert.ok(withheld.length >= 20, `${withheld.length} withheld`);
    const reRequested = (run.counts.categories?.reRequested ?? 0) + (run.counts.updates?.reRequested ?? 0);
    assert.equal(reRequested, withheld.length, 'the run counts what it asked again');
    // each withheld identity was asked exactly twice, everything else exactly once
    const times = new Map<string, number>();
    for (const k of asked.flat()) times.set(k, (times.get(k) ?? 0) + 1);
    for (const [k, n] of times) assert.equal(n, withheld.includes(k) ? 2 : 1, k);
    assert.equal(times.size, UPDATES);
    // visible in the history: the persisted counts carry reRequested
    const row = createSyncRunsStore(r.B.server.db).byId(run.runId)!;
    const counts = row.counts as { categories?: { reRequested: number }; updates?: { reRequested: number } };
    assert.equal((counts.categories?.reRequested ?? 0) + (counts.updates?.reRequested ?? 0), withheld.length);
  } finally {
    await unrig(r);
  }
});

test('a fault beyond sync.retries fails the run with its exact error (history, health), keeps committed anchors; the next run fetches only what is missing', async () => {
  const r = await rig(A.url, { retries: 2, concurrency: 1 });
  try {
    let armedAt = -1;
    const run = await r.B.server.sync.run({
      trigger: 'admin',
      onProgress: (p) => {
        // 40 updates staged: the next GetUpdateData is refused more often than B tries
        if (armedAt < 0 && p.phase === 'updates' && p.step === 'fetch' && p.done >= 2 * MAX_PER_REQUEST) {
          armedAt = p.done;
          r.proxy.inject({ operation: 'GetUpdateData', fault: { kind: 'server-busy' }, times: 2 });
        }
      },
    });
    assert.equal(armedAt, 2 * MAX_PER_REQUEST);
    assert.equal(run.state, 'failed');
    assert.equal(run.phase, 'updates');
    const exact = 'GetUpdateData: upstream fault ServerBusy';
    assert.equal(run.error, exact);
    assert.deepEqual(r.captured.retries(), ['GetUpdateData: ServerBusy'], 'tried twice (sync.retries = 2), then gave up');
    assert.ok(r.captured.entries.some((e) => e.level === 'error' && e.message === 'sync failed' && e.error === exact && e.phase === 'updates'));

    const db = r.B.server.db;
    const row = createSyncRunsStore(db).byId(run.runId)!;
    assert.deepEqual([row.state, row.phase, row.error], ['failed', 'updates', exact]);
    const st = syncState(createSyncStore(db));
    assert.ok(st.anchor('config') && st.anchor('categories'), 'committed phases keep their anchors');
    assert.equal(st.anchor('updates'), null, 'the failed phase saved none');
    const staged = count(db, "SELECT count(*) AS n FROM sync_staging WHERE phase = 'updates'");
    assert.equal(staged, 2 * MAX_PER_REQUEST, 'the fetched batches wait in staging');
    const categories = run.counts.categories!.merged;

    // the CLI, as an admin would ask (another connection on the same data directory)
    const hist = textSink();
    assert.equal(await syncCommand(['history', '--local', '--data', r.B.dir], { out: hist.stream, err: hist.stream }), 0);
    assert.match(hist.text(), new RegExp(`^#${run.runId} .* failed .* updates .*\\n\\s+error: ${exact}$`, 'm'));
    const histJson = textSink();
    await syncCommand(['history', '--local', '--data', r.B.dir, '--json'], { out: histJson.stream, err: histJson.stream });
    assert.equal((JSON.parse(histJson.text()) as Array<{ error: string }>)[0]!.error, exact);
    const health = textSink();
    assert.equal(await healthCommand(['--local', '--data', r.B.dir], { out: health.stream }), 1, 'unhealthy: exit 1');
    assert.match(health.text(), new RegExp(`problem: last sync failed at \\S+ during updates: ${exact}`));

    // fault cleared (both refusals used up): the next run resumes
    assert.equal(r.proxy.pending(), 0);
    const from = r.proxy.requests.length;
    const again = await r.B.server.sync.run({ trigger: 'admin' });
    assert.equal(again.state, 'succeeded', again.error ?? '');
    assertSameCatalog(currentCore(db), reference, 'catalog');
    assert.equal(again.counts.categories!.fetched, 0, 'categories were committed: nothing fetched');
    assert.equal(again.counts.updates!.alreadyStaged, staged);
    const listed = again.counts.updates!.listed;
    assert.equal(again.counts.updates!.fetched, listed - staged);
    const items = updateDataItems(r.proxy, from);
    assert.equal(items.length, Math.ceil((listed - staged) / MAX_PER_REQUEST), 'GetUpdateData calls of the second run');
    assert.equal(new Set(items.flat()).size, listed - staged);
    // over both runs every revision was asked for once, the refused batch twice (its two tries)
    const all = updateDataItems(r.proxy).flat();
    assert.equal(all.length, UPDATES + 2 * MAX_PER_REQUEST);
    assert.equal(categories + listed, UPDATES);
    assert.equal(count(db, 'SELECT count(*) AS n FROM sync_staging'), 0);
    const healthy = textSink();
    assert.equal(await healthCommand(['--local', '--data', r.B.dir], { out: healthy.stream }), 0, healthy.text());
  } finally {
    await unrig(r);
  }
});

test('corrupted content is quarantined and never served; a later run fetches it intact', async () => {
  const cat = tempDataDir();
  let upstream: Node | undefined;
  let r: Rig | undefined;
  try {
    await writeCatalog(cat.dir, { updates: 6, seed: 23, fileSize: 8192 });
    upstream = await startNode({ upstreamRole: { maxUpdatesPerRequest: MAX_PER_REQUEST } }, {
      prepare: async (config) => {
        const imported = importInto(config, documentSources([join(cat.dir, 'updates')]));
        assert.equal(imported.failed, 0);
        const h = adminHandle(config);
        const store = createContentStore({ db: h.db, dir: config.contentDir, log: quietLog, clock: () => new Date() });
        try {
          const rep = await store.importFiles([join(cat.dir, 'content')]);
          assert.equal(rep.stored, rep.total);
        } finally {
          await store.close();
          h.close();
        }
      },
    });
    r = await rig(upstream.url, { content: 'all' });
    const db = r.B.server.db;
    r.proxy.inject({ operation: 'Content', fault: { kind: 'corrupt-content' } });
    const run = await r.B.server.sync.run({ trigger: 'admin' });
    assert.equal(run.state, 'succeeded', run.error ?? '');
    const files = count(db, 'SELECT count(DISTINCT sha1_hex) AS n FROM files');
    assert.equal(run.counts.content!.wanted, files);
    assert.equal(run.counts.content!.failed, 1);
    assert.equal(run.counts.content!.downloaded, files - 1);
    assert.match(run.counts.content!.errors[0]!, /SHA-1|digest|mismatch/i);
    const corrupted = r.proxy.requests.find((q) => q.fault === 'corrupt-content')!;
    const hex = /\/Content\/[0-9A-F]{2}\/([0-9A-F]{40})\./i.exec(corrupted.path)![1]!.toUpperCase();
    const contentRow = () => db.prepare('SELECT state, quarantine_file AS q FROM content WHERE sha1_hex = ?').get(hex) as { state: string; q: string | null };
    const first = contentRow();
    assert.equal(first.state, 'quarantined');
    assert.ok(first.q);
    assert.equal(count(db, "SELECT count(*) AS n FROM content WHERE state = 'present'"), files - 1);

    // A client asking B for it gets a 404: the bad bytes are never served. (B's lazy fetch for a
    // missing file leaves a digest whose download just failed alone for a while.)
    const path = corrupted.path;
    for (let i = 0; i < 2; i++) {
      const miss = await fetch(`${r.B.url}${path}`);
      assert.equal(miss.status, 404);
      await miss.arrayBuffer();
    }
    assert.equal(contentRow().state, 'quarantined');
    assert.equal(r.proxy.pending(), 0);

    const run2 = await r.B.server.sync.run({ trigger: 'admin' });
    assert.equal(run2.state, 'succeeded', run2.error ?? '');
    assert.equal(run2.counts.content!.wanted, 1);
    assert.equal(run2.counts.content!.downloaded, 1);
    assert.equal(contentRow().state, 'present');
    const ok = await fetch(`${r.B.url}${path}`);
    assert.equal(ok.status, 200);
    const bytes = Buffer.from(await ok.arrayBuffer());
    assert.equal(createHash('sha1').update(bytes).digest('hex').toUpperCase(), hex);
  } finally {
    if (r) await unrig(r);
    await upstream?.close();
    cat.cleanup();
  }
});

test('an upstream rebuilt with a new identity on the same port: ServerChanged, anchors cleared, full resync in the same run', async () => {
  // about 80% of the catalog, cut right after a bundle so no bundle member is left without its bundle
  let cut = Math.floor(CATALOG.length * 0.8);
  while (!(CATALOG[cut - 1]!.kind === 'bundle' && CATALOG[cut]!.kind !== 'bundle')) cut--;
  const old = await startUpstream(CATALOG.slice(0, cut), MAX_PER_REQUEST);
  let rebuilt: Node | undefined;
  const r = await rig(old.url);
  try {
    const first = await r.B.server.sync.run({ trigger: 'admin' });
    assert.equal(first.state, 'succeeded', first.error ?? '');
    assertSameCatalog(currentCore(r.B.server.db), currentCore(old.server.db), 'catalog');
    const oldServerId = serverId(old);
    // A rebuilt with a fresh database holding the whole catalog, on the port it had
    rebuilt = await rebuild(old, CATALOG);
    assert.notEqual(serverId(rebuilt), oldServerId, 'a new identity');

    const had = revisionKeys(r.B.server.db);
    const latest = new Map<string, number>();
    for (const d of CATALOG) latest.set(d.updateId, Math.max(latest.get(d.updateId) ?? 0, d.revisionNumber));
    const lacking = [...latest].map(([id, rev]) => `${id}:${rev}`).filter((k) => !had.has(k));
    assert.ok(lacking.length > 20, `${lacking.length} revisions only the rebuilt upstream has`);
    const from = r.proxy.requests.length;
    const second = await r.B.server.sync.run({ trigger: 'admin' });
    assert.equal(second.state, 'succeeded', second.error ?? '');
    assert.ok(second.counts.notes.some((n) => /ServerChanged during config: anchors cleared, full resynchronization/.test(n)), second.counts.notes.join('\n'));
    assertSameCatalog(currentCore(r.B.server.db), currentCore(rebuilt.server.db), 'B equals the new upstream');
    assertSameCatalog(currentCore(r.B.server.db), reference, 'catalog');

    const reqs = r.proxy.requests.slice(from);
    assert.deepEqual(r.captured.retries(), [], 'nothing needed a retry');
    assert.deepEqual(operations(r.proxy, from).slice(0, 8),
      ['GetAuthConfig', 'GetAuthorizationCookie', 'GetCookie', 'GetAuthConfig', 'GetAuthorizationCookie', 'GetCookie', 'GetConfigData', 'GetRevisionIdList']);
    assert.match(reqs[2]!.body, /<oldCookie>/, 'the first GetCookie presents the old identity\'s cookie');
    assert.doesNotMatch(reqs[5]!.body, /<oldCookie>/, 'after ServerChanged the cookie was dropped');
    assert.doesNotMatch(reqs[6]!.body, /<configAnchor>/, 'config anchor cleared');
    for (const q of reqs.filter((x) => x.operation === 'GetRevisionIdList')) assert.doesNotMatch(q.body, /<Anchor>/, 'every list starts from no anchor');
    // full listing, but only what B lacked is fetched
    assert.equal(second.counts.categories!.listed + second.counts.updates!.listed, UPDATES);
    assert.equal(second.counts.categories!.fetched + second.counts.updates!.fetched, lacking.length);
    assert.deepEqual(updateDataItems(r.proxy, from).flat().sort(), lacking.sort());
    const st = syncState(createSyncStore(r.B.server.db));
    assert.ok(st.anchor('config') && st.anchor('categories') && st.anchor('updates'), 'fresh anchors from the new identity');
  } finally {
    await unrig(r);
    if (rebuilt) await rebuilt.close();
    else await old.close();
  }
});

test('an upstream rebuilt in the middle of the updates phase: the refused cookie leads to ServerChanged and a full resync in the same run', async () => {
  const old = await startUpstream(CATALOG, MAX_PER_REQUEST);
  let rebuilt: Node | undefined;
  const r = await rig(old.url, { concurrency: 1 });
  try {
    const oldServerId = serverId(old);
    // GetUpdateData slowed down so the restart happens between two of them
    r.proxy.inject({ operation: 'GetUpdateData', fault: { kind: 'delay', ms: 100 }, times: 100_000 });
    let restart: Promise<void> | null = null;
    const run = await r.B.server.sync.run({
      trigger: 'admin',
      onProgress: (p) => {
        if (restart || p.phase !== 'updates' || p.step !== 'fetch' || p.done < MAX_PER_REQUEST) return;
        restart = rebuild(old, CATALOG).then((n) => {
          rebuilt = n;
        });
        restart.catch(() => undefined); // awaited below
      },
    });
    assert.ok(restart, 'the upstream was restarted during the run');
    await restart;
    assert.notEqual(serverId(rebuilt!), oldServerId);
    assert.equal(run.state, 'succeeded', run.error ?? '');
    assert.ok(run.counts.notes.some((n) => /ServerChanged during updates: anchors cleared, full resynchronization/.test(n)), run.counts.notes.join('\n'));
    assertSameCatalog(currentCore(r.B.server.db), reference, 'catalog');
    assert.equal(count(r.B.server.db, 'SELECT count(*) AS n FROM sync_staging'), 0);
    // Our upstream answers a session cookie of its former identity with ServerChanged at once
    // (a real WSUS says InvalidCookie, then ServerChanged to GetCookie: sync-recorded-upstream).
    // The batch it refused is the only one asked twice; the batch staged before was kept.
    assert.equal(run.counts.updates!.alreadyStaged, MAX_PER_REQUEST);
    assert.equal(run.counts.categories!.fetched, 0, 'the categories are all here: listed again, not fetched');
    const asked = updateDataItems(r.proxy).flat();
    const times = new Map<string, number>();
    for (const k of asked) times.set(k, (times.get(k) ?? 0) + 1);
    const twice = [...times].filter(([, n]) => n > 1).map(([k]) => k).sort();
    assert.equal(twice.length, MAX_PER_REQUEST);
    assert.ok(updateDataItems(r.proxy).some((items) => JSON.stringify([...items].sort()) === JSON.stringify(twice)), 'exactly one batch was asked again');
    assert.ok([...times.values()].every((n) => n <= 2));
  } finally {
    await unrig(r);
    if (rebuilt) await rebuilt.close();
    else await old.close();
  }
});
