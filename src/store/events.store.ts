import type { Db } from './database.js';
import type { InboxEvent } from '../core/reporting/report-event.js';

// Client reporting events as received (MiscData compacted: src/core/reporting/misc-compaction.ts).
// Written only by the report processor; pruned by receipt time, per computer, and for computers
// that no longer exist.

/** An event as stored: the checked event and the client it came from. */
export interface StoredEvent extends InboxEvent {
  clientId: string;
}

/** The fields the status backfill replays. */
export interface StatusEventRow {
  eventId: number;
  namespaceId: number;
  updateId: string;
  timeAtTarget: string;
  win32HResult: number;
  miscData: string[];
}

const STATUS_EVENT_IDS = '156, 162, 182, 183, 184, 201, 202';

export function createEventsStore(db: Db) {
  // OR IGNORE on the client's EventInstanceID: a replayed batch stores nothing twice.
  const insertQ = db.prepare(
    `INSERT OR IGNORE INTO events (event_instance_id, client_id, event_id, namespace_id, source_id, update_id,
       revision_number, time_at_target, win32_hresult, app_name, replacement_strings, misc_data, received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const countQ = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM events');
  const byClientQ = db.prepare<[string], Record<string, unknown>>(
    'SELECT * FROM events WHERE client_id = ? ORDER BY time_at_target, event_instance_id',
  );
  const updatePkQ = db.prepare<[string], { id: number }>('SELECT id FROM updates WHERE update_id = ?');
  const statusOfQ = db.prepare<[string], { event_id: number; namespace_id: number; update_id: string; time_at_target: string; win32_hresult: number; misc_data: string }>(
    `SELECT event_id, namespace_id, update_id, time_at_target, win32_hresult, misc_data FROM events
      WHERE client_id = ? AND event_id IN (${STATUS_EVENT_IDS}) ORDER BY time_at_target`,
  );
  const anyStatusQ = db.prepare<[], { x: number }>(`SELECT 1 AS x FROM events WHERE event_id IN (${STATUS_EVENT_IDS}) LIMIT 1`);
  const expireQ = db.prepare(
    'DELETE FROM events WHERE event_instance_id IN (SELECT event_instance_id FROM events WHERE received_at < ? LIMIT ?)',
  );
  // Distinct client ids by index seeks (events_by_client), one per client rather than one per event.
  const nextClientQ = db.prepare<[string], { client_id: string }>('SELECT client_id FROM events WHERE client_id > ? ORDER BY client_id LIMIT 1');
  const ofClientQ = db.prepare(
    'DELETE FROM events WHERE event_instance_id IN (SELECT event_instance_id FROM events WHERE client_id = ? LIMIT ?)',
  );
  const beyondCapQ = db.prepare<[string, number], { x: number }>(
    'SELECT 1 AS x FROM events WHERE client_id = ? ORDER BY time_at_target DESC LIMIT 1 OFFSET ?',
  );
  const trimQ = db.prepare(
    `DELETE FROM events WHERE event_instance_id IN
       (SELECT event_instance_id FROM events WHERE client_id = ? ORDER BY time_at_target DESC LIMIT ? OFFSET ?)`,
  );

  const insert = (e: StoredEvent, receivedAt: string): boolean =>
    insertQ.run(e.eventInstanceId, e.clientId, e.eventId, e.namespaceId, e.sourceId, e.updateId,
      e.revisionNumber, e.timeAtTarget, e.win32HResult, e.appName, JSON.stringify(e.replacementStrings),
      JSON.stringify(e.miscData), receivedAt).changes > 0;

  return {
    /** Stores one event; false when its EventInstanceID was already stored (a replay). */
    insert,
    /** Stores events as given in one transaction (seeding, tests); returns how many were new. */
    insertBatch(list: readonly StoredEvent[], receivedAt: string): number {
      let added = 0;
      db.transaction(() => {
        for (const e of list) if (insert(e, receivedAt)) added++;
      })();
      return added;
    },
    /** updates.id of an update id (lower-case), undefined when the catalog does not have it. */
    updatePkOf(updateId: string): number | undefined {
      return updatePkQ.get(updateId)?.id;
    },
    count(): number {
      return countQ.get()!.n;
    },
    forClient(clientId: string): Array<Record<string, unknown>> {
      return byClientQ.all(clientId);
    },
    /** A computer's stored status-changing events, oldest first (the one-time status backfill). */
    statusEventsOf(clientId: string): StatusEventRow[] {
      return statusOfQ.all(clientId).map((r) => ({
        eventId: r.event_id, namespaceId: r.namespace_id, updateId: r.update_id, timeAtTarget: r.time_at_target,
        win32HResult: r.win32_hresult, miscData: JSON.parse(r.misc_data) as string[],
      }));
    },
    hasStatusEvents(): boolean {
      return anyStatusQ.get() !== undefined;
    },
    /** Deletes up to `limit` events received before `iso`; returns how many. */
    deleteReceivedBefore(iso: string, limit: number): number {
      return expireQ.run(iso, limit).changes;
    },
    /** The next client id (in order) that has events, after `clientId` ('' to start). */
    nextClient(clientId: string): string | undefined {
      return nextClientQ.get(clientId)?.client_id;
    },
    deleteOfClient(clientId: string, limit: number): number {
      return ofClientQ.run(clientId, limit).changes;
    },
    /** Whether the computer has more than `cap` events. */
    overCap(clientId: string, cap: number): boolean {
      return beyondCapQ.get(clientId, cap) !== undefined;
    },
    /** Deletes up to `limit` of the computer's oldest events beyond its newest `cap`. */
    trimToCap(clientId: string, cap: number, limit: number): number {
      return trimQ.run(clientId, limit, cap).changes;
    },
  };
}

export type EventsStore = ReturnType<typeof createEventsStore>;
