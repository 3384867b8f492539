import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { checkContent, digestFile } from './content-digest.js';
import { commitOrQuarantine, quarantine, type CommitDeps } from './content-commit.js';
import { ContentRejectedError, UnknownContentError } from './content-errors.js';
import { fingerprintOf } from './content-fingerprint.js';
import type { ContentRow } from '../../store/content.store.js';
import type { ContentSignaturesConfig } from '../../config/content-signatures-config.js';
import { signatureReason, type ContentSource } from '../signing/signature-policy.js';

// Re-checks what the store claims against the disk. Shallow: every present file exists as a
// regular file of the recorded size (cheap, what serving relies on). Deep: both digests are
// recomputed. A bad file is quarantined, a missing one loses its row (the digest stays known to
// the metadata, so it shows as missing and can be fetched again). Deep also records each file's
// fingerprint and checks the Authenticode signature of signable files again (policy enforce:
// quarantined when it fails).

export type VerifyProblemKind = 'missing' | 'not-a-file' | 'size' | 'sha1' | 'sha256' | 'untracked' | 'signature';

export interface VerifyProblem {
  /** the digest concerned; for an untracked file with a foreign name, its name */
  sha1Hex: string;
  problem: VerifyProblemKind;
  detail: string;
  action: 'row-removed' | 'quarantined' | 'adopted' | 'none';
}

export interface VerifyReport {
  deep: boolean;
  checked: number;
  ok: number;
  missing: number;
  quarantined: number;
  /** files under a digest directory that no present row describes (e.g. a crash between rename and commit) */
  untracked: number;
  /** shallow: files whose fingerprint changed since their bytes were last hashed (or never fingerprinted) */
  changedOnDisk: number;
  problems: VerifyProblem[];
  signatures: SignatureSummary;
}

export interface SignatureSummary {
  /** null when this store checks no signatures */
  policy: ContentSignaturesConfig | null;
  /** deep: signable files whose signature was checked in this run */
  checked: number;
  /** served files by signature status (ok, not-signable, unchecked, or why the check failed) */
  byStatus: Record<string, number>;
  /** files quarantined for their signature (policy enforce), by reason */
  refused: Record<string, number>;
  /** the most recent of those, with the reason */
  recentRefusals: Array<{ sha1Hex: string; reason: string; at: string }>;
}

export function signatureSummary(deps: CommitDeps, checked = 0): SignatureSummary {
  const refusals = deps.records.signatureRefusals(20);
  return {
    policy: deps.signatures?.policy ?? null,
    checked,
    byStatus: deps.records.signatureCounts(),
    refused: refusals.byStatus,
    recentRefusals: refusals.rows.map((r) => ({ sha1Hex: r.sha1Hex, reason: r.error ?? '', at: r.storedAt })),
  };
}

export interface VerifyOptions {
  deep?: boolean;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** total for progress reporting; the caller knows it from stats */
  expectedTotal?: number;
}

const PAGE = 500;

export async function verifyStore(deps: CommitDeps, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const { layout, records } = deps;
  const deep = opts.deep === true;
  const report: VerifyReport = {
    deep, checked: 0, ok: 0, missing: 0, quarantined: 0, untracked: 0, changedOnDisk: 0, problems: [], signatures: signatureSummary(deps),
  };
  let signaturesChecked = 0;
  const bad = async (hex: string, problem: VerifyProblemKind, detail: string, size: number, reason = `verify: ${detail}`): Promise<void> => {
    await quarantine(deps, layout.storePath(hex), hex, { size }, reason, true);
    report.quarantined++;
    report.problems.push({ sha1Hex: hex, problem, detail, action: 'quarantined' });
    deps.log.warn('content failed verification', { sha1: hex, problem, detail });
  };
  /** Both digests over the file on disk; true when they match (the row is marked verified). */
  const hashOk = async (row: ContentRow, path: string, before: string): Promise<boolean> => {
    const actual = await digestFile(path, opts.signal);
    const mismatch = checkContent({ sha1Hex: row.sha1Hex, size: row.size, sha256: row.sha256 }, actual);
    if (mismatch) {
      await bad(row.sha1Hex, mismatch.reason, mismatch.message, actual.size);
      return false;
    }
    const after = await lstat(path, { bigint: true }).catch(() => undefined);
    // A file written to while it was read keeps its old fingerprint: serving hashes it again.
    const same = after !== undefined && fingerprintOf(after) === before;
    records.markVerified(row.sha1Hex, deps.clock().toISOString(), same ? before : undefined);
    return true;
  };
  /** Deep: the signature again, under the policy of the way the file arrived. */
  const signatureOk = async (row: ContentRow, path: string): Promise<boolean> => {
    if (!deps.signatures) return true;
    const source = (row.signature.source ?? 'import') as ContentSource;
    const outcome = await deps.signatures.check(path, source, deps.clock(), { force: true });
    const record = outcome.record;
    if (record.status !== 'not-signable') signaturesChecked++;
    if (outcome.verdict === 'reject') {
      const reason = signatureReason(record);
      await bad(row.sha1Hex, 'signature', `${reason} (contentSignatures.${source} is enforce)`, row.size, reason);
      records.setSignature(row.sha1Hex, record);
      return false;
    }
    records.setSignature(row.sha1Hex, record);
    if (record.status !== 'ok' && record.status !== 'not-signable') {
      report.problems.push({
        sha1Hex: row.sha1Hex, problem: 'signature', action: 'none',
        detail: `${signatureReason(record)} (served: contentSignatures.${source} is ${outcome.mode})`,
      });
    }
    return true;
  };
  // Paging by digest lets rows change between pages without disturbing the walk.
  for (let after = '', rows = records.page('present', after, PAGE); rows.length > 0; rows = records.page('present', after, PAGE)) {
    for (const row of rows) {
      opts.signal?.throwIfAborted();
      after = row.sha1Hex;
      report.checked++;
      const path = layout.storePath(row.sha1Hex);
      const st = await lstat(path, { bigint: true }).catch(() => undefined);
      if (!st) {
        records.remove(row.sha1Hex);
        report.missing++;
        report.problems.push({ sha1Hex: row.sha1Hex, problem: 'missing', detail: 'file absent from the store', action: 'row-removed' });
      } else if (!st.isFile()) {
        await bad(row.sha1Hex, 'not-a-file', 'not a regular file (symlinks are never served)', row.size);
      } else if (st.size !== BigInt(row.size)) {
        await bad(row.sha1Hex, 'size', `size on disk ${st.size}, recorded ${row.size}`, Number(st.size));
      } else if (deep) {
        if (await hashOk(row, path, fingerprintOf(st)) && await signatureOk(row, path)) report.ok++;
      } else {
        // Shallow stays cheap: a file changed since it was last hashed is only counted (serving
        // hashes it again before it is served; --deep settles it now).
        if (fingerprintOf(st) !== row.fingerprint) report.changedOnDisk++;
        report.ok++;
      }
      opts.onProgress?.(report.checked, Math.max(opts.expectedTotal ?? 0, report.checked));
    }
  }
  await findUntracked(deps, deep, report, opts.signal);
  report.signatures = signatureSummary(deps, signaturesChecked);
  return report;
}

/** Files in the digest directories with no present row: reported; a deep verify adopts those that verify. */
async function findUntracked(deps: CommitDeps, deep: boolean, report: VerifyReport, signal?: AbortSignal): Promise<void> {
  const { layout, records } = deps;
  const shards = (await readdir(layout.root, { withFileTypes: true })).filter((d) => /^[0-9A-F]{2}$/.test(d.name));
  for (const shard of shards) {
    if (!shard.isDirectory()) continue;
    for (const name of await readdir(join(layout.root, shard.name))) {
      signal?.throwIfAborted();
      const digestName = /^[0-9A-F]{40}$/.test(name) && name.endsWith(shard.name);
      if (digestName && records.present(name)) continue;
      report.untracked++;
      if (!digestName || !deep) {
        report.problems.push({ sha1Hex: name, problem: 'untracked', detail: `${shard.name}/${name} is not recorded as present`, action: 'none' });
        continue;
      }
      const path = join(layout.root, shard.name, name);
      const st = await lstat(path);
      const meta = records.expectation(name);
      if (!st.isFile() || !meta) {
        report.problems.push({ sha1Hex: name, problem: 'untracked', detail: meta ? 'not a regular file' : 'no metadata references it', action: 'none' });
        continue;
      }
      try {
        // Where it came from is unknown: the import policy applies.
        await commitOrQuarantine(deps, path, { sha1Hex: name, ...meta }, await digestFile(path, signal), 'import');
        report.problems.push({ sha1Hex: name, problem: 'untracked', detail: 'verified against its metadata', action: 'adopted' });
      } catch (e) {
        if (!(e instanceof ContentRejectedError) && !(e instanceof UnknownContentError)) throw e;
        report.quarantined++;
        report.problems.push({ sha1Hex: name, problem: 'untracked', detail: e.message, action: 'quarantined' });
      }
    }
  }
}
