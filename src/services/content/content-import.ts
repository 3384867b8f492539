import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DomainError } from '../../core/errors.js';
import type { IngestResult } from './content-commit.js';
import { ContentRejectedError, UnknownContentError } from './content-errors.js';
import { StorageError } from '../../store/storage-errors.js';

// `wsus content import`: every regular file under the given paths is offered to the store,
// which matches it to metadata by the SHA-1 of its bytes. Symbolic links are never followed.

export interface ContentImportReport {
  total: number;
  /** verified and now served */
  stored: number;
  /** verified; an identical copy was already there */
  alreadyPresent: number;
  /** no metadata references these bytes */
  unknown: number;
  /** claimed (by name) or matched a known digest but failed verification: quarantined */
  mismatched: number;
  /** verified digests, but the Authenticode signature failed under policy enforce: quarantined */
  signatureRefused: number;
  /** symlinks and special files */
  skipped: number;
  problems: Array<{ path: string; kind: 'unknown' | 'mismatched' | 'signature' | 'skipped' | 'failed'; detail: string }>;
}

export interface ImportProgress {
  done: number;
  total: number;
  report: ContentImportReport;
}

async function walk(paths: readonly string[], skipped: (path: string, why: string) => void): Promise<string[]> {
  const out: string[] = [];
  const visit = async (p: string): Promise<void> => {
    const st = await lstat(p);
    if (st.isSymbolicLink()) return skipped(p, 'symbolic link not followed');
    if (st.isDirectory()) {
      for (const name of (await readdir(p)).sort()) await visit(join(p, name));
    } else if (st.isFile()) {
      out.push(p);
    } else {
      skipped(p, 'not a regular file');
    }
  };
  for (const p of paths) await visit(p);
  return out;
}

export async function importContentFiles(
  ingest: (path: string) => Promise<IngestResult>,
  paths: readonly string[],
  onProgress?: (p: ImportProgress) => void,
): Promise<ContentImportReport> {
  const report: ContentImportReport = { total: 0, stored: 0, alreadyPresent: 0, unknown: 0, mismatched: 0, signatureRefused: 0, skipped: 0, problems: [] };
  const files = await walk(paths, (path, detail) => {
    report.skipped++;
    report.problems.push({ path, kind: 'skipped', detail });
  });
  report.total = files.length;
  let done = 0;
  for (const path of files) {
    try {
      const r = await ingest(path);
      if (r.outcome === 'stored') report.stored++;
      else report.alreadyPresent++;
    } catch (e) {
      if (e instanceof UnknownContentError) {
        report.unknown++;
        report.problems.push({ path, kind: 'unknown', detail: e.message });
      } else if (e instanceof ContentRejectedError && e.reason === 'signature') {
        report.signatureRefused++;
        report.problems.push({ path, kind: 'signature', detail: e.message });
      } else if (e instanceof ContentRejectedError) {
        report.mismatched++;
        report.problems.push({ path, kind: 'mismatched', detail: e.message });
      } else if (e instanceof StorageError) {
        // Disk full or read-only: every further file would fail the same way.
        throw e;
      } else if (e instanceof DomainError || (e as { code?: unknown }).code !== undefined) {
        // A file that vanished or cannot be read is reported; the import carries on.
        report.skipped++;
        report.problems.push({ path, kind: 'failed', detail: (e as Error).message });
      } else {
        throw e;
      }
    }
    onProgress?.({ done: ++done, total: files.length, report });
  }
  return report;
}
