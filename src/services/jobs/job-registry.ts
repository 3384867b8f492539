import type { JobLocksStore, JobLockRow } from '../../store/job-locks.store.js';
import type { Logger } from '../../logger.js';
import { processAlive, withJobLock, type JobContext, type JobLockOptions } from './job-lock.js';

// One typed registry of background jobs (ARCHITECTURE.md principle 7): every job has exactly
// one handler — a registry built without one does not compile, and refuses to start when
// handed an incomplete table at run time — one instance at a time across the server and CLI
// processes (the job lock), and a status anyone can read. The scheduler, the admin API and
// the after-sync hook all start jobs through it.

/** A job's option and result types, by name. */
export type JobTypeMap = Record<string, { options: object; result: unknown }>;

export interface JobDefinition<O, R> {
  /**
   * 'registry': the registry takes the lock `name` around `run`.
   * 'self': the handler takes it itself (the sync, which records its runs under the lock).
   */
  lock: 'registry' | 'self';
  run(options: O, ctx: JobContext | null): Promise<R>;
}

export type JobHandlers<M extends JobTypeMap> = { [K in keyof M]: JobDefinition<M[K]['options'], M[K]['result']> };

export interface JobStatus {
  name: string;
  running: (JobLockRow & { alive: boolean }) | null;
}

export interface JobRegistryDeps {
  locks: JobLocksStore;
  log: Logger;
  clock: () => Date;
  owner: string;
  /** test seams */
  lockTiming?: Pick<JobLockOptions, 'staleMs' | 'heartbeatMs' | 'isAlive'>;
}

export class JobRegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobRegistryError';
  }
}

export function createJobRegistry<M extends JobTypeMap>(deps: JobRegistryDeps, names: ReadonlyArray<keyof M & string>, handlers: JobHandlers<M>) {
  const missing = names.filter((n) => typeof handlers[n]?.run !== 'function');
  if (missing.length) throw new JobRegistryError(`jobs without a handler: ${missing.join(', ')}`);
  const lockOptions: JobLockOptions = { locks: deps.locks, log: deps.log, clock: deps.clock, owner: deps.owner, ...deps.lockTiming };

  return {
    names(): Array<keyof M & string> {
      return [...names];
    },
    /** Runs `name` now; Conflict (naming the holder) while another instance runs anywhere. */
    run<K extends keyof M & string>(name: K, options: M[K]['options'] & { signal?: AbortSignal }): Promise<M[K]['result']> {
      const def = handlers[name];
      if (!def) return Promise.reject(new JobRegistryError(`unknown job ${name}`));
      if (def.lock === 'self') return def.run(options, null);
      return withJobLock(lockOptions, name, (ctx) => def.run(options, ctx), options.signal ? { signal: options.signal } : {});
    },
    status(name: keyof M & string): JobStatus {
      const h = deps.locks.holder(name);
      const isAlive = deps.lockTiming?.isAlive ?? processAlive;
      return { name, running: h ? { ...h, alive: isAlive(h.pid) } : null };
    },
  };
}

export type JobRegistry<M extends JobTypeMap> = ReturnType<typeof createJobRegistry<M>>;
