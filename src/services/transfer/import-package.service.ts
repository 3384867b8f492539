import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ServerConfig } from '../../config/config.js';
import { DomainError } from '../../core/errors.js';
import { memberRole, type TransferManifest } from '../../core/transfer/transfer-manifest.js';
import { planTargeting, type TargetingPlan } from '../../core/transfer/targeting-document.js';
import type { Logger } from '../../logger.js';
import type { CatalogStore } from '../../store/catalog.store.js';
import type { Db } from '../../store/database.js';
import { createJobLocksStore } from '../../store/job-locks.store.js';
import type { TargetingStore } from '../../store/targeting.store.js';
import { createTransferStore } from '../../store/transfer.store.js';
import type { ContentStore } from '../content-store.service.js';
import { ContentRejectedError, UnknownContentError } from '../content/content-errors.js';
import { importDocuments, type UpdateDocumentSource } from '../import.service.js';
import { withJobLock } from '../jobs/job-lock.js';
import { assertLocalChangesAllowed } from '../sync/replica-guard.js';
import { memberStream, openPackage, type PackageReader, type TarEntry } from './tar-file.js';
import { verifyPackage, type VerifiedPackage } from './package-verify.js';
import { applyTargetingPlan, type TargetingOutcome } from './apply-targeting.js';
import { loadTrustedCerts } from './transfer-keys.js';

// Import of an export package: verify everything first (signature from a trusted certificate,
// every member's SHA-256, nothing missing or extra), then apply in resumable steps — update
// documents in batches through the import service, content through the verified content
// store, then the targeting. Progress is recorded after each step under the package id, so a
// run that died (crash, kill, shutdown) is resumed by importing the same package again.

export const TRANSFER_IMPORT_JOB = 'transfer-import';
const DOCUMENT_BATCH = 500;
const MAX_FAILURES_KEPT = 20;

export interface ImportPackageDeps {
  db: Db;
  config: Pick<ServerConfig, 'transfer' | 'sync'>;
  catalog: CatalogStore;
  targeting: TargetingStore;
  content: Pick<ContentStore, 'ingestStream'>;
  log: Logger;
  clock: () => Date;
  /** after a commit that changes what clients see (the server passes views.invalidate) */
  onChanged?: () => void;
  owner?: string;
}

export interface PackageProgress { phase: 'verify' | 'documents' | 'content' | 'targeting'; done: number; total: number }

export interface PackageImportResult {
  packageId: string;
  kind: TransferManifest['kind'];
  sourceServerId: string;
  createdAt: string;
  anchor: number;
  signer: VerifiedPackage['signer'];
  dryRun: boolean;
  /** a run of this package had stopped part-way; this one went on from there */
  resumed: boolean;
  /** this package had been imported completely before: nothing was done again */
  alreadyImported: boolean;
  documents: { total: number; added: number; unchanged: number; failed: number; failures: Array<{ member: string; error: string }> };
  content: { total: number; stored: number; alreadyPresent: number; rejected: number; unknown: number; errors: string[] };
  targeting: TargetingOutcome | null;
  durationMs: number;
}

interface ProgressRecord {
  packageId: string;
  manifestSha256: string;
  state: 'running' | 'done';
  documentsDone: number;
  contentDone: number;
  targetingDone: boolean;
  startedAt: string;
  finishedAt: string | null;
  runs: number;
}

const recordKey = (packageId: string): string => `transfer.import.${packageId}`;
const declinedKey = (sourceServerId: string): string => `transfer.source.${sourceServerId}.declined`;

export function createImportPackageService(deps: ImportPackageDeps) {
  const store = createTransferStore(deps.db);
  const owner = deps.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const changed = (): void => {
    try {
      deps.onChanged?.();
    } catch (e) {
      deps.log.warn('change listener failed', { error: (e as Error).message });
    }
  };

  function readRecord(pkg: VerifiedPackage): ProgressRecord | null {
    const raw = store.getMeta(recordKey(pkg.manifest.packageId));
    if (!raw) return null;
    try {
      const r = JSON.parse(raw) as ProgressRecord;
      // The same package id with other bytes is another package: start over.
      return r.manifestSha256 === pkg.manifestSha256 ? r : null;
    } catch {
      return null;
    }
  }

  function planFor(pkg: VerifiedPackage): TargetingPlan | null {
    if (!pkg.targeting) return null;
    const previous = store.getMeta(declinedKey(pkg.manifest.sourceServerId));
    return planTargeting(pkg.targeting, {
      groups: deps.targeting.groups(),
      approvals: store.approvals(),
      updates: store.updateStates(),
      declinedByEarlierImport: new Set(previous ? (JSON.parse(previous) as string[]) : []),
    }, pkg.manifest.sourceServerId);
  }

  /** One batch of update documents (read, checked again, imported in one transaction per batch). */
  async function importBatch(reader: PackageReader, entries: ReadonlyMap<string, TarEntry>, batch: TransferManifest['members'], result: PackageImportResult): Promise<void> {
    const sources: UpdateDocumentSource[] = [];
    for (const m of batch) {
      const bytes = await reader.read(entries.get(m.name)!);
      // Checked again as it is used: the verified file is ours, but this costs nothing.
      if (createHash('sha256').update(bytes).digest('hex') !== m.sha256) {
        throw new DomainError('InvalidInput', 'package', `package refused: member ${m.name} changed during the import`);
      }
      const text = bytes.toString('utf8');
      sources.push({ name: m.name, read: () => text });
    }
    const r = importDocuments({ db: deps.db, catalog: deps.catalog, log: deps.log, clock: deps.clock }, sources);
    result.documents.added += r.added;
    result.documents.unchanged += r.unchanged;
    result.documents.failed += r.failed;
    for (const f of r.failures) if (result.documents.failures.length < MAX_FAILURES_KEPT) result.documents.failures.push({ member: f.source, error: f.error });
  }

  async function importDocumentsStep(pkg: VerifiedPackage, rec: ProgressRecord, result: PackageImportResult, report: (p: PackageProgress) => void, signal?: AbortSignal): Promise<void> {
    const members = pkg.manifest.members.filter((m) => memberRole(m.name)?.role === 'update');
    result.documents.total = members.length;
    report({ phase: 'documents', done: rec.documentsDone, total: members.length });
    const reader = await openPackage(pkg.path);
    try {
      for (let start = rec.documentsDone; start < members.length; start += DOCUMENT_BATCH) {
        signal?.throwIfAborted();
        const batch = members.slice(start, start + DOCUMENT_BATCH);
        await importBatch(reader, pkg.entries, batch, result);
        rec.documentsDone = start + batch.length;
        store.putMeta(recordKey(pkg.manifest.packageId), JSON.stringify(rec));
        changed();
        report({ phase: 'documents', done: rec.documentsDone, total: members.length });
      }
    } finally {
      await reader.close();
    }
  }

  async function importContentStep(pkg: VerifiedPackage, rec: ProgressRecord, result: PackageImportResult, report: (p: PackageProgress) => void, signal?: AbortSignal): Promise<void> {
    const members = pkg.manifest.members.filter((m) => memberRole(m.name)?.role === 'content');
    result.content.total = members.length;
    report({ phase: 'content', done: rec.contentDone, total: members.length });
    for (let i = rec.contentDone; i < members.length; i++) {
      signal?.throwIfAborted();
      const m = members[i]!;
      const sha1Hex = memberRole(m.name)!.sha1Hex!;
      try {
        const r = await deps.content.ingestStream(memberStream(pkg.path, pkg.entries.get(m.name)!), sha1Hex, { signal });
        if (r.outcome === 'stored') result.content.stored++;
        else result.content.alreadyPresent++;
      } catch (e) {
        if (e instanceof UnknownContentError) result.content.unknown++;
        else if (e instanceof ContentRejectedError) result.content.rejected++;
        else throw e;
        if (result.content.errors.length < MAX_FAILURES_KEPT) result.content.errors.push((e as Error).message);
        deps.log.warn('import: content file not stored', { member: m.name, error: (e as Error).message });
      }
      rec.contentDone = i + 1;
      store.putMeta(recordKey(pkg.manifest.packageId), JSON.stringify(rec));
      report({ phase: 'content', done: rec.contentDone, total: members.length });
    }
  }

  function emptyResult(pkg: VerifiedPackage, dryRun: boolean): PackageImportResult {
    const m = pkg.manifest;
    return {
      packageId: m.packageId, kind: m.kind, sourceServerId: m.sourceServerId, createdAt: m.createdAt, anchor: m.anchor,
      signer: pkg.signer, dryRun, resumed: false, alreadyImported: false,
      documents: { total: m.counts.updates, added: 0, unchanged: 0, failed: 0, failures: [] },
      content: { total: m.counts.contentFiles, stored: 0, alreadyPresent: 0, rejected: 0, unknown: 0, errors: [] },
      targeting: null,
      durationMs: 0,
    };
  }

  return {
    /**
     * Verifies the package file and, unless `dryRun`, applies it. Refuses (InvalidInput, nothing
     * changed) any package that fails verification; a replica refuses packages with approvals.
     */
    async importPackage(path: string, opts: { dryRun?: boolean; onProgress?: (p: PackageProgress) => void; signal?: AbortSignal } = {}): Promise<PackageImportResult> {
      const report = opts.onProgress ?? (() => undefined);
      const started = Date.now();
      return withJobLock({ locks: createJobLocksStore(deps.db), log: deps.log, clock: deps.clock, owner }, TRANSFER_IMPORT_JOB, async ({ signal }) => {
        const trusted = loadTrustedCerts(deps.config.transfer);
        const pkg = await verifyPackage(path, trusted, deps.clock(), (done, total) => report({ phase: 'verify', done, total }), signal);
        if (pkg.manifest.approvals) assertLocalChangesAllowed(deps.config);
        const result = emptyResult(pkg, opts.dryRun === true);
        const previous = readRecord(pkg);
        if (opts.dryRun) {
          const plan = planFor(pkg);
          result.alreadyImported = previous?.state === 'done';
          result.targeting = plan ? { ...planCounts(plan), notes: plan.notes } : null;
          result.durationMs = Date.now() - started;
          return result;
        }
        if (previous?.state === 'done') {
          result.alreadyImported = true;
          result.durationMs = Date.now() - started;
          deps.log.info('import: package was already imported', { packageId: pkg.manifest.packageId, finishedAt: previous.finishedAt });
          return result;
        }
        const now = deps.clock().toISOString();
        const rec: ProgressRecord = previous
          ? { ...previous, runs: previous.runs + 1 }
          : { packageId: pkg.manifest.packageId, manifestSha256: pkg.manifestSha256, state: 'running', documentsDone: 0, contentDone: 0, targetingDone: false, startedAt: now, finishedAt: null, runs: 1 };
        result.resumed = previous !== null;
        store.putMeta(recordKey(pkg.manifest.packageId), JSON.stringify(rec));
        deps.log.info('import: package verified, applying', {
          packageId: pkg.manifest.packageId, source: pkg.manifest.sourceServerId, signer: pkg.signer.subject,
          resumedAt: previous ? { documents: previous.documentsDone, content: previous.contentDone } : null,
        });
        await importDocumentsStep(pkg, rec, result, report, signal);
        await importContentStep(pkg, rec, result, report, signal);
        if (pkg.targeting && !rec.targetingDone) {
          signal.throwIfAborted();
          const plan = planFor(pkg)!;
          report({ phase: 'targeting', done: 0, total: 1 });
          result.targeting = applyTargetingPlan(
            { db: deps.db, targeting: deps.targeting, store, clock: deps.clock }, plan, pkg.manifest.sourceServerId,
          );
          store.putMeta(declinedKey(pkg.manifest.sourceServerId), JSON.stringify(pkg.targeting.declined));
          rec.targetingDone = true;
          store.putMeta(recordKey(pkg.manifest.packageId), JSON.stringify(rec));
          changed();
          report({ phase: 'targeting', done: 1, total: 1 });
        }
        rec.state = 'done';
        rec.finishedAt = deps.clock().toISOString();
        store.putMeta(recordKey(pkg.manifest.packageId), JSON.stringify(rec));
        result.durationMs = Date.now() - started;
        deps.log.info('import: package applied', {
          packageId: pkg.manifest.packageId, documents: result.documents, content: { ...result.content, errors: result.content.errors.length },
          targeting: result.targeting ? { ...result.targeting, notes: result.targeting.notes.length } : null, ms: result.durationMs,
        });
        return result;
      }, { signal: opts.signal });
    },
  };
}

export function planCounts(plan: TargetingPlan): Omit<TargetingOutcome, 'notes'> {
  return {
    groupsCreated: plan.groups.filter((g) => g.op === 'create').length,
    groupsUpdated: plan.groups.filter((g) => g.op === 'update').length,
    groupsMatchedByName: plan.groups.filter((g) => g.op === 'map').length,
    approved: plan.approve.length,
    unapproved: plan.unapprove.length,
    declined: plan.decline.length,
    undeclined: plan.undecline.length,
    unchanged: plan.unchanged,
    unknownUpdates: plan.unknownUpdates,
  };
}

export type ImportPackageService = ReturnType<typeof createImportPackageService>;
