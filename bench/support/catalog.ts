// Prepares the benchmark's data directory: a synthetic catalog imported once into a pristine
// database cached under the temp folder (keyed by size, seed and the code that shapes the rows),
// then copied into a fresh directory per run so a run never sees another run's computers.

import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCatalog, type GeneratedDocument } from '../../src/fixtures/catalog-generator.js';
import { importDocuments, type UpdateDocumentSource } from '../../src/services/import.service.js';
import { adminHandle, quietLog, testConfig } from '../../test/support/test-server.js';

export interface PreparedCatalog {
  /** fresh data directory for this run (database + config.json) */
  dataDir: string;
  revisions: number;
  revisionsPerUpdate: number;
  /** seconds the import took (when it was cached: the time it took back then) */
  importSeconds: number;
  /** true when the cached database was reused */
  reused: boolean;
  cacheDir: string;
  fragments: { coreAvg: number; coreP95: number; extendedAvg: number; localizedAvg: number; documentAvg: number };
  cleanup(): void;
}

const here = dirname(fileURLToPath(import.meta.url));
const distRoot = join(here, '..', '..');

/** Hash of the compiled code that decides what the imported rows look like. */
function codeHash(): string {
  const h = createHash('sha256');
  const files: string[] = ['src/services/import.service.js'];
  for (const dir of ['src/fixtures', 'src/core/catalog', 'src/store']) {
    for (const name of readdirSync(join(distRoot, dir)).filter((n) => n.endsWith('.js')).sort()) files.push(`${dir}/${name}`);
  }
  for (const f of files) h.update(f).update(readFileSync(join(distRoot, f)));
  return h.digest('hex').slice(0, 12);
}

const CHUNK = 2000;

function importCatalog(dbDir: string, updates: number, seed: number): { revisions: number; revisionsPerUpdate: number } {
  const catalog = generateCatalog({ updates, seed });
  const config = testConfig(dbDir);
  const h = adminHandle(config);
  try {
    let chunk: GeneratedDocument[] = [];
    let done = 0;
    const flush = (): void => {
      const sources: UpdateDocumentSource[] = chunk.map((d) => ({ name: d.fileName, read: () => d.xml }));
      const r = importDocuments({ db: h.db, catalog: h.catalog, log: quietLog, clock: () => new Date() }, sources);
      if (r.failed) throw new Error(`import rejected ${r.failed} documents, first: ${r.failures[0]?.source}: ${r.failures[0]?.error}`);
      done += chunk.length;
      chunk = [];
      if (process.stdout.isTTY) process.stdout.write(`\r  importing ${done}/${catalog.summary.counts.documents} revisions`);
    };
    for (const d of catalog.documents) {
      chunk.push(d);
      if (chunk.length >= CHUNK) flush();
    }
    if (chunk.length) flush();
    if (process.stdout.isTTY) process.stdout.write('\n');
    h.db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    h.close();
  }
  return { revisions: catalog.summary.counts.documents, revisionsPerUpdate: catalog.summary.revisionsPerUpdate };
}

function fragmentStats(dbFile: string): PreparedCatalog['fragments'] {
  const db = new Database(dbFile, { readonly: true });
  try {
    const core = (db.prepare('SELECT length(core_escaped) FROM revisions ORDER BY 1').pluck().all() as number[]);
    const avg = (sql: string): number => Math.round(Number(db.prepare(sql).pluck().get() ?? 0));
    return {
      coreAvg: Math.round(core.reduce((a, b) => a + b, 0) / Math.max(1, core.length)),
      coreP95: core[Math.floor(core.length * 0.95)] ?? 0,
      extendedAvg: avg('SELECT avg(length(extended_escaped)) FROM revisions'),
      localizedAvg: avg('SELECT avg(length(xml_escaped)) FROM revision_localized'),
      documentAvg: avg('SELECT avg(length(document)) FROM revisions'),
    };
  } finally {
    db.close();
  }
}

export function prepareCatalog(updates: number, seed: number): PreparedCatalog {
  const cacheRoot = join(tmpdir(), 'wsus-bench-cache');
  const cacheDir = join(cacheRoot, `u${updates}-s${seed}-${codeHash()}`);
  const cachedDb = join(cacheDir, 'wsus.db');
  const metaFile = join(cacheDir, 'catalog.json');
  let reused = true;
  if (!existsSync(metaFile)) {
    rmSync(cacheDir, { recursive: true, force: true });
    const building = `${cacheDir}.building-${process.pid}`;
    rmSync(building, { recursive: true, force: true });
    mkdirSync(building, { recursive: true });
    const t0 = performance.now();
    const counts = importCatalog(building, updates, seed);
    const importSeconds = (performance.now() - t0) / 1000;
    reused = false;
    const fragments = fragmentStats(join(building, 'wsus.db'));
    writeFileSync(join(building, 'catalog.json'), JSON.stringify({ updates, seed, ...counts, importSeconds, fragments }, null, 2));
    renameSync(building, cacheDir);
    // Databases built by older code for the same size and seed are of no further use.
    const prefix = `u${updates}-s${seed}-`;
    for (const name of readdirSync(cacheRoot)) {
      if (name.startsWith(prefix) && join(cacheRoot, name) !== cacheDir && !name.includes('.building-')) rmSync(join(cacheRoot, name), { recursive: true, force: true });
    }
  }
  const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as {
    revisions: number; revisionsPerUpdate: number; importSeconds: number; fragments: PreparedCatalog['fragments'];
  };
  const dataDir = mkdtempSync(join(tmpdir(), 'wsus-bench-run-'));
  copyFileSync(cachedDb, join(dataDir, 'wsus.db'));
  writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ seedDemoCatalog: false, logLevel: 'error' }, null, 2));
  return {
    dataDir,
    revisions: meta.revisions,
    revisionsPerUpdate: meta.revisionsPerUpdate,
    importSeconds: meta.importSeconds,
    reused,
    cacheDir,
    fragments: meta.fragments,
    cleanup: () => rmSync(dataDir, { recursive: true, force: true }),
  };
}
