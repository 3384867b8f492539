import { loadConfig, type ServerConfig } from '../config/config.js';
import { createLogger, type Logger } from '../logger.js';
import { openDatabase, type Db } from '../store/database.js';
import { loadServerIdentity } from '../store/server-identity.store.js';
import { createCatalogStore } from '../store/catalog.store.js';
import { createTargetingStore } from '../store/targeting.store.js';

/** What offline commands need: the same database the server uses, opened safely beside it (WAL). */
export function openDataDir(dataDir: string | undefined) {
  const config: ServerConfig = loadConfig({ dataDir });
  const log: Logger = createLogger(process.env.WSUS_LOG_LEVEL ?? 'warn');
  const db: Db = openDatabase(config.databaseFile);
  const now = new Date();
  loadServerIdentity(db, now);
  const catalog = createCatalogStore(db);
  const targeting = createTargetingStore(db);
  targeting.ensureBuiltinGroups(now);
  return { config, log, db, catalog, targeting };
}
