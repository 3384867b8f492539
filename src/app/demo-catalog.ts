import type { ServerConfig } from '../config/config.js';
import type { Logger } from '../logger.js';
import { openDatabase } from '../store/database.js';
import { createCatalogStore } from '../store/catalog.store.js';
import { importDocuments } from '../services/import.service.js';
import { generateCatalog } from '../fixtures/catalog-generator.js';

/** A newcomer's first start: a small synthetic catalog so a client can scan against it at once. */
export function seedDemoCatalogIfEmpty(config: ServerConfig, log: Logger): void {
  const db = openDatabase(config.databaseFile);
  try {
    const empty = (db.prepare('SELECT count(*) AS n FROM revisions').get() as { n: number }).n === 0;
    if (!empty) return;
    const catalog = createCatalogStore(db);
    const generated = generateCatalog({ updates: 12, seed: 1 });
    const sources = [...generated.documents].map((d) => ({ name: d.fileName, read: () => d.xml }));
    const r = importDocuments({ db, catalog, log, clock: () => new Date() }, sources);
    log.info('demo catalog imported', { revisions: r.added });
  } finally {
    db.close();
  }
}
