import { performance } from 'node:perf_hooks';
import type { Db } from '../../store/database.js';
import type { EventsStore } from '../../store/events.store.js';
import type { ComputersStore } from '../../store/computers.store.js';
import type { ReportingConfig } from '../../config/reporting-config.js';

// Keeps the events table bounded: events received longer ago than the retention, events of
// computers that no longer exist, and each computer's oldest events beyond its cap. Deletes
// go in transactions of at most 5,000 rows; a run is a sequence of such steps so the server can
// yield between them. Status is not affected: it lives in computer_status (failures included).
//
// The cap is checked for every computer on the first run, then only for computers that reported
// since the previous run began (computers.last_report_at against meta events_pruned_at, so the
// server's ingest thread and a CLI prune share one record of it).

export interface PruneCounts {
  /** older than the retention */
  expired: number;
  /** of computers that no longer exist */
  orphaned: number;
  /** beyond a computer's cap */
  overCap: number;
}

export const PRUNE_CHUNK = 5_000;
const STEP_BUDGET_MS = 25;

/** A batch received just before a run may be applied just after it began: look back this far. */
const REPORT_LAG_MS = 15 * 60_000;
const PRUNED_AT_KEY = 'events_pruned_at';

export function createEventPruner(deps: { db: Db; events: EventsStore; computers: ComputersStore; config: ReportingConfig }) {
  const { db, events, computers, config } = deps;
  const metaGet = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
  const metaPut = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');

  /** One prune run; each `yield` is between two transactions. */
  function* run(now: Date): Generator<void, PruneCounts> {
    const counts: PruneCounts = { expired: 0, orphaned: 0, overCap: 0 };
    const cutoff = new Date(now.getTime() - config.eventRetentionDays * 86_400_000).toISOString();
    for (;;) {
      const n = db.transaction(() => events.deleteReceivedBefore(cutoff, PRUNE_CHUNK)).immediate();
      counts.expired += n;
      if (n < PRUNE_CHUNK) break;
      yield;
    }

    const previous = metaGet.get(PRUNED_AT_KEY)?.value;
    metaPut.run(PRUNED_AT_KEY, now.toISOString());
    const full = previous === undefined;
    const capCheck = full ? new Set<string>() : computers.reportedSince(new Date(Date.parse(previous) - REPORT_LAG_MS).toISOString());
    // One walk over the client ids that have events: orphans, and on a full pass the cap.
    let cursor = '';
    for (let done = false; !done;) {
      db.transaction(() => {
        const started = performance.now();
        let left = PRUNE_CHUNK;
        while (left > 0 && performance.now() - started < STEP_BUDGET_MS) {
          const id = events.nextClient(cursor);
          if (id === undefined) {
            done = true;
            return;
          }
          if (!computers.exists(id)) {
            const n = events.deleteOfClient(id, left);
            counts.orphaned += n;
            left -= n;
            if (left === 0) return; // the same client again in the next step
          } else if (full && events.overCap(id, config.maxEventsPerComputer)) {
            const n = events.trimToCap(id, config.maxEventsPerComputer, left);
            counts.overCap += n;
            left -= n;
            if (left === 0) return;
          }
          cursor = id;
        }
      }).immediate();
      if (!done) yield;
    }

    for (const id of capCheck) {
      for (;;) {
        const n = db.transaction(() => (events.overCap(id, config.maxEventsPerComputer)
          ? events.trimToCap(id, config.maxEventsPerComputer, PRUNE_CHUNK) : 0)).immediate();
        counts.overCap += n;
        if (n < PRUNE_CHUNK) break;
        yield;
      }
    }
    return counts;
  }

  return { run };
}

export type EventPruner = ReturnType<typeof createEventPruner>;
