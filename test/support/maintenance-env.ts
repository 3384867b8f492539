import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { ServerConfig } from '../../src/config/config.js';
import { generateCatalog, type GeneratedCatalog } from '../../src/fixtures/catalog-generator.js';
import { createContentStore, type ContentStore } from '../../src/services/content-store.service.js';
import { createMaintenance, type Maintenance } from '../../src/services/maintenance/maintenance.js';
import type { SyncRunOptions, SyncRunResult } from '../../src/services/sync/sync-types.js';
import { adminHandle, importInto, quietLog, tempDataDir, testConfig } from './test-server.js';

// A data directory holding a generated catalog (and its content), with the maintenance
// service on its own connection and a clock the test moves: the store/service tier of the
// automatic rules and cleanup tests.

export interface MaintenanceEnv {
  config: ServerConfig;
  catalog: GeneratedCatalog;
  h: ReturnType<typeof adminHandle>;
  content: ContentStore;
  maintenance: Maintenance;
  now: { value: Date };
  /** days from now, as the clock the services see */
  advance(days: number): void;
  all<T>(sql: string, ...params: unknown[]): T[];
  one<T>(sql: string, ...params: unknown[]): T;
  n(sql: string, ...params: unknown[]): number;
  /** every table maintenance may touch, as text: for "a dry run changes nothing" */
  snapshot(): string;
  close(): Promise<void>;
}

export async function maintenanceEnv(o: { updates?: number; seed?: number; settings?: Record<string, unknown>; withContent?: boolean; docs?: (catalog: GeneratedCatalog) => Iterable<{ fileName: string; xml: string }>; yieldToEventLoop?: () => Promise<void> } = {}): Promise<MaintenanceEnv> {
  const tmp = tempDataDir();
  const config = testConfig(tmp.dir, { contentOrphanGraceHours: 1, ...o.settings });
  const catalog = generateCatalog({ updates: o.updates ?? 40, seed: o.seed ?? 3 });
  const r = importInto(config, [...(o.docs ? o.docs(catalog) : catalog.documents)].map((d) => ({ name: d.fileName, read: () => d.xml })));
  assert.equal(r.failed, 0);
  const h = adminHandle(config);
  const now = { value: new Date() };
  const clock = () => now.value;
  const content = createContentStore({ db: h.db, dir: config.contentDir, log: quietLog, clock, orphanGraceHours: config.contentOrphanGraceHours });
  if (o.withContent) {
    for (const f of catalog.contentFiles) {
      const res = await content.ingestStream(Readable.from([f.bytes()]), f.sha1Hex);
      assert.notEqual(res.outcome, 'rejected');
    }
  }
  const sync = { run: (_o: SyncRunOptions): Promise<SyncRunResult> => Promise.reject(new Error('no sync in this test')) };
  const maintenance = createMaintenance({
    db: h.db, config, targeting: h.targeting, content, log: quietLog, clock, sync,
    ...(o.yieldToEventLoop ? { yieldToEventLoop: o.yieldToEventLoop } : {}),
  });
  const all = <T>(sql: string, ...params: unknown[]): T[] => h.db.prepare(sql).all(...params) as T[];
  const one = <T>(sql: string, ...params: unknown[]): T => h.db.prepare(sql).get(...params) as T;
  return {
    config, catalog, h, content, maintenance, now, all, one,
    advance(days) {
      now.value = new Date(now.value.getTime() + days * 86_400_000);
    },
    n: (sql, ...params) => (one<{ n: number }>(sql, ...params)).n,
    snapshot() {
      const tables = ['updates', 'approvals', 'deployment_tombstones', 'computers', 'events', 'content', 'counters', 'maintenance_rules'];
      const rev = all('SELECT id, update_pk, revision_number FROM revisions ORDER BY id');
      const files = all('SELECT revision_id, sha1_hex FROM files ORDER BY revision_id, sha1_hex');
      return JSON.stringify([...tables.map((t) => all(`SELECT * FROM ${t} ORDER BY 1, 2`)), rev, files]);
    },
    async close() {
      await maintenance.scheduler.stop();
      await content.close();
      h.close();
      tmp.cleanup();
    },
  };
}
