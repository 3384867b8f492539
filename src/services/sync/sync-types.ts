import type { Dispatcher } from 'undici';
import type { ServerConfig } from '../../config/config.js';
import type { Logger } from '../../logger.js';
import type { Db } from '../../store/database.js';
import type { CatalogStore } from '../../store/catalog.store.js';
import type { ContentStore } from '../content-store.service.js';
import type { OpenUpstreamSession } from '../../upstream/server-sync-session.js';
import type { TargetingStore } from '../../store/targeting.store.js';

// The public shapes of the downstream sync: its dependencies, one run's options and result.

export type SyncTrigger = 'cli' | 'schedule' | 'admin';
export type SyncPhase = 'config' | 'categories' | 'updates' | 'deployments' | 'content';

/**
 * Replica mode writes through the targeting store's mirror functions. Each call runs inside
 * the sync's own transaction (their own transactions become savepoints).
 */
export type ReplicaMirror = Pick<TargetingStore, 'replaceGroupsFromUpstream' | 'upsertMirroredApprovals' | 'removeMirroredApproval' | 'setDeclinedSet'>;

export interface SyncServiceDeps {
  db: Db;
  config: ServerConfig;
  catalog: CatalogStore;
  /** null: the content phase only reports (e.g. a CLI without a content store) */
  contentStore: Pick<ContentStore, 'downloadToStore'> | null;
  /** required when config.sync.mode is 'replica': the targeting store */
  replica: ReplicaMirror | null;
  openSession: OpenUpstreamSession;
  /** built once from config.sync (proxy, CA, timeouts): createUpstreamDispatcher(config.sync) */
  dispatcher: Dispatcher;
  /** this server's GUID (loadServerIdentity(db).serverId): the DssAuth accountGuid */
  serverId: string;
  log: Logger;
  clock: () => Date;
  /**
   * Called after a commit that changed what clients see (catalog generation bumped, replica
   * targeting mirrored). A server running the sync on its own connection passes its catalog
   * view's invalidate(): SQLite's data_version does not report a connection's own writes.
   */
  onCatalogChanged?: () => void;
  /**
   * Called after a run that succeeded, once its lock is released (the automatic approval and
   * decline rules look at what it brought). Awaited; a failure is logged, never fails the sync.
   */
  onSynced?: (result: SyncRunResult) => unknown;
  /**
   * Told about every finished run — succeeded, failed or interrupted — after onSynced
   * (notifications: webhooks, health). Not awaited; a throwing listener is logged.
   */
  runListeners?: ReadonlyArray<(result: SyncRunResult) => void>;
  /** names this process in the job lock (default `<hostname>:<pid>:<random>`) */
  owner?: string;
  /** test seams */
  lockTiming?: { staleMs?: number; heartbeatMs?: number; isAlive?: (pid: number) => boolean };
}

export interface SyncProgress {
  phase: SyncPhase;
  /** what is counted: revisions listed/fetched/merged, files downloaded */
  step: 'fetch' | 'merge' | 'download' | 'plan';
  done: number;
  total: number;
}

export interface SyncRunOptions {
  trigger: SyncTrigger;
  /** sync from this upstream once instead of config.sync.upstream */
  upstreamOverride?: string;
  onProgress?: (p: SyncProgress) => void;
  signal?: AbortSignal;
}

export interface MetadataPhaseCounts {
  listed: number;
  alreadyPresent: number;
  alreadyStaged: number;
  fetched: number;
  requests: number;
  /** ids asked again because an answer left them out */
  reRequested: number;
  merged: number;
  unchanged: number;
  excluded: number;
  bad: number;
  ms: number;
}

export interface BadDocument {
  updateId: string;
  revisionNumber: number;
  error: string;
}

export interface RunCounts {
  config?: { languages: number; catalogOnlySync: boolean; lazySync: boolean; maxPerRequest: number; protocolVersion: string; ms: number };
  categories?: MetadataPhaseCounts;
  updates?: MetadataPhaseCounts & { products: number; classifications: number; languages: number };
  deployments?: {
    groups: number; approvals: number; removed: number; declined: number;
    /** dropped by the plan (scan/block, unknown update or group, declined, dead) or by the store */
    skipped: Record<string, number>; ms: number;
  };
  content?: { wanted: number; downloaded: number; alreadyPresent: number; failed: number; noSource: number; requestedFromUpstream: number; ms: number; errors: string[] };
  badDocuments: { count: number; first: BadDocument[] };
  notes: string[];
}

export interface SyncRunResult {
  runId: number;
  /** interrupted: aborted through the signal (server shutdown) */
  state: 'succeeded' | 'failed' | 'interrupted';
  upstream: string;
  trigger: SyncTrigger;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** the phase that failed (or the last one run) */
  phase: SyncPhase | null;
  counts: RunCounts;
  /** the exact error of a failed run */
  error: string | null;
}
