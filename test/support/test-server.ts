import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validate, type ServerConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logger.js';
import { startServer, type RunningServer } from '../../src/app/server.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { createCatalogStore } from '../../src/store/catalog.store.js';
import { createTargetingStore } from '../../src/store/targeting.store.js';
import { loadServerIdentity } from '../../src/store/server-identity.store.js';
import { importDocuments, type UpdateDocumentSource } from '../../src/services/import.service.js';

// Builds real servers on temporary data directories for loopback tests: a real SQLite file,
// a real HTTP listener on an ephemeral port, and a quiet logger.

export const quietLog = createLogger('error', process.env.WSUS_TEST_LOG !== '1');

export function tempDataDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'wsus-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function testConfig(dataDir: string, overrides: Record<string, unknown> = {}): ServerConfig {
  // The admin API on an ephemeral port too, unless a test says otherwise (parallel tests must not collide on 8532).
  const admin = { port: 0, ...(overrides.admin as Record<string, unknown> | undefined) };
  return validate({ host: '127.0.0.1', httpPort: 0, seedDemoCatalog: false, ...overrides, admin }, dataDir);
}

/** Opens the data directory's database as the CLI would (another connection, like another process). */
export function adminHandle(config: ServerConfig): { db: Db; catalog: ReturnType<typeof createCatalogStore>; targeting: ReturnType<typeof createTargetingStore>; close: () => void } {
  const db = openDatabase(config.databaseFile);
  loadServerIdentity(db, new Date());
  const targeting = createTargetingStore(db);
  targeting.ensureBuiltinGroups(new Date());
  return { db, catalog: createCatalogStore(db), targeting, close: () => db.close() };
}

export function importInto(config: ServerConfig, sources: UpdateDocumentSource[]): ReturnType<typeof importDocuments> {
  const h = adminHandle(config);
  try {
    return importDocuments({ db: h.db, catalog: h.catalog, log: quietLog, clock: () => new Date() }, sources);
  } finally {
    h.close();
  }
}

export async function withServer<T>(overrides: Record<string, unknown>, prepare: (config: ServerConfig) => void | Promise<void>, body: (server: RunningServer, config: ServerConfig) => Promise<T>): Promise<T> {
  const tmp = tempDataDir();
  const config = testConfig(tmp.dir, overrides);
  try {
    await prepare(config);
    const server = await startServer(config, quietLog);
    try {
      return await body(server, config);
    } finally {
      await server.close();
    }
  } finally {
    tmp.cleanup();
  }
}
