import { DomainError } from '../../core/errors.js';
import type { Logger } from '../../logger.js';
import type { JobLockRow, JobLocksStore } from '../../store/job-locks.store.js';

// Runs a background job (sync, later cleanup, rules…) as the only instance across processes.
// The holder heartbeats every few seconds; a lock whose process is gone, or whose heartbeat is
// older than `staleMs`, is taken over. That is how a `kill -9`ed sync is recovered: the next
// run takes the lock over and the job's own bookkeeping marks the old run interrupted.

export interface JobLockOptions {
  locks: JobLocksStore;
  log: Logger;
  clock: () => Date;
  /** identifies this process and instance in `sync status` and in Conflict messages */
  owner: string;
  pid?: number;
  staleMs?: number;
  heartbeatMs?: number;
  isAlive?: (pid: number) => boolean;
}

export interface JobContext {
  /** aborted when the caller's signal aborts or when the lock was lost */
  signal: AbortSignal;
  tookOverFrom: JobLockRow | null;
}

export const DEFAULT_STALE_MS = 60_000;
export const DEFAULT_HEARTBEAT_MS = 5_000;

/** Same host (the database is local): signal 0 probes a pid without touching it. */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function describeHolder(h: JobLockRow): string {
  return `${h.owner} (pid ${h.pid}, since ${h.acquiredAt}, last heartbeat ${h.heartbeatAt})`;
}

export async function withJobLock<T>(
  o: JobLockOptions,
  name: string,
  body: (ctx: JobContext) => Promise<T>,
  opts: { signal?: AbortSignal; onHeartbeat?: (at: Date) => void } = {},
): Promise<T> {
  const pid = o.pid ?? process.pid;
  const staleMs = o.staleMs ?? DEFAULT_STALE_MS;
  const isAlive = o.isAlive ?? processAlive;
  const now = o.clock();
  const outcome = o.locks.acquire(name, o.owner, pid, now, (h) =>
    !isAlive(h.pid) || now.getTime() - Date.parse(h.heartbeatAt) > staleMs);
  if (!outcome.acquired) {
    throw new DomainError('Conflict', name, `${name} is already running: ${describeHolder(outcome.holder)}`);
  }
  if (outcome.tookOverFrom) {
    o.log.warn('job lock taken over from a stopped process', { job: name, previous: outcome.tookOverFrom.owner, previousPid: outcome.tookOverFrom.pid, lastHeartbeat: outcome.tookOverFrom.heartbeatAt });
  }
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(opts.signal?.reason);
  if (opts.signal?.aborted) controller.abort(opts.signal.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const timer = setInterval(() => {
    const at = o.clock();
    try {
      if (!o.locks.heartbeat(name, o.owner, at)) {
        controller.abort(new DomainError('Conflict', name, `${name}: lost the job lock (another process took it over after this one stalled)`));
        return;
      }
      opts.onHeartbeat?.(at);
    } catch (e) {
      // A busy database must not kill the job: the next beat tries again well within staleMs.
      o.log.warn('job heartbeat failed', { job: name, error: (e as Error).message });
    }
  }, o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
  timer.unref();
  try {
    return await body({ signal: controller.signal, tookOverFrom: outcome.tookOverFrom });
  } finally {
    clearInterval(timer);
    opts.signal?.removeEventListener('abort', onOuterAbort);
    o.locks.release(name, o.owner);
  }
}
