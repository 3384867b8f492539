import { DomainError, invalidParameters } from '../core/errors.js';
import type { ClientCookie } from '../core/cookies/cookie-token.js';
import { checkBatch, type IncomingEvent } from '../core/reporting/report-event.js';
import { createTokenBuckets } from '../core/reporting/token-bucket.js';
import type { Db } from '../store/database.js';
import { createEventsStore, type EventsStore } from '../store/events.store.js';
import { createComputersStore, type ComputersStore } from '../store/computers.store.js';
import type { ServerConfig } from '../config/config.js';
import type { Logger } from '../logger.js';
import { encodePayload } from './reporting/inbox-payload.js';
import type { IngestCounts } from './reporting/report-processor.js';
import type { PruneCounts } from './reporting/event-pruner.js';
import { createThrottledWarn } from './reporting/throttled-warn.js';
import { createLocalIngest } from './reporting/local-ingest.js';
import { startIngestThread, type IngestThread } from './reporting/ingest-thread.js';

// ReportEventBatch is answered at once and durably: the checked batch becomes one report_inbox
// row before the client gets `true`, and a background processor applies it (events, inventory,
// status) in short transactions, so a reporting backlog never slows a scan and an acknowledged
// event survives a crash. A client reporting faster than its budget, or a backlog above
// limits.maxPendingEvents, is told ServerBusy and retries later.
//
// The server stores and applies batches on the report ingest thread (reporting/ingest-thread.ts)
// so the scan thread only parses and checks them; in-process (the CLI, an in-memory database,
// or after that thread died) the same engine runs here.

export type { IncomingEvent } from '../core/reporting/report-event.js';
export type { IngestCounts } from './reporting/report-processor.js';
export type { PruneCounts } from './reporting/event-pruner.js';

export interface ReportingStats extends IngestCounts {
  /** events accepted and not yet processed */
  pendingEvents: number;
  /** events stored with the receipt time because the client's time was impossible */
  impossibleTimes: number;
  /** events about another client id than the cookie's (ignored) */
  foreignEvents: number;
  /** batches refused: the client's rate, or the global backlog */
  busyClient: number;
  busyBacklog: number;
}

export function createReportingService(deps: {
  db: Db;
  config: ServerConfig;
  clock: () => Date;
  log: Logger;
  events?: EventsStore;
  computers?: ComputersStore;
  /** store and apply batches on the ingest thread once started (the server); default in-process */
  thread?: boolean;
}) {
  const { db, config, clock, log } = deps;
  const events = deps.events ?? createEventsStore(db);
  const computers = deps.computers ?? createComputersStore(db);
  const local = createLocalIngest({ db, config: config.reporting, events, computers, clock, log });
  const buckets = createTokenBuckets(config.reporting.clientEventsPerMinute, config.reporting.clientEventBurst);
  const warn = createThrottledWarn(log, () => clock().getTime());
  const extra = { impossibleTimes: 0, foreignEvents: 0, busyClient: 0, busyBacklog: 0 };
  const useThread = deps.thread === true && db.name !== ':memory:' && !db.memory;
  let thread: IngestThread | null = null;
  let started = false;
  // Events accepted and not yet applied, as far as this thread knows (the backlog check).
  let queued = local.pendingEvents();

  function backlog(): number {
    return thread ? thread.latest().pending : queued;
  }

  function stats(): ReportingStats {
    const mine = local.counts();
    const theirs = thread?.latest().counts;
    const sum = { ...mine };
    if (theirs) for (const k of Object.keys(sum) as Array<keyof IngestCounts>) sum[k] += theirs[k];
    return { ...sum, ...extra, pendingEvents: local.pendingEvents() };
  }

  return {
    /**
     * Checks a batch and stores it in the inbox; true once it is durable. Throws InvalidParameters
     * (nothing stored) or ServerBusy (client over its rate, or the backlog is full).
     */
    accept(cookie: ClientCookie, batch: readonly IncomingEvent[], address: string | null = null): boolean | Promise<boolean> {
      const now = clock();
      const clientId = cookie.clientId;
      if (batch.length > config.limits.maxEventsPerBatch) throw invalidParameters('eventBatch');
      if (batch.length === 0) return true;
      const waiting = backlog();
      if (waiting + batch.length > config.limits.maxPendingEvents) {
        extra.busyBacklog++;
        warn('backlog', 'report backlog full: clients are told ServerBusy', { pendingEvents: waiting, limit: config.limits.maxPendingEvents });
        throw new DomainError('ServerBusy', '', 'reporting backlog full');
      }
      if (!buckets.take(clientId, batch.length, now.getTime())) {
        extra.busyClient++;
        warn(`rate:${clientId}`, 'client reports too fast: told ServerBusy', {
          clientId, events: batch.length, perMinute: config.reporting.clientEventsPerMinute, burst: config.reporting.clientEventBurst,
        });
        throw new DomainError('ServerBusy', '', 'client reporting rate exceeded');
      }
      const checked = checkBatch(batch, clientId, now);
      if (checked.foreign) {
        extra.foreignEvents += checked.foreign;
        warn(`foreign:${clientId}`, 'report events for another client ignored', { clientId, events: checked.foreign });
      }
      if (checked.impossibleTimes) {
        extra.impossibleTimes += checked.impossibleTimes;
        warn(`time:${clientId}`, 'report events with an impossible time stored with the receipt time', { clientId, events: checked.impossibleTimes });
      }
      if (checked.events.length === 0) return true;
      const payload = encodePayload({ inventory: checked.inventory, events: checked.events });
      if (thread) {
        return thread.store(clientId, address, now.toISOString(), checked.events.length, payload).then(() => true, (e: Error) => {
          throw new DomainError('ServerBusy', '', `report not stored: ${e.message}`);
        });
      }
      local.store(clientId, address, now.toISOString(), checked.events.length, payload);
      queued += checked.events.length;
      return true;
    },

    /** Applies everything accepted so far, synchronously, on this connection (admin reads, tests, shutdown); returns the events applied. */
    flush(): number {
      const n = local.flush();
      queued = 0;
      return n;
    },

    /** Resolves once every accepted batch is applied and the counters (stats()) include them. */
    async settle(): Promise<ReportingStats> {
      if (thread) await thread.settle();
      else this.flush();
      return stats();
    },

    /** Events accepted and not yet applied. */
    pending(): number {
      return local.pendingEvents();
    },

    /** Deletes expired events, events of deleted computers and events beyond each computer's cap; synchronous. */
    pruneEvents(now: Date = clock()): PruneCounts {
      return local.prune(now);
    },

    stats,

    /** Starts background processing (leftover inbox rows first) and the hourly prune. */
    start(): void {
      if (started) return;
      started = true;
      if (!useThread) {
        local.start();
        return;
      }
      thread = startIngestThread({
        dbFile: db.name, config: config.reporting, log,
        onDead: (e) => {
          // Nothing acknowledged is lost (the inbox is durable); this thread takes the work back.
          log.error('report ingest thread ended: applying reports in the server thread', { error: e.message });
          thread = null;
          queued = local.pendingEvents();
          if (started) local.start();
        },
      });
    },

    /** Stops background work; what is still in the inbox stays there (flush() first to apply it). */
    stop(): Promise<void> {
      started = false;
      local.stop();
      const t = thread;
      thread = null;
      return t ? t.stop() : Promise.resolve();
    },
  };
}

export type ReportingService = ReturnType<typeof createReportingService>;
