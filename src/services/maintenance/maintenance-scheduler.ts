import type { MaintenanceSchedule } from '../../config/maintenance-config.js';
import type { Logger } from '../../logger.js';
import { createDailyScheduler, type SchedulerTimers } from '../jobs/daily-scheduler.js';

// The daily cleanup inside `wsus serve` (WSUS admins run the cleanup wizard by hand; here it is
// on by default). Aborting a cleanup keeps every batch it committed; the next run plans again
// from what is left.

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

export function createMaintenanceScheduler(deps: MaintenanceSchedulerDeps) {
  const s = deps.schedule;
  return createDailyScheduler({
    ...deps,
    name: 'cleanup',
    schedule: s ? { firstSyncTime: s.time, perDay: 1, jitterMinutes: s.jitterMinutes } : null,
    unscheduledHint: 'no maintenance schedule configured: clean up with wsus cleanup',
  });
}

export type MaintenanceScheduler = ReturnType<typeof createMaintenanceScheduler>;
