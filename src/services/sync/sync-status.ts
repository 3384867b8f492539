import type { ServerConfig } from '../../config/config.js';
import { MICROSOFT_UPDATE_URL } from '../../config/sync-config.js';
import { nextRunAt, scheduleIntervalMs } from '../../core/sync/schedule.js';
import type { Db } from '../../store/database.js';
import { createJobLocksStore, type JobLockRow } from '../../store/job-locks.store.js';
import { createSyncCatalogStore, type ContentHealth } from '../../store/sync-catalog.store.js';
import { createSyncRunsStore, type SyncRunRow } from '../../store/sync-runs.store.js';
import { createSyncStagingStore } from '../../store/sync-staging.store.js';
import { createSyncStore } from '../../store/sync.store.js';
import { DEFAULT_STALE_MS, processAlive } from '../jobs/job-lock.js';
import { SYNC_JOB } from './sync.service.js';
import { ANCHOR_NAMES, syncState, type AnchorName } from './sync-state.js';

// Read models for `wsus sync status` and `wsus health` (and the admin API): what the last
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

export interface HealthReport {
  healthy: boolean;
  /** what makes it unhealthy */
  problems: string[];
  /** worth a look, not a failure */
  warnings: string[];
  catalog: { revisions: number; updates: number; newestIngestedAt: string | null; ageHours: number | null };
  sync: { lastRunState: string | null; lastRunFinishedAt: string | null; lastError: string | null; lastSuccessAt: string | null; intervalHours: number | null };
  content: ContentHealth & { mode: string };
}

export function readHealth(db: Db, config: Pick<ServerConfig, 'sync'>, now: Date): HealthReport {
  const runs = createSyncRunsStore(db);
  const reads = createSyncCatalogStore(db);
  const problems: string[] = [];
  const warnings: string[] = [];
  const last = runs.lastFinished();
  const success = runs.lastSucceeded();
  if (last?.state === 'failed') {
    problems.push(`last sync failed at ${last.finishedAt} during ${last.phase ?? 'start'}: ${last.error ?? 'no error recorded'}`);
  } else if (last?.state === 'interrupted') {
    // A restart or Ctrl-C: the next run resumes from staging; overdue syncs are caught below.
    warnings.push(`last sync was interrupted at ${last.finishedAt} during ${last.phase ?? 'start'}: ${last.error ?? ''}`);
  }
  // A sync killed mid-run (kill -9, power loss) finishes nothing: only its stale lock tells.
  const holder = createJobLocksStore(db).holder(SYNC_JOB);
  if (holder && !(processAlive(holder.pid) && now.getTime() - Date.parse(holder.heartbeatAt) <= DEFAULT_STALE_MS)) {
    problems.push(`a sync (${holder.owner}) stopped without finishing; last sign of life ${holder.heartbeatAt}. ` +
      'The next sync resumes where it stopped (wsus sync run).');
  }
  const schedule = config.sync.schedule;
  const interval = schedule ? scheduleIntervalMs(schedule) : null;
  if (interval !== null) {
    const lastOk = success?.finishedAt ? Date.parse(success.finishedAt) : null;
    if (lastOk === null) problems.push('no sync has succeeded yet');
    else if (now.getTime() - lastOk > 2 * interval) {
      problems.push(`no successful sync since ${success!.finishedAt} (scheduled every ${(interval / 3_600_000).toFixed(1)} h)`);
    }
  }
  const figures = reads.catalogFigures();
  const content = reads.approvedContentHealth();
  if (config.sync.content !== 'none' && content.missing > 0) warnings.push(`${content.missing} file(s) of approved updates are not downloaded yet`);
  if (content.quarantined > 0) warnings.push(`${content.quarantined} file(s) of approved updates are quarantined (failed verification)`);
  if (figures.revisions === 0) warnings.push('the catalog is empty');
  return {
    healthy: problems.length === 0,
    problems,
    warnings,
    catalog: {
      ...figures,
      ageHours: figures.newestIngestedAt ? Math.round((now.getTime() - Date.parse(figures.newestIngestedAt)) / 360_000) / 10 : null,
    },
    sync: {
      lastRunState: last?.state ?? null, lastRunFinishedAt: last?.finishedAt ?? null, lastError: last?.error ?? null,
      lastSuccessAt: success?.finishedAt ?? null, intervalHours: interval === null ? null : interval / 3_600_000,
    },
    content: { ...content, mode: config.sync.content },
  };
}

/** For the scheduler's onScheduled: lets `wsus sync status` (another process) show the exact planned time. */
export function publishNextScheduled(db: Db, at: Date | null): void {
  syncState(createSyncStore(db)).setNextScheduled(at);
}
