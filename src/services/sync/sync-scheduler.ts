import type { ServerConfig } from '../../config/config.js';
import type { Logger } from '../../logger.js';
import { createDailyScheduler, type SchedulerTimers } from '../jobs/daily-scheduler.js';
import type { SyncRunOptions, SyncRunResult } from './sync-types.js';

// The sync on its daily schedule (sync.schedule); an aborted sync records itself as
// interrupted and resumes from staging next time.

export type { SchedulerTimers };

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

export function createSyncScheduler(deps: SyncSchedulerDeps) {
  return createDailyScheduler({
    ...deps,
    name: 'sync',
    schedule: deps.config.sync.schedule,
    run: (signal) => deps.run({ trigger: 'schedule', signal }),
    unscheduledHint: 'no sync schedule configured: synchronize with wsus sync run',
  });
}

export type SyncScheduler = ReturnType<typeof createSyncScheduler>;
