import type { Db } from '../../store/database.js';
import type { EventsStore } from '../../store/events.store.js';
import type { ComputersStore } from '../../store/computers.store.js';
import { createReportInboxStore } from '../../store/report-inbox.store.js';
import { createUpdateStatusStore } from '../../store/update-status.store.js';
import type { ReportingConfig } from '../../config/reporting-config.js';
import type { Logger } from '../../logger.js';
import { createReportProcessor, type IngestCounts } from './report-processor.js';
import { createEventPruner, type PruneCounts } from './event-pruner.js';

// The ingest engine on one database connection: stores accepted batches in the inbox and
// applies them in the background (short transactions, yielding to the event loop between
// them), plus the hourly event prune. The server runs it in a worker thread (ingest-worker.ts)
// so a report flood never takes the scan thread's time; the CLI and a worker that died run it
// in-process. flush() applies the inbox synchronously on whichever connection calls it: two
// engines on one database are safe because each step takes and deletes its rows in one
// IMMEDIATE transaction.

/** Background step budget: other writers of the database wait at most about this long. */
const STEP_BUDGET_MS = 25;
const FLUSH_ROWS = 500;
const PRUNE_EVERY_MS = 3_600_000;
const FIRST_PRUNE_MS = 60_000;
const FAILURE_LOG_MS = 60_000;

export function createLocalIngest(deps: {
  db: Db;
  config: ReportingConfig;
  events: EventsStore;
  computers: ComputersStore;
  clock: () => Date;
  log: Logger;
  /** after each background step: how many events wait, and the counters so far */
  onProgress?: (pendingEvents: number, counts: IngestCounts) => void;
}) {
  const { db, config, events, computers, clock, log } = deps;
  const inbox = createReportInboxStore(db);
  const pruner = createEventPruner({ db, events, computers, config });
  const processor = createReportProcessor({ db, inbox, events, status: createUpdateStatusStore(db), computers, clock, log });
  let pending = inbox.pending().events;
  let started = false;
  let scheduled: NodeJS.Immediate | NodeJS.Timeout | null = null;
  let pruneTimer: NodeJS.Timeout | null = null;
  let pruning = false;
  let failures = 0;
  let lastFailureLog = 0;

  function schedule(delayMs = 0): void {
    if (!started || scheduled) return;
    scheduled = delayMs ? setTimeout(runStep, delayMs) : setImmediate(runStep);
  }

  function runStep(): void {
    scheduled = null;
    try {
      let more: boolean;
      if (processor.backfillPending()) more = processor.backfillStep(STEP_BUDGET_MS) || pending > 0;
      else {
        const r = processor.step(STEP_BUDGET_MS, Number.MAX_SAFE_INTEGER);
        pending = r.more ? Math.max(0, pending - r.events) : 0;
        more = r.more;
      }
      deps.onProgress?.(pending, processor.counts());
      if (more) schedule();
    } catch (e) {
      // A full or read-only disk fails every retry the same way: one line a minute, not one a second.
      failures++;
      const now = Date.now();
      if (now - lastFailureLog >= FAILURE_LOG_MS) {
        log.error('report processing failed; retrying', { error: (e as Error).message, failuresSinceLastLog: failures });
        lastFailureLog = now;
        failures = 0;
      }
      schedule(1000);
    }
  }

  function logPruned(c: PruneCounts, ms: number): void {
    if (c.expired || c.orphaned || c.overCap) log.info('report events pruned', { ...c, retentionDays: config.eventRetentionDays, ms });
  }

  /** The hourly prune, one transaction per event-loop turn. */
  function pruneInBackground(): void {
    if (pruning) return;
    pruning = true;
    const t0 = Date.now();
    const run = pruner.run(clock());
    const next = (): void => {
      if (!started) {
        pruning = false;
        return;
      }
      try {
        const r = run.next();
        if (r.done) {
          pruning = false;
          logPruned(r.value, Date.now() - t0);
        } else {
          setImmediate(next);
        }
      } catch (e) {
        pruning = false;
        log.error('report event pruning failed', { error: (e as Error).message });
      }
    };
    next();
  }

  return {
    /** Makes one checked batch durable (one inbox row) and schedules its processing. */
    store(clientId: string, address: string | null, receivedAt: string, eventCount: number, payload: string): void {
      inbox.add(clientId, address, receivedAt, eventCount, payload);
      pending += eventCount;
      schedule();
    },

    /** Applies everything in the inbox now, synchronously; returns the events applied. */
    flush(): number {
      while (processor.backfillStep(Number.POSITIVE_INFINITY));
      let n = 0;
      for (;;) {
        const r = processor.step(Number.POSITIVE_INFINITY, FLUSH_ROWS);
        n += r.events;
        if (!r.more) break;
      }
      pending = 0;
      return n;
    },

    /** Events waiting in the inbox (the database's count: every engine's rows). */
    pendingEvents(): number {
      return inbox.pending().events;
    },

    /** Deletes expired events, events of deleted computers and events beyond each computer's cap; synchronous. */
    prune(now: Date = clock()): PruneCounts {
      const t0 = Date.now();
      const run = pruner.run(now);
      let r = run.next();
      while (!r.done) r = run.next();
      logPruned(r.value, Date.now() - t0);
      return r.value;
    },

    counts(): IngestCounts {
      return processor.counts();
    },

    /** Starts background processing (leftover inbox rows first) and the hourly prune. */
    start(): void {
      if (started) return;
      started = true;
      schedule();
      pruneTimer = setTimeout(function tick() {
        pruneInBackground();
        pruneTimer = setTimeout(tick, PRUNE_EVERY_MS);
        pruneTimer.unref();
      }, FIRST_PRUNE_MS);
      pruneTimer.unref();
    },

    stop(): void {
      started = false;
      if (scheduled) {
        clearTimeout(scheduled as NodeJS.Timeout);
        clearImmediate(scheduled as NodeJS.Immediate);
        scheduled = null;
      }
      if (pruneTimer) clearTimeout(pruneTimer);
      pruneTimer = null;
    },
  };
}

export type LocalIngest = ReturnType<typeof createLocalIngest>;
