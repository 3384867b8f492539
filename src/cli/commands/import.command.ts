import { documentSources, importDocuments } from '../../services/import.service.js';
import { flag, parseArgs, UsageError } from '../args.js';
import { openDataDir } from '../context.js';
import { progressReporter } from '../progress.js';

export const importHelp = `wsus import [--data DIR] PATH...
  Imports update metadata documents (<Update> XML, one per file; folders are walked).
  Safe while the server runs; it picks the new revisions up at once. Re-running resumes.
  Example: wsus import --data ./data ./catalog/updates`;

export function importCommand(argv: string[]): number {
  const args = parseArgs(argv, ['data']);
  if (args.positional.length === 0) throw new UsageError('import needs at least one file or folder');
  const ctx = openDataDir(flag(args, 'data'));
  try {
    const sources = documentSources(args.positional);
    const progress = progressReporter('import');
    const r = importDocuments({ ...ctx, clock: () => new Date() }, sources, (p) =>
      progress(p.done, p.total, `added ${p.added}, unchanged ${p.unchanged}, failed ${p.failed}`));
    for (const f of r.failures.slice(0, 20)) process.stderr.write(`rejected ${f.source}: ${f.error}\n`);
    if (r.failures.length > 20) process.stderr.write(`... and ${r.failures.length - 20} more rejected\n`);
    process.stdout.write(`imported ${r.total} documents: ${r.added} added, ${r.unchanged} unchanged, ${r.failed} rejected\n`);
    return r.failed > 0 ? 1 : 0;
  } finally {
    ctx.db.close();
  }
}
