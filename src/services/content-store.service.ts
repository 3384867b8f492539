import { readdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import type { ContentLocator, StoredContent } from '../core/content/content-types.js';
import type { Db } from '../store/database.js';
import { createContentRecords, type ContentCounts } from '../store/content.store.js';
import type { Logger } from '../logger.js';
import { contentLayout, ensureLayout, normalizeSha1Hex } from './content/content-layout.js';
import { intactFile, presentFile, type CommitDeps, type IngestResult } from './content/content-commit.js';
import { ingestFile, ingestStream, resolveExpectation, type ExpectationInput } from './content/content-ingest.js';
import { downloadResumable } from './content/content-download.js';
import { createDownloadCoordinator, type FetchFileSource } from './content/download-coordinator.js';
import { verifyStore, type VerifyOptions, type VerifyReport } from './content/content-verify.js';
import { cleanupStore, type CleanupReport } from './content/content-cleanup.js';
import { importContentFiles, type ContentImportReport, type ImportProgress } from './content/content-import.js';
import { createServeCheck, type ServeCheckStats } from './content/content-serve-check.js';
import { signatureSummary, type SignatureSummary } from './content/content-verify.js';
import type { ContentSignaturesConfig } from '../config/content-signatures-config.js';
import { createSignatureGate, type ContentSource, type SignatureGate } from './signing/signature-policy.js';

// The verified content store: files addressed by SHA-1 under `dir`, state in the `content`
// table. Everything that enters goes through one gate (verify, then rename; or quarantine);
// `locate` is the cheap read path every content request takes; `locateForServing` adds the
// tamper check (a file changed since it was hashed is hashed again before it is served).

export type { IngestResult, FetchFileSource, ExpectationInput, VerifyReport, CleanupReport, ContentImportReport, ImportProgress };
export type { ContentSource, SignatureSummary, ServeCheckStats };
export type { ContentExpectation } from './content/content-digest.js';
export { ContentRejectedError, UnknownContentError, ContentDownloadError } from './content/content-errors.js';

export interface ContentStoreOptions {
  db: Db;
  /** config.contentDir */
  dir: string;
  log: Logger;
  clock: () => Date;
  /** where a missing digest can be downloaded from (upstream sync); absent: requestDownload does nothing */
  fetchFile?: FetchFileSource;
  /** config.contentOrphanGraceHours */
  orphanGraceHours?: number;
  /** simultaneous downloads (default 4) */
  downloadConcurrency?: number;
  /** tries per download before giving up (default 5) */
  downloadAttempts?: number;
  retryDelayMs?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /** requestDownload leaves a digest alone this long after its download failed (default 60 s) */
  retryAfterFailureMs?: number;
  /** tests inject one; by default the store owns an Agent it closes in close() */
  dispatcher?: Dispatcher;
  /**
   * Authenticode checks on ingest: config.contentSignatures and DATA (the trust store is
   * DATA/signing), or a ready gate. Absent: nothing is checked (files are recorded 'unchecked').
   */
  signatures?: { policy: ContentSignaturesConfig; dataDir: string } | SignatureGate;
  /** files hashed at once by the serve-time tamper check (default 2) */
  rehashConcurrency?: number;
}

export interface ContentStats extends ContentCounts {
  partialFiles: number;
  quarantineFiles: number;
  downloads: { running: number; queued: number };
  signatures: SignatureSummary;
  /** since this store was opened: files hashed again before serving, and those found changed */
  serveChecks: ServeCheckStats;
}

export interface ContentStore extends ContentLocator {
  /** The file to serve, checked against tampering: synchronous unless the file changed since it was hashed. */
  locateForServing(sha1Hex: string): StoredContent | undefined | Promise<StoredContent | undefined>;
  /** Ingests a local file matched to metadata by its SHA-1 (or by `claimedSha1`); signature policy of `source` (default 'import'). */
  ingestFile(path: string, claimedSha1?: string, opts?: { source?: ContentSource }): Promise<IngestResult>;
  /** Walks files and folders (symlinks skipped) and ingests every file, classifying the outcome (policy 'import'). */
  importFiles(paths: readonly string[], onProgress?: (p: ImportProgress) => void): Promise<ContentImportReport>;
  /**
   * Ingests bytes from a stream; `expected` is a digest known to the metadata, or a full
   * expectation. `source` picks the signature policy (default 'import'; publishing passes 'published').
   */
  ingestStream(
    source: Readable | AsyncIterable<Uint8Array>, expected: ExpectationInput, opts?: { signal?: AbortSignal; source?: ContentSource },
  ): Promise<IngestResult>;
  /** Resumable, verified download; concurrent calls for one digest share one transfer. */
  downloadToStore(url: string, expected: ExpectationInput, opts?: { signal?: AbortSignal }): Promise<IngestResult>;
  verify(opts?: VerifyOptions): Promise<VerifyReport>;
  /** `unneeded`: referenced digests nothing needs (maintenance cleanup), treated like orphans */
  cleanup(opts?: { now?: Date; dryRun?: boolean; unneeded?: ReadonlySet<string> }): Promise<CleanupReport>;
  stats(): Promise<ContentStats>;
  /** Aborts downloads (partial files stay) and releases the HTTP agent. Does not close the database. */
  close(): Promise<void>;
}

export function createContentStore(o: ContentStoreOptions): ContentStore {
  const layout = contentLayout(o.dir);
  ensureLayout(layout);
  const records = createContentRecords(o.db);
  const signatures = !o.signatures ? undefined
    : 'check' in o.signatures ? o.signatures
    : createSignatureGate({ policy: o.signatures.policy, dataDir: o.signatures.dataDir, log: o.log });
  const deps: CommitDeps = { layout, records, log: o.log, clock: o.clock, ...(signatures ? { signatures } : {}) };
  const serveCheck = createServeCheck(deps, { concurrency: o.rehashConcurrency ?? 2 });
  const ownAgent = o.dispatcher ? undefined : new Agent({ connect: { timeout: 15_000 }, keepAliveTimeout: 10_000 });
  const tuning = {
    dispatcher: o.dispatcher ?? ownAgent!,
    attempts: o.downloadAttempts ?? 5,
    retryDelayMs: o.retryDelayMs ?? 500,
    headersTimeoutMs: o.headersTimeoutMs ?? 30_000,
    bodyTimeoutMs: o.bodyTimeoutMs ?? 60_000,
  };
  const locate = (sha1Hex: string): StoredContent | undefined => {
    const hex = normalizeSha1Hex(sha1Hex);
    return hex ? presentFile(layout, records, hex) : undefined;
  };
  const downloads = createDownloadCoordinator({
    log: o.log,
    concurrency: o.downloadConcurrency ?? 4,
    retryAfterFailureMs: o.retryAfterFailureMs ?? 60_000,
    now: () => o.clock().getTime(),
    transfer: (url, expected, signal) => downloadResumable(deps, tuning, url, expected, signal),
    expectationOf: (hex) => resolveExpectation(records, hex),
    isPresent: (hex) => locate(hex) !== undefined,
    fetchFile: o.fetchFile,
  });
  const count = async (d: string): Promise<number> => (await readdir(d).catch(() => [])).length;

  return {
    locate,
    locateForServing(sha1Hex) {
      const hex = normalizeSha1Hex(sha1Hex);
      return hex ? serveCheck.locateForServing(hex) : undefined;
    },
    isKnown(sha1Hex) {
      const hex = normalizeSha1Hex(sha1Hex);
      return hex !== undefined && records.isKnown(hex);
    },
    requestDownload(sha1Hex) {
      const hex = normalizeSha1Hex(sha1Hex);
      if (hex && records.isKnown(hex)) downloads.request(hex);
    },
    ingestFile: (path, claimedSha1, opts) => ingestFile(deps, path, opts?.source ?? 'import', claimedSha1),
    importFiles: (paths, onProgress) => importContentFiles((path) => ingestFile(deps, path, 'import'), paths, onProgress),
    ingestStream: (source, expected, opts) => ingestStream(deps, source, expected, opts?.source ?? 'import', opts?.signal),
    async downloadToStore(url, expected, opts) {
      const exp = resolveExpectation(records, expected);
      const existing = intactFile(layout, records, exp.sha1Hex);
      if (existing) return { outcome: 'already-present', content: existing };
      return downloads.download(url, exp, opts?.signal);
    },
    verify: (opts) => verifyStore(deps, { ...opts, expectedTotal: opts?.expectedTotal ?? records.counts().present }),
    cleanup(opts = {}) {
      return cleanupStore(deps, {
        now: opts.now ?? o.clock(),
        dryRun: opts.dryRun ?? false,
        graceHours: o.orphanGraceHours ?? 24,
        activeDigests: new Set(downloads.active().digests),
        ...(opts.unneeded ? { unneeded: opts.unneeded } : {}),
      });
    },
    async stats() {
      const a = downloads.active();
      return {
        ...records.counts(),
        partialFiles: await count(layout.partialDir),
        quarantineFiles: await count(layout.quarantineDir),
        downloads: { running: a.running, queued: a.queued },
        signatures: signatureSummary(deps),
        serveChecks: serveCheck.stats(),
      };
    },
    async close() {
      await downloads.close();
      await ownAgent?.close();
    },
  };
}
