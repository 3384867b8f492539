import type { Db } from './database.js';

export interface StoredEvent {
  eventInstanceId: string;
  clientId: string;
  eventId: number;
  namespaceId: number;
  sourceId: number;
  updateId: string;
  revisionNumber: number;
  timeAtTarget: string;
  win32HResult: number;
  appName: string;
  replacementStrings: string[];
  miscData: string[];
}

export function createEventsStore(db: Db) {
  // OR IGNORE on the client's EventInstanceID: a replayed batch stores nothing twice.
  const insert = db.prepare(
    `INSERT OR IGNORE INTO events (event_instance_id, client_id, event_id, namespace_id, source_id, update_id,
       revision_number, time_at_target, win32_hresult, app_name, replacement_strings, misc_data, received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM events');
  const byClient = db.prepare<[string], Record<string, unknown>>(
    'SELECT * FROM events WHERE client_id = ? ORDER BY time_at_target, event_instance_id',
  );

  return {
    /** Returns how many events were new. */
    insertBatch(events: readonly StoredEvent[], receivedAt: string): number {
      let added = 0;
      db.transaction(() => {
        for (const e of events) {
          added += insert.run(e.eventInstanceId, e.clientId, e.eventId, e.namespaceId, e.sourceId, e.updateId,
            e.revisionNumber, e.timeAtTarget, e.win32HResult, e.appName, JSON.stringify(e.replacementStrings),
            JSON.stringify(e.miscData), receivedAt).changes;
        }
      })();
      return added;
    },
    count(): number {
      return count.get()!.n;
    },
    forClient(clientId: string): Array<Record<string, unknown>> {
      return byClient.all(clientId);
    },
  };
}

export type EventsStore = ReturnType<typeof createEventsStore>;
