import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { MICROSOFT_UPDATE_URL } from '../../config/sync-config.js';
import { DomainError } from '../../core/errors.js';
import { createJobLocksStore } from '../../store/job-locks.store.js';
import { createSyncCatalogStore } from '../../store/sync-catalog.store.js';
import { createSyncRunsStore } from '../../store/sync-runs.store.js';
import { createSyncStagingStore } from '../../store/sync-staging.store.js';
import { createSyncStore } from '../../store/sync.store.js';
import { UpstreamFaultError } from '../../upstream/server-sync-session.js';
import { withJobLock } from '../jobs/job-lock.js';
import { runConfigPhase } from './config-phase.js';
import { runContentPhase } from './content-phase.js';
import { runDeploymentsPhase } from './deployments-phase.js';
import { finishPendingMerge } from './merge-staged.js';
import { MAX_BAD_DOCUMENTS_KEPT, type RunContext } from './run-context.js';
import { syncState } from './sync-state.js';
import type { RunCounts, SyncPhase, SyncRunOptions, SyncRunResult, SyncServiceDeps } from './sync-types.js';
import { runCategoriesPhase, runUpdatesPhase } from './updates-phase.js';

// The downstream role (MS-WSUSSS 4.3): config → categories → updates → [replica] deployments
// → content, as the only sync running against this database. Each phase commits its data and
// then its anchor; a failure leaves the anchors of the committed phases in place and is
// recorded in sync_runs with the exact error. ServerChanged from the upstream clears every
// anchor and the cookie and restarts from the top, once, within the same run.

export const SYNC_JOB = 'sync';
const PERSIST_COUNTS_EVERY_MS = 2_000;

/** scheme://host[:port][/path] without a trailing slash; throws InvalidInput. */
export function normalizeUpstreamUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password) throw new Error('scheme');
    return u.origin + u.pathname.replace(/\/+$/, '');
  } catch {
    throw new DomainError('InvalidInput', 'upstream', `upstream must be an http:// or https:// URL without credentials (got ${JSON.stringify(raw)})`);
  }
}

export function createSyncService(deps: SyncServiceDeps) {
  const store = createSyncStore(deps.db);
  const state = syncState(store);
  const staging = createSyncStagingStore(deps.db);
  const runs = createSyncRunsStore(deps.db);
  const catalogReads = createSyncCatalogStore(deps.db);
  const locks = createJobLocksStore(deps.db);
  const owner = deps.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const sync = deps.config.sync;

  async function attempt(ctxBase: Omit<RunContext, 'session' | 'maxPerRequest'>, upstream: string, current: { phase: SyncPhase | null }): Promise<void> {
    if (state.anchorsUpstream() !== upstream) {
      const before = state.anchorsUpstream();
      if (before !== null) ctxBase.note(`upstream changed from ${before} to ${upstream}: anchors cleared, full synchronization`);
      deps.db.transaction(() => {
        state.clearAnchors();
        state.setAnchorsUpstream(upstream);
      }).immediate();
    }
    // Pages merged by a run that died before refreshing IsLeaf are completed before anything else.
    finishPendingMerge(ctxBase);
    for (let restart = 0; ; restart++) {
      try {
        current.phase = 'config';
        const session = await deps.openSession({
          baseUrl: upstream, serverId: deps.serverId, serverName: sync.serverName, dispatcher: deps.dispatcher,
          requestTimeoutMs: sync.requestTimeoutSeconds * 1000, retries: sync.retries,
          lastCookie: state.cookie(), onCookie: (c) => state.setCookie(c), log: deps.log, signal: ctxBase.signal,
        });
        const ctx: RunContext = { ...ctxBase, session, maxPerRequest: state.upstreamConfig()?.maxNumberOfUpdatesPerRequest ?? 100 };
        ctx.enterPhase('config');
        await runConfigPhase(ctx);
        ctx.enterPhase('categories');
        await runCategoriesPhase(ctx);
        ctx.enterPhase('updates');
        await runUpdatesPhase(ctx);
        if (sync.mode === 'replica') {
          ctx.enterPhase('deployments');
          await runDeploymentsPhase(ctx);
        }
        ctx.enterPhase('content');
        await runContentPhase(ctx);
        return;
      } catch (e) {
        if (e instanceof UpstreamFaultError && e.errorCode === 'ServerChanged' && restart === 0) {
          deps.log.warn('upstream answered ServerChanged: clearing anchors and cookie, full resynchronization', { phase: current.phase, upstream });
          ctxBase.note(`upstream answered ServerChanged during ${current.phase}: anchors cleared, full resynchronization`);
          deps.db.transaction(() => state.clearAnchors()).immediate();
          continue;
        }
        throw e;
      }
    }
  }

  async function run(opts: SyncRunOptions): Promise<SyncRunResult> {
    const upstream = normalizeUpstreamUrl(opts.upstreamOverride ?? sync.upstream);
    let runId = 0;
    const result = await withJobLock(
      { locks, log: deps.log, clock: deps.clock, owner, ...deps.lockTiming },
      SYNC_JOB,
      async ({ signal }) => {
        const startedAt = deps.clock();
        runId = runs.start({ trigger: opts.trigger, upstream, at: startedAt, pid: process.pid });
        const interrupted = runs.interruptOthers(runId, startedAt);
        if (interrupted) deps.log.warn('earlier sync runs were interrupted (process stopped); resuming from staging', { runs: interrupted });
        const counts: RunCounts = { badDocuments: { count: 0, first: [] }, notes: [] };
        const current: { phase: SyncPhase | null } = { phase: null };
        let lastPersist = 0;
        const persist = (force: boolean) => {
          const now = Date.now();
          if (!force && now - lastPersist < PERSIST_COUNTS_EVERY_MS) return;
          lastPersist = now;
          runs.progress(runId, current.phase ?? 'start', counts as unknown as Record<string, unknown>, deps.clock());
        };
        const ctxBase: Omit<RunContext, 'session' | 'maxPerRequest'> = {
          db: deps.db, sync, upstream, isMicrosoftUpdate: upstream === MICROSOFT_UPDATE_URL, catalog: deps.catalog, store, state, staging,
          catalogReads, contentStore: deps.contentStore, replica: deps.replica, log: deps.log, clock: deps.clock, signal, counts,
          enterPhase(phase) {
            current.phase = phase;
            persist(true);
          },
          progress(p) {
            opts.onProgress?.(p);
            persist(false);
          },
          catalogChanged() {
            try {
              deps.onCatalogChanged?.();
            } catch (e) {
              deps.log.warn('catalog change listener failed', { error: (e as Error).message });
            }
          },
          note(message) {
            counts.notes.push(message);
            deps.log.info('sync note', { note: message });
          },
          badDocument(d) {
            counts.badDocuments.count++;
            if (counts.badDocuments.first.length < MAX_BAD_DOCUMENTS_KEPT) counts.badDocuments.first.push(d);
            deps.log.warn('update document rejected', { updateId: d.updateId, revision: d.revisionNumber, error: d.error });
          },
        };
        deps.log.info('sync started', { runId, trigger: opts.trigger, upstream, mode: sync.mode });
        let error: string | null = null;
        let outcome: SyncRunResult['state'] = 'succeeded';
        try {
          await attempt(ctxBase, upstream, current);
        } catch (e) {
          error = (e as Error).message || String(e);
          outcome = signal.aborted ? 'interrupted' : 'failed';
        }
        const finishedAt = deps.clock();
        runs.finish(runId, { state: outcome, phase: current.phase, counts: counts as unknown as Record<string, unknown>, error, at: finishedAt });
        const durationMs = finishedAt.getTime() - startedAt.getTime();
        if (error) deps.log.error('sync failed', { runId, phase: current.phase, error, durationMs });
        else deps.log.info('sync finished', { runId, durationMs, badDocuments: counts.badDocuments.count, notes: counts.notes.length });
        return {
          runId, state: outcome, upstream, trigger: opts.trigger, startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(),
          durationMs, phase: current.phase, counts, error,
        };
      },
      { signal: opts.signal, onHeartbeat: (at) => { if (runId) runs.heartbeat(runId, at); } },
    );
    if (result.state === 'succeeded' && deps.onSynced) {
      try {
        await deps.onSynced(result);
      } catch (e) {
        deps.log.error('after-sync hook failed', { runId: result.runId, error: (e as Error).message });
      }
    }
    for (const listener of deps.runListeners ?? []) {
      try {
        listener(result);
      } catch (e) {
        deps.log.error('sync run listener failed', { runId: result.runId, error: (e as Error).message });
      }
    }
    return result;
  }

  return { run, owner };
}

export type SyncService = ReturnType<typeof createSyncService>;
