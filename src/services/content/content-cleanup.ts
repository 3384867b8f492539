import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommitDeps } from './content-commit.js';
import { normalizeSha1Hex } from './content-layout.js';

// Removes what nobody needs any more, with a grace period so that a file dropped by one
// import and referenced again by the next is not deleted and downloaded again (WSUS: content
// orphaned for more than a day). Also sweeps what crashed writers left behind.

export interface CleanupOptions {
  now: Date;
  dryRun: boolean;
  graceHours: number;
  /** digests this process is downloading right now: their partial files are live */
  activeDigests: ReadonlySet<string>;
  /**
   * Digests metadata still references but nothing needs (files of declined or expired updates,
   * judged by maintenance cleanup): handled like orphans — marked, deleted after the grace period.
   */
  unneeded?: ReadonlySet<string>;
}

export interface CleanupReport {
  dryRun: boolean;
  graceHours: number;
  /** unreferenced digests seen for the first time: marked, deleted on a later run */
  markedOrphaned: string[];
  /** orphaned digests referenced again: mark cleared */
  unorphaned: number;
  deleted: Array<{ sha1Hex: string; size: number; state: string }>;
  reclaimedBytes: number;
  tmpRemoved: string[];
  partialRemoved: string[];
  quarantineRemoved: string[];
}

/** A writer touches its file at every chunk: an hour of silence means it is gone. */
const STALE_WRITE_MS = 60 * 60 * 1000;

async function ageMs(path: string, now: Date): Promise<number | undefined> {
  const st = await lstat(path).catch(() => undefined);
  return st ? now.getTime() - st.mtimeMs : undefined;
}

async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

export async function cleanupStore(deps: CommitDeps, o: CleanupOptions): Promise<CleanupReport> {
  const { layout, records, log } = deps;
  const graceMs = o.graceHours * 3600 * 1000;
  const report: CleanupReport = {
    dryRun: o.dryRun, graceHours: o.graceHours, markedOrphaned: [], unorphaned: records.clearReferencedOrphans(o.dryRun, o.unneeded),
    deleted: [], reclaimedBytes: 0, tmpRemoved: [], partialRemoved: [], quarantineRemoved: [],
  };
  const remove = async (path: string): Promise<void> => {
    if (!o.dryRun) await rm(path, { force: true, recursive: true });
  };

  const unneeded = o.unneeded ?? new Set<string>();
  const unneededRows = [...unneeded].map((hex) => records.get(hex)).filter((r) => r !== undefined);
  for (const row of [...records.unreferenced(), ...unneededRows]) {
    if (row.orphanedAt === null) {
      report.markedOrphaned.push(row.sha1Hex);
      continue;
    }
    if (o.now.getTime() - Date.parse(row.orphanedAt) < graceMs) continue;
    // An import may have referenced it again since the query: check right before deleting.
    if (!unneeded.has(row.sha1Hex) && records.isKnown(row.sha1Hex)) continue;
    if (!o.dryRun) {
      if (row.state === 'present') await rm(layout.storePath(row.sha1Hex), { force: true });
      if (row.quarantineFile) await rm(join(layout.quarantineDir, row.quarantineFile), { force: true });
      records.remove(row.sha1Hex);
    }
    report.deleted.push({ sha1Hex: row.sha1Hex, size: row.size, state: row.state });
    if (row.state === 'present') report.reclaimedBytes += row.size;
  }
  if (!o.dryRun && report.markedOrphaned.length) records.markOrphaned(report.markedOrphaned, o.now.toISOString());

  for (const name of await entries(layout.tmpDir)) {
    const age = await ageMs(join(layout.tmpDir, name), o.now);
    if (age === undefined || age < STALE_WRITE_MS) continue;
    await remove(join(layout.tmpDir, name));
    report.tmpRemoved.push(name);
  }

  for (const name of await entries(layout.partialDir)) {
    const hex = normalizeSha1Hex(name);
    if (hex && o.activeDigests.has(hex)) continue;
    const age = (await ageMs(join(layout.partialDir, name), o.now)) ?? 0;
    // A partial file of a digest still wanted is a resume point, kept for the grace period;
    // one that is not a digest, already present or no longer referenced is useless once idle.
    const useless = !hex || hex !== name || records.present(hex) !== undefined || !records.isKnown(hex);
    if (useless ? age < STALE_WRITE_MS : age < graceMs) continue;
    await remove(join(layout.partialDir, name));
    report.partialRemoved.push(name);
  }

  const referenced = records.quarantineFiles();
  for (const name of await entries(layout.quarantineDir)) {
    if (referenced.has(name)) continue;
    const age = await ageMs(join(layout.quarantineDir, name), o.now);
    if (age === undefined || age < graceMs) continue;
    await remove(join(layout.quarantineDir, name));
    report.quarantineRemoved.push(name);
  }

  if (!o.dryRun) {
    log.info('content cleanup', {
      deleted: report.deleted.length, reclaimedBytes: report.reclaimedBytes, markedOrphaned: report.markedOrphaned.length,
      tmpRemoved: report.tmpRemoved.length, partialRemoved: report.partialRemoved.length, quarantineRemoved: report.quarantineRemoved.length,
    });
  }
  return report;
}
