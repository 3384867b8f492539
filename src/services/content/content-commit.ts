import { lstatSync } from 'node:fs';
import { lstat, mkdir, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { StoredContent } from '../../core/content/content-types.js';
import type { ContentRecords } from '../../store/content.store.js';
import type { Logger } from '../../logger.js';
import { checkContent, type ComputedDigest, type ContentExpectation } from './content-digest.js';
import { ContentRejectedError } from './content-errors.js';
import { fsyncDir, type ContentLayout } from './content-layout.js';
import { rethrowStorage } from '../../store/storage-errors.js';
import { signatureReason, unchecked, type ContentSource, type SignatureGate, type SignatureRecord } from '../signing/signature-policy.js';
import { fingerprintOf } from './content-fingerprint.js';

// The one gate into the store: bytes that are already written and fsynced somewhere under the
// content root become visible only when they match their expectation; otherwise they go to
// quarantine. Nothing else renames into a digest's path. Signable files (CAB, PE, MSI) also
// have their Authenticode signature checked here, by the policy of the way they arrived.

export interface CommitDeps {
  layout: ContentLayout;
  records: ContentRecords;
  log: Logger;
  clock: () => Date;
  /** absent: no signature checks (every file is recorded 'unchecked') */
  signatures?: SignatureGate;
}

export type IngestOutcome = 'stored' | 'already-present';

export interface IngestResult {
  outcome: IngestOutcome;
  content: StoredContent;
}

export interface PresentEntry {
  found: StoredContent;
  /** the file's fingerprint now, and the one recorded when its bytes were last hashed (null: never) */
  current: string;
  recorded: string | null;
}

/**
 * A 'present' row AND a regular file (not a symlink) of the recorded size at its path, with
 * the fingerprint of what is on disk. One indexed lookup and one lstat; never hashes.
 */
export function presentEntry(layout: ContentLayout, records: ContentRecords, sha1Hex: string): PresentEntry | undefined {
  const row = records.present(sha1Hex);
  if (!row) return undefined;
  const path = layout.storePath(sha1Hex);
  const st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
  if (!st || !st.isFile() || st.size !== BigInt(row.size)) return undefined;
  const found: StoredContent = { sha1Hex, size: row.size, path, storedAtMs: Date.parse(row.storedAt) };
  if (row.sha256) found.sha256 = row.sha256;
  return { found, current: fingerprintOf(st), recorded: row.fingerprint };
}

/** The stored file for a digest (row + regular file of the recorded size); serving also compares fingerprints. */
export function presentFile(layout: ContentLayout, records: ContentRecords, sha1Hex: string): StoredContent | undefined {
  return presentEntry(layout, records, sha1Hex)?.found;
}

/**
 * A stored copy good enough to make a new ingest of the same digest unnecessary: present, and
 * not changed on disk since it was hashed (a file stored before fingerprints existed counts as
 * unchanged). A changed copy is replaced by the newly verified bytes instead of kept.
 */
export function intactFile(layout: ContentLayout, records: ContentRecords, sha1Hex: string): StoredContent | undefined {
  const e = presentEntry(layout, records, sha1Hex);
  return e && (e.recorded === null || e.recorded === e.current) ? e.found : undefined;
}

export async function commitOrQuarantine(
  deps: CommitDeps,
  from: string,
  expected: ContentExpectation,
  actual: ComputedDigest,
  source: ContentSource,
): Promise<IngestResult> {
  const { layout, records, log } = deps;
  const hex = expected.sha1Hex;
  const mismatch = checkContent(expected, actual);
  if (mismatch) {
    const file = await quarantine(deps, from, hex, actual, mismatch.message, false);
    log.warn('content rejected', { sha1: hex, reason: mismatch.reason, error: mismatch.message, quarantineFile: file });
    throw new ContentRejectedError(hex, mismatch.reason, mismatch.message, file);
  }
  // Identical bytes are already served: keep the first copy so its ETag and Last-Modified stay stable.
  const existing = intactFile(layout, records, hex);
  if (existing) {
    await rm(from, { force: true });
    return { outcome: 'already-present', content: existing };
  }
  const signature = await checkSignature(deps, from, hex, actual, source);
  const dest = layout.storePath(hex);
  try {
    await mkdir(dirname(dest), { recursive: true });
    await rename(from, dest);
    await fsyncDir(dirname(dest));
  } catch (e) {
    // `from` stays: a verified partial download commits on the next try without downloading again.
    rethrowStorage(e, `the content store (${dest})`);
  }
  const previous = records.get(hex);
  const at = deps.clock().toISOString();
  // After the rename (it changes the ctime): the fingerprint serving compares against.
  const fingerprint = fingerprintOf(await lstat(dest, { bigint: true }));
  // The computed SHA-256 is recorded even when the metadata has none, so a deep verify can check it later.
  records.markPresent({ sha1Hex: hex, size: actual.size, sha256: actual.sha256Base64, at, signature, fingerprint });
  if (previous?.quarantineFile) await rm(join(layout.quarantineDir, previous.quarantineFile), { force: true });
  log.info('content stored', { sha1: hex, size: actual.size });
  return { outcome: 'stored', content: presentFile(layout, records, hex) ?? { sha1Hex: hex, size: actual.size, path: dest, storedAtMs: Date.parse(at), sha256: actual.sha256Base64 } };
}

/**
 * The signature gate between the digest check and the rename: under `enforce` a signable file
 * that does not verify is quarantined and refused; under `warn` it is stored and logged.
 */
async function checkSignature(deps: CommitDeps, from: string, hex: string, actual: ComputedDigest, source: ContentSource): Promise<SignatureRecord> {
  if (!deps.signatures) return unchecked(source);
  const outcome = await deps.signatures.check(from, source, deps.clock());
  const { record } = outcome;
  if (outcome.verdict === 'reject') {
    const reason = signatureReason(record);
    const file = await quarantine(deps, from, hex, actual, reason, false, record);
    deps.log.warn('content refused: signature check failed', { sha1: hex, source, reason: record.status, detail: record.detail, quarantineFile: file });
    throw new ContentRejectedError(hex, 'signature', `${reason} (contentSignatures.${source} is enforce)`, file);
  }
  if (outcome.verdict === 'warn') {
    deps.log.warn('content signature check failed; stored because the policy is warn', {
      sha1: hex, source, reason: record.status, detail: record.detail,
    });
  }
  return record;
}

/**
 * Moves bad bytes aside for inspection and records why. At most one quarantined copy is kept
 * per digest, so an upstream that keeps sending bad bytes cannot fill the disk. A present good
 * copy is only demoted when `demotePresent` (verify found the served file itself bad).
 */
export async function quarantine(
  deps: CommitDeps,
  from: string,
  sha1Hex: string,
  actual: { size: number; sha256Base64?: string | undefined },
  reason: string,
  demotePresent: boolean,
  signature?: SignatureRecord,
): Promise<string> {
  const { layout, records } = deps;
  const now = deps.clock();
  const name = `${sha1Hex}.${now.toISOString().replace(/[-:.]/g, '')}.${randomBytes(4).toString('hex')}`;
  await mkdir(layout.quarantineDir, { recursive: true });
  await rename(from, join(layout.quarantineDir, name));
  const row = records.get(sha1Hex);
  if (row?.state === 'present' && !demotePresent) return name;
  records.markQuarantined({ sha1Hex, size: actual.size, sha256: actual.sha256Base64 ?? null, at: now.toISOString(), error: reason, file: name, ...(signature ? { signature } : {}) });
  if (row?.quarantineFile && row.quarantineFile !== name) await rm(join(layout.quarantineDir, row.quarantineFile), { force: true });
  return name;
}
