import type { Writable } from 'node:stream';
import {
  createContentStore, type ContentStats, type ContentStore, type CleanupReport, type SignatureSummary, type VerifyReport,
} from '../../services/content-store.service.js';
import { flag, parseArgs, UsageError } from '../args.js';
import { openDataDir } from '../context.js';
import { progressReporter } from '../progress.js';
import { API_BOOL_FLAGS, API_FLAGS, withAdminSession } from '../admin-session.js';

export const contentHelp = `wsus content import [--data DIR] [--json] PATH...
  Ingests local update files (folders are walked, symlinks skipped), matched to the metadata by
  SHA-1; each is verified against SHA-1, SHA-256 and size before it is served, and CAB, PE and
  MSI files have their Authenticode signature checked (contentSignatures.import: warn by
  default; enforce refuses what does not verify). Files that fail are quarantined under
  CONTENT/.quarantine. Files no update references are reported and left
  alone. Exit 1 when a file was mismatched or unreadable.
  (Local: it reads files on the machine where it runs, on DIR's database; safe while the server runs.)
wsus content verify [--deep] [--json]
  Checks every stored file (size; counts files changed on disk since last hashed; --deep: both
  digests and the Authenticode signature of CAB, PE and MSI files against the trust store, see
  wsus signing trust). Bad files are quarantined, missing ones
  forgotten; a signature that fails is quarantined where contentSignatures says enforce, reported
  where it says warn. Also lists files refused for their signature on ingest. Exit 1 when files
  were quarantined or are missing (signature warnings alone: 0).
wsus content cleanup [--dry-run] [--json]
  Deletes content no update references any more once orphaned for contentOrphanGraceHours,
  and files left by interrupted writes.
wsus content stats [--json]
  verify, cleanup and stats go through the admin API (--server/--token), or --local [--data DIR].
  Example: wsus content import --data ./data /mnt/wsuscontent`;

export interface CommandIo {
  out: Writable;
  err: Writable;
}

const stdio: CommandIo = { out: process.stdout, err: process.stderr };

const counts = (byStatus: Record<string, number>): string =>
  Object.entries(byStatus).sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${n} ${k}`).join(', ') || 'none';

/** Signature lines of verify and stats: policy, served files by status, refusals by reason. */
function signatureLines(s: SignatureSummary | undefined): string {
  if (!s) return '';
  const policy = s.policy ? `upstream ${s.policy.upstream}, import ${s.policy.import}, published ${s.policy.published}` : 'not checked by this store';
  const refused = Object.values(s.refused).reduce((a, b) => a + b, 0);
  return `signatures (policy: ${policy}): served files ${counts(s.byStatus)}\n`
    + (refused ? `refused for their signature (quarantined): ${counts(s.refused)}\n` : '');
}
const MAX_LISTED = 20;

async function withStore(dataDir: string | undefined, body: (store: ContentStore) => Promise<number>): Promise<number> {
  const ctx = openDataDir(dataDir);
  const store = createContentStore({
    db: ctx.db, dir: ctx.config.contentDir, log: ctx.log, clock: () => new Date(), orphanGraceHours: ctx.config.contentOrphanGraceHours,
    signatures: { policy: ctx.config.contentSignatures, dataDir: ctx.config.dataDir },
  });
  try {
    return await body(store);
  } finally {
    await store.close();
    ctx.db.close();
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function listed<T>(io: CommandIo, items: readonly T[], line: (t: T) => string): void {
  for (const t of items.slice(0, MAX_LISTED)) io.err.write(`${line(t)}\n`);
  if (items.length > MAX_LISTED) io.err.write(`... and ${items.length - MAX_LISTED} more\n`);
}

export async function contentCommand(argv: string[], io: CommandIo = stdio): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'import': {
      const args = parseArgs(rest, ['data'], ['json']);
      if (args.positional.length === 0) throw new UsageError('content import needs at least one file or folder');
      return withStore(flag(args, 'data'), async (store) => {
        const progress = progressReporter('content import');
        const r = await store.importFiles(args.positional, (p) =>
          progress(p.done, p.total, `stored ${p.report.stored}, present ${p.report.alreadyPresent}, unknown ${p.report.unknown}, mismatched ${p.report.mismatched}, refused ${p.report.signatureRefused}`));
        if (args.flags.get('json')) io.out.write(`${JSON.stringify(r, null, 2)}\n`);
        else {
          listed(io, r.problems, (p) => `${p.kind} ${p.path}: ${p.detail}`);
          io.out.write(`content import: ${r.total} files: ${r.stored} stored, ${r.alreadyPresent} already present, `
            + `${r.unknown} unknown, ${r.mismatched} mismatched (quarantined), ${r.signatureRefused} refused for their signature (quarantined), ${r.skipped} skipped\n`);
        }
        // Unknown files are normal (a content share holds more than this catalog); bad bytes are not.
        return r.mismatched > 0 || r.signatureRefused > 0 || r.problems.some((p) => p.kind === 'failed') ? 1 : 0;
      });
    }
    case 'verify': {
      const args = parseArgs(rest, [...API_FLAGS], ['json', 'deep', ...API_BOOL_FLAGS]);
      if (args.positional.length) throw new UsageError('content verify takes no arguments');
      const deep = args.flags.get('deep') === true;
      const progress = progressReporter(deep ? 'content verify --deep' : 'content verify');
      const r = await withAdminSession(args, (c) => c.run<VerifyReport>('POST', '/api/content/verify', { deep }, (p) => progress(p.done, p.total)));
      // A signature failure that policy `warn` lets through is reported, not a failure of the run.
      const failures = r.problems.filter((p) => p.action !== 'adopted' && !(p.problem === 'signature' && p.action === 'none'));
      if (args.flags.get('json')) io.out.write(`${JSON.stringify(r, null, 2)}\n`);
      else {
        listed(io, r.problems, (p) => `${p.problem} ${p.sha1Hex}: ${p.detail} (${p.action})`);
        listed(io, r.signatures?.recentRefusals ?? [], (x) => `refused ${x.sha1Hex}: ${x.reason} (at ${x.at})`);
        io.out.write(`content verify${deep ? ' --deep' : ''}: ${r.checked} checked, ${r.ok} ok, ${r.missing} missing, `
          + `${r.quarantined} quarantined, ${r.untracked} untracked${r.changedOnDisk ? `, ${r.changedOnDisk} changed on disk since last hashed (re-hashed before serving; --deep checks them now)` : ''}`
          + `${deep && r.signatures ? `, ${r.signatures.checked} signatures checked` : ''}\n${signatureLines(r.signatures)}`);
      }
      return failures.length > 0 ? 1 : 0;
    }
    case 'cleanup': {
      const args = parseArgs(rest, [...API_FLAGS], ['json', 'dry-run', ...API_BOOL_FLAGS]);
      if (args.positional.length) throw new UsageError('content cleanup takes no arguments');
      const r = await withAdminSession(args, (c) => c.send<CleanupReport>('POST', '/api/content/cleanup', { dryRun: args.flags.get('dry-run') === true }));
      if (args.flags.get('json')) io.out.write(`${JSON.stringify(r, null, 2)}\n`);
      else {
        const verb = r.dryRun ? 'would delete' : 'deleted';
        listed(io, r.deleted, (d) => `${verb} ${d.sha1Hex} (${d.state}, ${d.size} bytes)`);
        io.out.write(`content cleanup${r.dryRun ? ' (dry run)' : ''}: ${verb} ${r.deleted.length} files (${mb(r.reclaimedBytes)}), `
          + `${r.markedOrphaned.length} newly orphaned (kept ${r.graceHours} h), ${r.unorphaned} referenced again, `
          + `${r.tmpRemoved.length + r.partialRemoved.length} interrupted writes and ${r.quarantineRemoved.length} old quarantined files ${r.dryRun ? 'to remove' : 'removed'}\n`);
      }
      return 0;
    }
    case 'stats': {
      const args = parseArgs(rest, [...API_FLAGS], ['json', ...API_BOOL_FLAGS]);
      if (args.positional.length) throw new UsageError('content stats takes no arguments');
      const st = await withAdminSession(args, (c) => c.get<ContentStats>('/api/content/stats'));
      if (args.flags.get('json')) io.out.write(`${JSON.stringify(st, null, 2)}\n`);
      else {
        io.out.write(`referenced by metadata: ${st.known} files (${mb(st.knownBytes)})\n`
          + `present: ${st.present} (${mb(st.presentBytes)})\n`
          + `missing: ${st.missing} (${mb(st.missingBytes)})\n`
          + `quarantined: ${st.quarantined} (${st.quarantineFiles} files kept)\n`
          + `orphaned (awaiting cleanup): ${st.orphaned}\n`
          + `partial downloads: ${st.partialFiles}\n`
          + signatureLines(st.signatures)
          + (st.serveChecks?.rehashed ? `changed on disk since stored: ${st.serveChecks.rehashed} re-hashed before serving, ${st.serveChecks.tampered} quarantined\n` : ''));
      }
      return 0;
    }
    default:
      throw new UsageError('usage: wsus content import|verify|cleanup|stats (see wsus help)');
  }
}
