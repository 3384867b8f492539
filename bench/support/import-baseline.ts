// Child process of bench/sync: imports every revision document of a source database into a
// fresh database with the local import path (no network, no SOAP). The floor a sync of the
// same documents is compared against. Prints one JSON line.

import Database from 'better-sqlite3';
import { importDocuments, type UpdateDocumentSource } from '../../src/services/import.service.js';
import { adminHandle, quietLog, testConfig } from '../../test/support/test-server.js';
import { rssOf } from './processes.js';

const [sourceDb, outDir] = process.argv.slice(2);
if (!sourceDb || !outDir) throw new Error('usage: import-baseline <source.db> <outDir>');
const src = new Database(sourceDb, { readonly: true });
// Categories first, as a sync delivers them; then in ingest order.
const rows = src.prepare(
  "SELECT document FROM revisions ORDER BY CASE update_type WHEN 'Category' THEN 0 WHEN 'Detectoid' THEN 1 ELSE 2 END, id",
).pluck().iterate() as IterableIterator<string>;
const h = adminHandle(testConfig(outDir));
let peak = 0;
let done = 0;
const t0 = performance.now();
let chunk: UpdateDocumentSource[] = [];
const flush = (): void => {
  const r = importDocuments({ db: h.db, catalog: h.catalog, log: quietLog, clock: () => new Date() }, chunk);
  if (r.failed) throw new Error(`baseline import rejected ${r.failed} documents`);
  done += chunk.length;
  chunk = [];
  peak = Math.max(peak, rssOf(process.pid) ?? 0);
};
for (const xml of rows) {
  chunk.push({ name: String(done + chunk.length), read: () => xml });
  if (chunk.length >= 500) flush();
}
if (chunk.length) flush();
const seconds = (performance.now() - t0) / 1000;
h.close();
src.close();
process.stdout.write(`${JSON.stringify({ revisions: done, seconds, peakRss: peak })}\n`);
