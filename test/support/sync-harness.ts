import type { Dispatcher } from 'undici';
import type { ServerConfig } from '../../src/config/config.js';
import type { Db } from '../../src/store/database.js';
import { createCatalogStore, type CatalogStore } from '../../src/store/catalog.store.js';
import { createSyncService, type SyncService } from '../../src/services/sync/sync.service.js';
import type { SyncServiceDeps } from '../../src/services/sync/sync-types.js';
import type { TargetingStore } from '../../src/store/targeting.store.js';
import type { ContentStore } from '../../src/services/content-store.service.js';
import { adminHandle, quietLog, tempDataDir, testConfig } from './test-server.js';
import { FakeUpstream } from './sync-fake-upstream.js';

// A downstream on a real SQLite file, syncing from a FakeUpstream.

export const FAKE_UPSTREAM_URL = 'http://upstream.test:8530';

export interface Harness {
  config: ServerConfig;
  db: Db;
  catalog: CatalogStore;
  targeting: TargetingStore;
  fake: FakeUpstream;
  service: (over?: Partial<SyncServiceDeps>) => SyncService;
  close: () => void;
}

export function harness(sync: Record<string, unknown> = {}, fake = new FakeUpstream()): Harness {
  const tmp = tempDataDir();
  const config = testConfig(tmp.dir, { sync: { upstream: FAKE_UPSTREAM_URL, content: 'none', concurrency: 3, ...sync } });
  const h = adminHandle(config);
  const catalog = createCatalogStore(h.db);
  return {
    config, db: h.db, catalog, targeting: h.targeting, fake,
    service: (over = {}) => createSyncService({
      db: h.db, config, catalog, contentStore: null, replica: config.sync.mode === 'replica' ? h.targeting : null, openSession: fake.opener(), dispatcher: {} as Dispatcher,
      serverId: '11111111-2222-3333-4444-555555555555', log: quietLog, clock: () => new Date(), ...over,
    }),
    close: () => {
      h.close();
      tmp.cleanup();
    },
  };
}

/** Everything a client could observe of the catalog, in a stable order, for state comparisons. */
export function catalogSnapshot(db: Db): string[] {
  const revs = db.prepare(
    `SELECT u.update_id, r.revision_number, r.title, r.publication_state, u.is_leaf, u.declined,
            (u.current_revision_id = r.id) AS current, r.core_escaped, r.extended_escaped,
            (SELECT group_concat(f.sha1_hex || ':' || coalesce(f.mu_url, ''), ',') FROM files f WHERE f.revision_id = r.id) AS files
       FROM revisions r JOIN updates u ON u.id = r.update_pk ORDER BY u.update_id, r.revision_number`,
  ).all() as Array<Record<string, unknown>>;
  const excluded = db.prepare('SELECT update_id, revision_number, reason FROM sync_excluded ORDER BY update_id').all();
  return [...revs.map((r) => JSON.stringify(r)), ...excluded.map((e) => `excluded ${JSON.stringify(e)}`)];
}

export function count(db: Db, sql: string, ...params: unknown[]): number {
  return (db.prepare(sql).get(...params) as { n: number }).n;
}

export type { ContentStore };
