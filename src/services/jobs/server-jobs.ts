import type { SyncRunOptions, SyncRunResult } from '../sync/sync-types.js';
import type { CleanupRunOptions, CleanupRunResult, RulesRunOptions, RulesRunResult } from '../maintenance/maintenance-types.js';

// The server's background jobs, by name: what the job registry runs, what the schedulers, the
// admin API and the after-sync hook start, and what the job locks are called.

export type ServerJobs = {
  sync: { options: SyncRunOptions; result: SyncRunResult };
  cleanup: { options: CleanupRunOptions; result: CleanupRunResult };
  rules: { options: RulesRunOptions; result: RulesRunResult };
};

export const SERVER_JOB_NAMES: ReadonlyArray<keyof ServerJobs> = ['sync', 'cleanup', 'rules'];
