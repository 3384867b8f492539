import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Db } from '../store/database.js';
import type { CatalogStore } from '../store/catalog.store.js';
import { parseUpdateDocument } from '../core/catalog/parse-update.js';
import type { ParsedUpdate } from '../core/catalog/update-model.js';
import type { Logger } from '../logger.js';

export interface ImportProgress {
  done: number;
  total: number;
  added: number;
  unchanged: number;
  failed: number;
}

export interface ImportFailure {
  source: string;
  error: string;
}

export interface ImportResult extends ImportProgress {
  failures: ImportFailure[];
}

export interface UpdateDocumentSource {
  name: string;
  read(): string;
}

/** Every `.xml` file under the given files or folders, in a stable order. */
export function documentSources(paths: readonly string[]): UpdateDocumentSource[] {
  const out: string[] = [];
  const walk = (p: string): void => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) walk(join(p, name));
    } else if (st.isFile() && extname(p).toLowerCase() === '.xml') {
      out.push(p);
    }
  };
  for (const p of paths) walk(p);
  return out.map((file) => ({ name: file, read: () => readFileSync(file, 'utf8') }));
}

const BATCH = 500;

/**
 * Ingests update documents: parse and derive fragments once, then store each batch in one
 * transaction. Re-importing is idempotent, so an interrupted import resumes by running again.
 * A bad document is reported and skipped; it never leaves a partial revision behind.
 */
export function importDocuments(
  deps: { db: Db; catalog: CatalogStore; log: Logger; clock: () => Date },
  sources: readonly UpdateDocumentSource[],
  onProgress?: (p: ImportProgress) => void,
): ImportResult {
  const result: ImportResult = { done: 0, total: sources.length, added: 0, unchanged: 0, failed: 0, failures: [] };
  for (let start = 0; start < sources.length; start += BATCH) {
    const parsed: Array<{ src: UpdateDocumentSource; xml: string; update: ParsedUpdate }> = [];
    for (const src of sources.slice(start, start + BATCH)) {
      try {
        const xml = src.read();
        parsed.push({ src, xml, update: parseUpdateDocument(xml) });
      } catch (e) {
        result.failed++;
        result.failures.push({ source: src.name, error: (e as Error).message });
        deps.log.warn('update document rejected', { source: src.name, error: (e as Error).message });
      }
    }
    deps.db.transaction(() => {
      const now = deps.clock();
      for (const p of parsed) {
        const { outcome } = deps.catalog.insert(p.update, p.xml, now);
        if (outcome === 'added') result.added++;
        else result.unchanged++;
      }
      deps.catalog.finishBatch(now);
    }).immediate();
    result.done = Math.min(sources.length, start + BATCH);
    onProgress?.({ ...result });
  }
  deps.log.info('import finished', { total: result.total, added: result.added, unchanged: result.unchanged, failed: result.failed });
  return result;
}
