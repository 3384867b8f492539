import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { documentSources, importDocuments } from '../../services/import.service.js';
import type { PackageImportResult } from '../../services/transfer/import-package.service.js';
import { printJson, progressOnStderr } from '../admin-client.js';
import { API_BOOL_FLAGS, API_FLAGS, withAdminSession } from '../admin-session.js';
import { flag, parseArgs, UsageError } from '../args.js';
import { openDataDir } from '../context.js';
import { progressReporter } from '../progress.js';

export const importHelp = `wsus import [--data DIR] PATH...
  Imports update metadata documents (<Update> XML, one per file; folders are walked) into DIR's
  database. Safe while the server runs; it picks the new revisions up at once. Re-running resumes.
  Example: wsus import --data ./data ./catalog/updates
wsus import PACKAGE.tar [--dry-run] [--json]
  Imports a package made by wsus export on another server, through the admin API (admin token;
  or --local [--data DIR]). Nothing changes unless the package verifies completely: its manifest
  signed by a certificate in transfer.trustedCerts, every member present with its SHA-256, no
  other member. Then update documents, content files (verified again by the content store) and,
  when the package has them, groups, approvals and declines are applied. An interrupted import
  resumes where it stopped when the same package is imported again. --dry-run verifies and
  reports what would change. A replica refuses packages with approvals (exit 4).
  Exit 0 imported, 1 some documents or files were rejected, 2 the package was refused.
  Example: wsus import /media/usb/wsus-2026-05.tar`;

/** A tar file (ustar magic in the first header), or a file named .tar. */
export function isPackageFile(path: string): boolean {
  let st;
  try {
    st = statSync(path);
  } catch {
    return false;
  }
  if (!st.isFile()) return false;
  if (/\.tar$/i.test(path)) return true;
  if (st.size < 512) return false;
  const fd = openSync(path, 'r');
  try {
    const block = Buffer.alloc(512);
    readSync(fd, block, 0, 512, 0);
    return block.subarray(257, 262).toString('latin1') === 'ustar';
  } finally {
    closeSync(fd);
  }
}

function documentImport(positional: string[], dataDir: string | undefined): number {
  const ctx = openDataDir(dataDir);
  try {
    const sources = documentSources(positional);
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

export function formatPackageImport(r: PackageImportResult): string {
  const lines: string[] = [];
  const what = r.dryRun ? 'verified (dry run, nothing changed)' : r.alreadyImported ? 'already imported: nothing to do' : r.resumed ? 'imported (resumed)' : 'imported';
  lines.push(`package ${r.packageId} (${r.kind}, from server ${r.sourceServerId}, made ${r.createdAt}) ${what}`);
  lines.push(`  signed by ${r.signer.subject} (${r.signer.trustedAs === 'pinned' ? 'trusted certificate' : 'issued by a trusted CA'}, SHA-256 ${r.signer.fingerprint256})`);
  const d = r.documents;
  if (!r.dryRun && !r.alreadyImported) {
    lines.push(`  update documents: ${d.total}, ${d.added} added, ${d.unchanged} unchanged, ${d.failed} rejected`);
    for (const f of d.failures) lines.push(`    rejected ${f.member}: ${f.error}`);
    const c = r.content;
    if (c.total) lines.push(`  content files: ${c.total}, ${c.stored} stored, ${c.alreadyPresent} already present, ${c.rejected} rejected, ${c.unknown} unknown to the metadata`);
    for (const e of c.errors) lines.push(`    ${e}`);
  } else {
    lines.push(`  update documents: ${d.total}; content files: ${r.content.total}`);
  }
  const t = r.targeting;
  if (t) {
    lines.push(`  groups: ${t.groupsCreated} created, ${t.groupsUpdated} updated, ${t.groupsMatchedByName} matched by name`);
    lines.push(`  approvals: ${t.approved} ${r.dryRun ? 'to approve' : 'approved'}, ${t.unapproved} removed, ${t.unchanged} unchanged; declines: ${t.declined} declined, ${t.undeclined} undeclined`
      + `${t.unknownUpdates ? `; ${t.unknownUpdates} for updates this server does not have` : ''}`);
    for (const n of t.notes.slice(0, 20)) lines.push(`    note: ${n}`);
  }
  lines.push(`  anchor ${r.anchor} (the source's next delta: wsus export --since ${r.anchor})`);
  return `${lines.join('\n')}\n`;
}

async function packageImport(file: string, args: ReturnType<typeof parseArgs>): Promise<number> {
  const dryRun = args.flags.get('dry-run') === true;
  const p = progressOnStderr();
  let r: PackageImportResult;
  try {
    r = await withAdminSession(args, (c) => c.upload<PackageImportResult>(`/api/import${dryRun ? '?dryRun=true' : ''}`, file, p.onProgress));
  } finally {
    p.end();
  }
  if (args.flags.get('json')) printJson(r);
  else process.stdout.write(formatPackageImport(r));
  return r.documents.failed > 0 || r.content.rejected > 0 || r.content.unknown > 0 ? 1 : 0;
}

export function importCommand(argv: string[]): number | Promise<number> {
  const args = parseArgs(argv, [...API_FLAGS], ['json', 'dry-run', ...API_BOOL_FLAGS]);
  if (args.positional.length === 0) throw new UsageError('import needs at least one file or folder');
  const packages = args.positional.filter(isPackageFile);
  if (packages.length) {
    if (args.positional.length > 1) throw new UsageError('import takes one package file at a time (or update documents and folders, not both)');
    return packageImport(resolve(packages[0]!), args);
  }
  for (const f of ['json', 'dry-run', 'local'] as const) if (args.flags.has(f)) throw new UsageError(`--${f} applies to package files only`);
  for (const f of ['server', 'token', 'ca'] as const) if (args.flags.has(f)) throw new UsageError(`--${f} applies to package files only (documents are imported into --data DIR)`);
  return documentImport(args.positional, flag(args, 'data'));
}
