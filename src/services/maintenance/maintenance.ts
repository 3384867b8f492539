import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DomainError } from '../../core/errors.js';
import { dailySlotOffsets } from '../../core/sync/schedule.js';
import { createJobLocksStore } from '../../store/job-locks.store.js';
import { createMaintenanceRunsStore, type MaintenanceJob, type MaintenanceRunRow } from '../../store/maintenance-runs.store.js';
import { createJobRegistry, type JobStatus } from '../jobs/job-registry.js';
import { SERVER_JOB_NAMES, type ServerJobs } from '../jobs/server-jobs.js';
import { assertLocalChangesAllowed } from '../sync/replica-guard.js';
import type { SyncRunResult, SyncRunOptions } from '../sync/sync-types.js';
import { createCleanupService, orderSteps } from './cleanup.service.js';
import { createMaintenanceScheduler } from './maintenance-scheduler.js';
import { createRulesAdmin } from './rules-admin.service.js';
import { createRulesEngine } from './rules-engine.js';
import type {
  CleanupCounts, CleanupRunOptions, CleanupRunResult, MaintenanceDeps, RulesRunOptions, RulesRunResult,
} from './maintenance-types.js';

// Automatic maintenance, composed once per process: the rules (admin + engine), the cleanup,
// the job registry that runs "sync", "cleanup" and "rules" one instance at a time, the history
// of every run, the after-sync hook and the daily schedule. The server wires it with
//   const maintenance = createMaintenance({ ..., sync });   // sync deps: onSynced: (r) => maintenance.afterSync(r)
//   maintenance.scheduler.start() / await maintenance.scheduler.stop()

const NEXT_SCHEDULED_KEY = 'cleanup.nextScheduled';

export interface MaintenanceStatus {
  schedule: { time: string; jitterMinutes: number; next: string | null; nextSource: 'scheduler' | 'computed' } | null;
  rulesAfterSync: boolean;
  replica: boolean;
  jobs: JobStatus[];
  last: Partial<Record<MaintenanceJob, MaintenanceRunRow>>;
}

export function createMaintenance(deps: MaintenanceDeps & { sync: { run(o: SyncRunOptions): Promise<SyncRunResult> }; random?: () => number }) {
  const runs = createMaintenanceRunsStore(deps.db);
  const rulesAdmin = createRulesAdmin(deps);
  const engine = createRulesEngine(deps);
  const cleanup = createCleanupService(deps, engine);
  const cfg = deps.config.maintenance;
  const replica = deps.config.sync.mode === 'replica';

  async function rulesJob(o: RulesRunOptions): Promise<RulesRunResult> {
    assertLocalChangesAllowed(deps.config);
    const runId = runs.start({ job: 'rules', trigger: o.trigger, dryRun: o.dryRun, steps: [o.scope, ...(o.kinds ?? [])], at: deps.clock(), actor: o.actor ?? null, pid: process.pid });
    try {
      const r = await engine.apply(o);
      const failed = r.declined.failed.length + r.approved.failed.length;
      runs.finish(runId, {
        state: 'succeeded', error: failed ? `${failed} change(s) failed (see counts)` : null, at: deps.clock(),
        counts: { declined: r.declined.count, approved: r.approved.count, declineFailures: r.declined.failed, approvalFailures: r.approved.failed, notes: r.notes, scope: r.scope },
      });
      runs.prune(cfg.historyKeep);
      return { runId, ...r };
    } catch (e) {
      runs.finish(runId, { state: o.signal?.aborted ? 'interrupted' : 'failed', counts: {}, error: (e as Error).message || String(e), at: deps.clock() });
      throw e;
    }
  }

  async function cleanupJob(o: CleanupRunOptions): Promise<CleanupRunResult> {
    const steps = orderSteps(o.only);
    const started = deps.clock();
    const runId = runs.start({ job: 'cleanup', trigger: o.trigger, dryRun: o.dryRun, steps, at: started, actor: o.actor ?? null, pid: process.pid });
    deps.log.info(o.dryRun ? 'cleanup dry run started' : 'cleanup started', { runId, trigger: o.trigger, steps });
    let counts: CleanupCounts = {};
    let state: CleanupRunResult['state'] = 'succeeded';
    let error: string | null = null;
    try {
      const r = await cleanup.run(o, (c) => {
        counts = c;
        runs.progress(runId, c as Record<string, unknown>);
      });
      counts = r.counts;
      if (r.failed) {
        state = 'failed';
        error = Object.entries(r.counts.errors ?? {}).map(([s, m]) => `${s}: ${m}`).join('; ');
      }
    } catch (e) {
      state = o.signal?.aborted ? 'interrupted' : 'failed';
      error = (e as Error).message || String(e);
    }
    const finished = deps.clock();
    runs.finish(runId, { state, counts: counts as Record<string, unknown>, error, at: finished });
    runs.prune(cfg.historyKeep);
    const notes = [
      ...Object.entries(counts).flatMap(([step, c]) => (c && typeof c === 'object' && 'skipped' in c && c.skipped ? [`${step}: ${String(c.skipped)}`] : [])),
    ];
    deps.log[state === 'succeeded' ? 'info' : 'error'](o.dryRun ? 'cleanup dry run finished' : 'cleanup finished', { runId, state, error });
    return {
      runId, state, trigger: o.trigger, dryRun: o.dryRun, steps, counts, notes, startedAt: started.toISOString(),
      finishedAt: finished.toISOString(), durationMs: finished.getTime() - started.getTime(), error,
    };
  }

  const jobs = createJobRegistry<ServerJobs>(
    {
      locks: createJobLocksStore(deps.db), log: deps.log, clock: deps.clock,
      owner: deps.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
      ...(deps.lockTiming ? { lockTiming: deps.lockTiming } : {}),
    },
    SERVER_JOB_NAMES,
    {
      sync: { lock: 'self', run: (o) => deps.sync.run(o) },
      cleanup: { lock: 'registry', run: (o) => cleanupJob(o) },
      rules: { lock: 'registry', run: (o) => rulesJob(o) },
    },
  );

  const publishNext = (at: Date | null): void => {
    try {
      runs.setState(NEXT_SCHEDULED_KEY, at ? at.toISOString() : '');
    } catch (e) {
      deps.log.warn('could not record the next cleanup time', { error: (e as Error).message });
    }
  };
  const scheduler = createMaintenanceScheduler({
    schedule: cfg.schedule,
    run: (signal) => jobs.run('cleanup', { trigger: 'schedule', dryRun: false, signal }),
    clock: deps.clock, random: deps.random ?? Math.random, log: deps.log, onScheduled: publishNext,
  });

  return {
    rules: rulesAdmin,
    jobs,
    /** the daily cleanup inside `wsus serve`: start() after listening, await stop() before closing the database */
    scheduler,

    /** Rules for what a successful sync brought (the sync service's onSynced hook). Never throws. */
    async afterSync(result: SyncRunResult): Promise<RulesRunResult | null> {
      if (result.state !== 'succeeded' || !cfg.rulesAfterSync || replica) return null;
      try {
        return await jobs.run('rules', { trigger: 'sync', dryRun: false, scope: 'new' });
      } catch (e) {
        if (e instanceof DomainError && e.code === 'Conflict') deps.log.info('rules after sync skipped: a rules run is in progress (the next run catches up)', { detail: e.message });
        else deps.log.error('rules after sync failed', { error: (e as Error).message });
        return null;
      }
    },

    history(limit: number, job?: MaintenanceJob): MaintenanceRunRow[] {
      return runs.history(limit, job);
    },

    status(): MaintenanceStatus {
      let schedule: MaintenanceStatus['schedule'] = null;
      if (cfg.schedule) {
        const published = scheduler.nextRunAt()?.toISOString() ?? runs.state(NEXT_SCHEDULED_KEY) ?? '';
        let next: string | null = published || null;
        let nextSource: 'scheduler' | 'computed' = 'scheduler';
        if (!next) {
          // No server publishes its plan (CLI-only use): the slot without jitter.
          const now = deps.clock();
          const off = dailySlotOffsets({ firstSyncTime: cfg.schedule.time, perDay: 1, jitterMinutes: 0 })[0]!;
          let at = new Date(now.getFullYear(), now.getMonth(), now.getDate(), 0, 0, 0, off);
          if (at <= now) at = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 0, 0, 0, off);
          next = at.toISOString();
          nextSource = 'computed';
        }
        schedule = { time: cfg.schedule.time, jitterMinutes: cfg.schedule.jitterMinutes, next, nextSource };
      }
      const last: MaintenanceStatus['last'] = {};
      for (const job of ['cleanup', 'rules'] as const) {
        const r = runs.last(job);
        if (r) last[job] = r;
      }
      return {
        schedule, rulesAfterSync: cfg.rulesAfterSync, replica,
        jobs: jobs.names().map((n) => jobs.status(n)), last,
      };
    },
  };
}

export type Maintenance = ReturnType<typeof createMaintenance>;
