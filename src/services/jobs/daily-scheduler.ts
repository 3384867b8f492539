import { DomainError } from '../../core/errors.js';
import { nextRunAt, type SyncSchedule as Schedule } from '../../core/sync/schedule.js';
import type { Logger } from '../../logger.js';

// Runs a job on a daily schedule inside the server process (the sync, the cleanup). One timer
// at a time, unref'd (it never keeps the process alive); stop() cancels the timer and aborts a
// running job, which keeps what it committed and resumes next time.

export interface SchedulerTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface DailySchedulerDeps {
  /** what the logs call the job: `sync`, `cleanup` */
  name: string;
  schedule: Schedule | null;
  /** runs the job once; a Conflict DomainError means another run of it holds the lock */
  run: (signal: AbortSignal) => Promise<{ state: string; runId: number; error: string | null; phase?: string | null }>;
  clock: () => Date;
  random: () => number;
  log: Logger;
  /** told each planned time (null when stopped), e.g. to show it in a status command */
  onScheduled?: (at: Date | null) => void;
  /** logged by start() when there is no schedule */
  unscheduledHint: string;
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

export function createDailyScheduler(deps: DailySchedulerDeps) {
  const timers = deps.timers ?? defaultTimers;
  const { schedule, name } = deps;
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
    deps.log.info(`scheduled ${name} starting`, { planned: planned?.toISOString() });
    running = deps.run(controller.signal).then(
      (r) => {
        if (r.state !== 'succeeded') deps.log.error(`scheduled ${name} did not succeed`, { runId: r.runId, state: r.state, phase: r.phase, error: r.error });
      },
      (e: unknown) => {
        // Someone ran the job by hand at the same time: theirs does the work.
        if (e instanceof DomainError && e.code === 'Conflict') deps.log.info(`scheduled ${name} skipped: it is already running`, { detail: e.message });
        else deps.log.error(`scheduled ${name} could not start`, { error: (e as Error).message });
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
        deps.log.info(deps.unscheduledHint);
        return;
      }
      plan();
      deps.log.info(`${name} scheduled`, { next: planned?.toISOString(), time: schedule.firstSyncTime, perDay: schedule.perDay, jitterMinutes: schedule.jitterMinutes });
    },
    async stop(): Promise<void> {
      stopped = true;
      if (handle !== null) timers.clear(handle);
      handle = null;
      planned = null;
      deps.onScheduled?.(null);
      controller?.abort(new Error(`${name} interrupted: the server is stopping`));
      await running;
    },
    /** the next planned run, jitter included; null when stopped or unscheduled */
    nextRunAt(): Date | null {
      return planned;
    },
  };
}

export type DailyScheduler = ReturnType<typeof createDailyScheduler>;
