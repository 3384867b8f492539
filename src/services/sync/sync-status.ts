import type { ServerConfig } from '../../config/config.js';
import { MICROSOFT_UPDATE_URL } from '../../config/sync-config.js';
import { nextRunAt } from '../../core/sync/schedule.js';
import type { Db } from '../../store/database.js';
import { createJobLocksStore, type JobLockRow } from '../../store/job-locks.store.js';
import { createSyncRunsStore, type SyncRunRow } from '../../store/sync-runs.store.js';
import { createSyncStagingStore } from '../../store/sync-staging.store.js';
import { createSyncStore } from '../../store/sync.store.js';
import { DEFAULT_STALE_MS, processAlive } from '../jobs/job-lock.js';
import { SYNC_JOB } from './sync.service.js';
import { ANCHOR_NAMES, syncState, type AnchorName } from './sync-state.js';

// Read models for `wsus sync status` (and the admin API; health lives in services/health): what the last
// run did, how old each anchor is, whether a sync runs now, when the next one is due.

export interface SyncStatus {
  upstream: string;
  mode: string;
  content: string;
  running: (JobLockRow & { alive: boolean }) | null;
  lastRun: SyncRunRow | null;
  lastSuccess: SyncRunRow | null;
  anchors: Record<AnchorName, { savedAt: string; ageSeconds: number } | null>;
  /** the server's planned time when it published one, else the next slot without jitter */
  nextScheduled: { at: string; source: 'server' | 'computed' } | null;
  selection: {
    products: string[];
    classifications: string[];
    languages: string[];
    /** what an empty selection means for this upstream */
    emptyMeans: string | null;
  };
  exclusionRules: number;
  excludedUpdates: number;
  staged: { categories: number; updates: number };
  pendingContent: number;
}

export function readSyncStatus(db: Db, config: Pick<ServerConfig, 'sync'>, now: Date): SyncStatus {
  const store = createSyncStore(db);
  const state = syncState(store);
  const runs = createSyncRunsStore(db);
  const staging = createSyncStagingStore(db);
  const holder = createJobLocksStore(db).holder(SYNC_JOB);
  const anchors = {} as SyncStatus['anchors'];
  for (const n of ANCHOR_NAMES) {
    const at = state.anchorSavedAt(n);
    anchors[n] = at ? { savedAt: at, ageSeconds: Math.round((now.getTime() - Date.parse(at)) / 1000) } : null;
  }
  const published = state.nextScheduled();
  const schedule = config.sync.schedule;
  let nextScheduled: SyncStatus['nextScheduled'] = null;
  if (published && Date.parse(published) > now.getTime()) nextScheduled = { at: published, source: 'server' };
  else if (schedule) nextScheduled = { at: nextRunAt(now, schedule, () => 0).toISOString(), source: 'computed' };
  const products = store.selection('product');
  const classifications = store.selection('classification');
  const isMu = config.sync.upstream === MICROSOFT_UPDATE_URL;
  const emptyMeans = products.length && classifications.length ? null
    : isMu ? 'categories only (Microsoft Update: select products and classifications)'
      : 'everything the upstream offers';
  return {
    upstream: config.sync.upstream,
    mode: config.sync.mode,
    content: config.sync.content,
    running: holder ? { ...holder, alive: processAlive(holder.pid) && now.getTime() - Date.parse(holder.heartbeatAt) <= DEFAULT_STALE_MS } : null,
    lastRun: runs.lastFinished() ?? null,
    lastSuccess: runs.lastSucceeded() ?? null,
    anchors,
    nextScheduled,
    selection: { products, classifications, languages: store.selection('language'), emptyMeans },
    exclusionRules: store.rules().length,
    excludedUpdates: store.excludedCount(),
    staged: { categories: staging.stagedCount('categories'), updates: staging.stagedCount('updates') },
    pendingContent: state.pendingContent().length,
  };
}

/** For the scheduler's onScheduled: lets `wsus sync status` (another process) show the exact planned time. */
export function publishNextScheduled(db: Db, at: Date | null): void {
  syncState(createSyncStore(db)).setNextScheduled(at);
}
