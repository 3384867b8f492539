import type { ServerConfig } from '../../config/config.js';
import { DomainError } from '../../core/errors.js';
import { nextRunAt } from '../../core/sync/schedule.js';
import type { Logger } from '../../logger.js';
import type { SyncRunOptions, SyncRunResult } from './sync-types.js';

// Runs the sync on its daily schedule inside the server process. One timer at a time,
// unref'd (it never keeps the process alive); stop() cancels the timer and aborts a running
// sync, which records itself as interrupted and resumes from staging next time.

export interface SchedulerTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface SyncSchedulerDeps {
  config: Pick<ServerConfig, 'sync'>;
  run: (opts: SyncRunOptions) => Promise<SyncRunResult>;
  clock: () => Date;
  random: () => number;
  log: Logger;
  /** told each planned time (null when stopped), e.g. to show it in `wsus sync status` */
  onScheduled?: (at: Date | null) => void;
  timers?: SchedulerTimers;
}

/** setTimeout cannot wait longer than this; longer waits re-plan when they fire. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const defaultTimers: SchedulerTimers = {
  set(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clear(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

export function createSyncScheduler(deps: SyncSchedulerDeps) {
  const timers = deps.timers ?? defaultTimers;
  const schedule = deps.config.sync.schedule;
  let handle: unknown = null;
  let planned: Date | null = null;
  let stopped = true;
  let running: Promise<void> | null = null;
  let controller: AbortController | null = null;

  function plan(): void {
    if (stopped || !schedule) return;
    planned = nextRunAt(deps.clock(), schedule, deps.random);
    deps.onScheduled?.(planned);
    arm();
  }

  function arm(): void {
    const wait = Math.max(0, (planned?.getTime() ?? 0) - deps.clock().getTime());
    handle = timers.set(() => (wait > MAX_TIMER_MS ? arm() : fire()), Math.min(wait, MAX_TIMER_MS));
  }

  function fire(): void {
    handle = null;
    if (stopped) return;
    controller = new AbortController();
    deps.log.info('scheduled sync starting', { planned: planned?.toISOString() });
    running = deps.run({ trigger: 'schedule', signal: controller.signal }).then(
      (r) => {
        if (r.state !== 'succeeded') deps.log.error('scheduled sync did not succeed', { runId: r.runId, state: r.state, phase: r.phase, error: r.error });
      },
      (e: unknown) => {
        // Someone ran `wsus sync run` at the same time: theirs does the work.
        if (e instanceof DomainError && e.code === 'Conflict') deps.log.info('scheduled sync skipped: a sync is already running', { detail: e.message });
        else deps.log.error('scheduled sync could not start', { error: (e as Error).message });
      },
    ).finally(() => {
      running = null;
      controller = null;
      plan();
    });
  }

  return {
    start(): void {
      if (!stopped) return;
      stopped = false;
      if (!schedule) {
        deps.log.info('no sync schedule configured: synchronize with wsus sync run');
        return;
      }
      plan();
      deps.log.info('sync scheduled', { next: planned?.toISOString(), perDay: schedule.perDay, jitterMinutes: schedule.jitterMinutes });
    },
    async stop(): Promise<void> {
      stopped = true;
      if (handle !== null) timers.clear(handle);
      handle = null;
      planned = null;
      deps.onScheduled?.(null);
      controller?.abort(new Error('sync interrupted: the server is stopping'));
      await running;
    },
    /** the next planned run, jitter included; null when stopped or unscheduled */
    nextRunAt(): Date | null {
      return planned;
    },
  };
}

export type SyncScheduler = ReturnType<typeof createSyncScheduler>;
