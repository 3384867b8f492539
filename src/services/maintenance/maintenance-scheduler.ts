import type { MaintenanceSchedule } from '../../config/maintenance-config.js';
import { DomainError } from '../../core/errors.js';
import { nextRunAt } from '../../core/sync/schedule.js';
import type { Logger } from '../../logger.js';
import type { SchedulerTimers } from '../sync/sync-scheduler.js';

// Runs the daily cleanup inside `wsus serve` (WSUS admins run the cleanup wizard by hand; here
// it is on by default). Same shape as the sync scheduler: one unref'd timer, jitter from the
// shared pure schedule, stop() cancels the timer and aborts a running cleanup (every batch it
// committed stays done; the next run plans again from what is left).

export interface MaintenanceSchedulerDeps {
  schedule: MaintenanceSchedule | null;
  run: (signal: AbortSignal) => Promise<{ state: string; error: string | null; runId: number }>;
  clock: () => Date;
  random: () => number;
  log: Logger;
  /** told each planned time (null when stopped), e.g. to show it in `wsus cleanup status` */
  onScheduled?: (at: Date | null) => void;
  timers?: SchedulerTimers;
}

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

export function createMaintenanceScheduler(deps: MaintenanceSchedulerDeps) {
  const timers = deps.timers ?? defaultTimers;
  const schedule = deps.schedule;
  let handle: unknown = null;
  let planned: Date | null = null;
  let stopped = true;
  let running: Promise<void> | null = null;
  let controller: AbortController | null = null;

  function plan(): void {
    if (stopped || !schedule) return;
    planned = nextRunAt(deps.clock(), { firstSyncTime: schedule.time, perDay: 1, jitterMinutes: schedule.jitterMinutes }, deps.random);
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
    deps.log.info('scheduled cleanup starting', { planned: planned?.toISOString() });
    running = deps.run(controller.signal).then(
      (r) => {
        if (r.state !== 'succeeded') deps.log.error('scheduled cleanup did not succeed', { runId: r.runId, state: r.state, error: r.error });
      },
      (e: unknown) => {
        if (e instanceof DomainError && e.code === 'Conflict') deps.log.info('scheduled cleanup skipped: a cleanup is already running', { detail: e.message });
        else deps.log.error('scheduled cleanup could not start', { error: (e as Error).message });
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
        deps.log.info('no maintenance schedule configured: clean up with wsus cleanup');
        return;
      }
      plan();
      deps.log.info('cleanup scheduled', { next: planned?.toISOString(), time: schedule.time, jitterMinutes: schedule.jitterMinutes });
    },
    async stop(): Promise<void> {
      stopped = true;
      if (handle !== null) timers.clear(handle);
      handle = null;
      planned = null;
      deps.onScheduled?.(null);
      controller?.abort(new Error('cleanup interrupted: the server is stopping'));
      await running;
    },
    /** the next planned run, jitter included; null when stopped or unscheduled */
    nextRunAt(): Date | null {
      return planned;
    },
  };
}

export type MaintenanceScheduler = ReturnType<typeof createMaintenanceScheduler>;
