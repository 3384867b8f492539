import type { Db } from './database.js';

// The durable report inbox (migration "reporting"): one row per accepted ReportEventBatch,
// written before the client gets its answer, deleted by the report processor in the same
// transaction that applies it. Also the small state of that processor kept in `meta`.

export interface InboxRow {
  id: number;
  clientId: string;
  address: string | null;
  receivedAt: string;
  eventCount: number;
  /** JSON: { inventory, events } (src/services/reporting/inbox-payload.ts) */
  payload: string;
}

interface RawRow { id: number; client_id: string; address: string | null; received_at: string; event_count: number; events: string }

const BACKFILL_KEY = 'status_backfilled';

export function createReportInboxStore(db: Db) {
  const addQ = db.prepare('INSERT INTO report_inbox (client_id, address, received_at, event_count, events) VALUES (?, ?, ?, ?, ?)');
  const nextQ = db.prepare<[number], RawRow>('SELECT id, client_id, address, received_at, event_count, events FROM report_inbox ORDER BY id LIMIT ?');
  const removeQ = db.prepare('DELETE FROM report_inbox WHERE id = ?');
  const pendingQ = db.prepare<[], { n: number | null; rows: number }>('SELECT sum(event_count) AS n, count(*) AS rows FROM report_inbox');
  const metaGet = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
  const metaPut = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');

  return {
    add(clientId: string, address: string | null, receivedAt: string, eventCount: number, payload: string): number {
      return Number(addQ.run(clientId, address, receivedAt, eventCount, payload).lastInsertRowid);
    },
    /** The oldest rows first. */
    next(limit: number): InboxRow[] {
      return nextQ.all(limit).map((r) => ({
        id: r.id, clientId: r.client_id, address: r.address, receivedAt: r.received_at, eventCount: r.event_count, payload: r.events,
      }));
    },
    remove(id: number): void {
      removeQ.run(id);
    },
    pending(): { events: number; rows: number } {
      const r = pendingQ.get()!;
      return { events: r.n ?? 0, rows: r.rows };
    },
    /** meta status_backfilled: absent (never decided), `cursor:<clientId>` (in progress) or the ISO time it finished */
    backfillState(): string | undefined {
      return metaGet.get(BACKFILL_KEY)?.value;
    },
    setBackfillState(value: string): void {
      metaPut.run(BACKFILL_KEY, value);
    },
  };
}

export type ReportInboxStore = ReturnType<typeof createReportInboxStore>;
