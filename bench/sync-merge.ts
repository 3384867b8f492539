// The downstream sync service alone, in process: a full sync of a generated catalog
// (~50,000 revisions) from a fake MS-WSUSSS session that reads documents from a prepared
// catalog database (so upstream documents are not held in this process's memory), then an
// incremental sync after 100 revisions changed. Measures the service's own cost (list,
// GetUpdateData batches through staging, parse, merge) without HTTP, SOAP or CAB decoding;
// bench/sync.ts measures the whole chain. Figures only.
//
//   node dist/bench/sync-merge.js [--updates 12500] [--seed 1] [--concurrency 2] [--arm64]

import Database from 'better-sqlite3';
import type { Dispatcher } from 'undici';
import { prepareCatalog } from './support/catalog.js';
import { createSyncService } from '../src/services/sync/sync.service.js';
import type { ServerSyncSession, UpstreamSessionOptions } from '../src/upstream/server-sync-session.js';
import type { UpdateIdentity } from '../src/core/server-sync/server-sync-model.js';
import { createCatalogStore } from '../src/store/catalog.store.js';
import { createSyncStore } from '../src/store/sync.store.js';
import { adminHandle, quietLog, tempDataDir, testConfig } from '../test/support/test-server.js';
import { argNumber } from './support/knobs.js';

const updates = argNumber('updates', 12_500);
const seed = argNumber('seed', 1);
const concurrency = argNumber('concurrency', 2);
const mb = (b: number): string => `${(b / 1048576).toFixed(0)} MB`;

/** An upstream backed by a catalog database: lists by change counter, serves documents by id. */
function dbUpstream(file: string) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE IF NOT EXISTS bench_changes (update_id TEXT, revision_number INTEGER, seq INTEGER PRIMARY KEY, document TEXT)');
  const listQ = db.prepare<[number, number], { update_id: string; revision_number: number; is_config: number; seq: number }>(
    `SELECT u.update_id, r.revision_number, r.update_type IN ('Category', 'Detectoid') AS is_config, r.id AS seq
       FROM revisions r JOIN updates u ON u.id = r.update_pk WHERE r.id > ?
     UNION ALL SELECT update_id, revision_number, 0, 1000000000 + seq FROM bench_changes WHERE 1000000000 + seq > ?`,
  );
  const docQ = db.prepare<[string, number], { document: string }>(
    'SELECT r.document FROM revisions r JOIN updates u ON u.id = r.update_pk WHERE u.update_id = ? AND r.revision_number = ?',
  );
  const changedQ = db.prepare<[string, number], { document: string }>('SELECT document FROM bench_changes WHERE update_id = ? AND revision_number = ?');
  const maxQ = db.prepare<[], { m: number }>("SELECT max(m) AS m FROM (SELECT max(id) AS m FROM revisions UNION ALL SELECT 1000000000 + max(seq) FROM bench_changes)");
  const anchorSeq = (a: string | null) => (a === null ? 0 : Number(a));
  return {
    db,
    open: async (o: UpstreamSessionOptions): Promise<ServerSyncSession> => ({
      baseUrl: o.baseUrl,
      configData: async () => ({
        catalogOnlySync: false, lazySync: true, serverHostsPsfFiles: false, maxNumberOfUpdatesPerRequest: 100, maxNumberOfDriverSetsPerRequest: 100,
        maxNumberOfComputerIdsInRequest: 100, maxNumberOfPnpHardwareIdsInRequest: 100, maxUpdatesPerRequestInGetUpdateDecryptionData: 100,
        newConfigAnchor: String(maxQ.get()!.m), protocolVersion: '1.20', languages: [{ id: 0, short: 'all', long: 'all', enabled: true }],
      }),
      revisionIdList: async (f) => {
        const since = anchorSeq(f.anchor);
        const revisions: UpdateIdentity[] = [];
        for (const r of listQ.iterate(since, since)) {
          if ((r.is_config === 1) === f.getConfig) revisions.push({ updateId: r.update_id, revisionNumber: r.revision_number });
        }
        return { anchor: String(maxQ.get()!.m), revisions };
      },
      updateData: async (ids) => {
        // Yield like a network answer would, so batches interleave as they do for real.
        await new Promise((r) => setImmediate(r));
        return {
          updates: ids.map((id) => ({
            identity: id, fileDigests: [],
            xml: (changedQ.get(id.updateId, id.revisionNumber) ?? docQ.get(id.updateId, id.revisionNumber))!.document,
          })),
          fileUrls: [],
        };
      },
      decryptionData: async () => [],
      deployments: async () => { throw new Error('not used'); },
      downloadFiles: async () => {},
      rollupConfiguration: async () => { throw new Error('not used'); },
      contentUrl: () => '',
    }),
  };
}

async function main(): Promise<void> {
  const prepared = prepareCatalog(updates, seed);
  const upstream = dbUpstream(`${prepared.dataDir}/wsus.db`);
  const tmp = tempDataDir();
  let peak = 0;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 100);
  try {
    const config = testConfig(tmp.dir, { sync: { upstream: 'http://bench-upstream:8530', content: 'none', concurrency } });
    const h = adminHandle(config);
    const service = createSyncService({
      db: h.db, config, catalog: createCatalogStore(h.db), contentStore: null, replica: null, openSession: upstream.open,
      dispatcher: {} as Dispatcher, serverId: '00000000-0000-4000-8000-000000000001', log: quietLog, clock: () => new Date(),
    });
    // --arm64: with an exclusion rule, so the exclusion plan (bundles first, then the rest) is measured too
    if (process.argv.includes('--arm64')) createSyncStore(h.db).addRule('architecture', 'arm64', new Date());
    console.log(`catalog: ${prepared.revisions} revisions (${updates} updates, seed ${seed}), concurrency ${concurrency}`);
    peak = process.memoryUsage().rss;
    console.log(`RSS before the sync: ${mb(peak)}`);
    const full = await service.run({ trigger: 'cli' });
    if (full.state !== 'succeeded') throw new Error(full.error ?? 'failed');
    const revs = (full.counts.categories?.merged ?? 0) + (full.counts.updates?.merged ?? 0);
    console.log(`full sync: ${revs} revisions in ${(full.durationMs / 1000).toFixed(1)} s = ${Math.round(revs / (full.durationMs / 1000))} revisions/s, peak RSS ${mb(peak)}`);
    console.log(`  categories ${full.counts.categories?.ms} ms, updates ${full.counts.updates?.ms} ms (${full.counts.updates?.requests} GetUpdateData calls, ${full.counts.updates?.excluded} excluded)`);

    // 100 changed revisions upstream: new revision numbers of existing software updates
    const picks = upstream.db.prepare(
      `SELECT u.update_id AS id, r.revision_number AS rev, r.document AS doc FROM updates u JOIN revisions r ON r.id = u.current_revision_id
        WHERE r.update_type = 'Software' ORDER BY u.id LIMIT 100`,
    ).all() as Array<{ id: string; rev: number; doc: string }>;
    const ins = upstream.db.prepare('INSERT INTO bench_changes (update_id, revision_number, document) VALUES (?, ?, ?)');
    upstream.db.transaction(() => {
      upstream.db.exec('DELETE FROM bench_changes');
      for (const p of picks) {
        const rev = p.rev + 1000;
        ins.run(p.id, rev, p.doc.replace(/(UpdateIdentity UpdateID="[^"]+" RevisionNumber=")\d+"/, `$1${rev}"`));
      }
    })();
    const inc = await service.run({ trigger: 'cli' });
    if (inc.state !== 'succeeded') throw new Error(inc.error ?? 'failed');
    console.log(`incremental sync: ${inc.counts.updates?.merged} changed revisions in ${(inc.durationMs / 1000).toFixed(2)} s`);
    upstream.db.exec('DELETE FROM bench_changes');
    h.close();
  } finally {
    clearInterval(sampler);
    upstream.db.close();
    tmp.cleanup();
    prepared.cleanup();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
