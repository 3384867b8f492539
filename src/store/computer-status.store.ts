import type { Db } from './database.js';

// Each computer's latest status report: the MiscData of its newest status event (EventID 156,
// namespace 1), whose U=/V=/W=/g=/h= lists say which updates it needs and has. Read through the
// partial index events_status_by_client: one index seek per computer.

export function createComputerStatusStore(db: Db) {
  const latestOne = db.prepare<[string], { misc_data: string }>(
    `SELECT misc_data FROM events WHERE client_id = ? AND event_id = 156 AND namespace_id = 1
      ORDER BY time_at_target DESC LIMIT 1`,
  );
  const latestAll = db.prepare<[], { client_id: string; misc_data: string | null }>(
    `SELECT c.client_id, (SELECT e.misc_data FROM events e WHERE e.client_id = c.client_id AND e.event_id = 156 AND e.namespace_id = 1
                           ORDER BY e.time_at_target DESC LIMIT 1) AS misc_data
       FROM computers c`,
  );
  const reportedSince = db.prepare<[string], { client_id: string; misc_data: string | null }>(
    `SELECT c.client_id, (SELECT e.misc_data FROM events e WHERE e.client_id = c.client_id AND e.event_id = 156 AND e.namespace_id = 1
                           ORDER BY e.time_at_target DESC LIMIT 1) AS misc_data
       FROM computers c WHERE c.last_report_at >= ?`,
  );
  const clientIds = db.prepare<[], { client_id: string }>('SELECT client_id FROM computers');
  const version = db.prepare<[], { n: number; at: string | null }>('SELECT count(*) AS n, max(last_report_at) AS at FROM computers');

  const parse = (json: string): string[] => {
    try {
      const v = JSON.parse(json) as unknown;
      return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
    } catch {
      return [];
    }
  };

  return {
    /** The latest status MiscData of one computer; null when it never sent one. */
    latestOf(clientId: string): string[] | null {
      const r = latestOne.get(clientId);
      return r ? parse(r.misc_data) : null;
    },
    /** Every computer's latest status MiscData (computers without one are skipped). */
    *latestAll(): Generator<{ clientId: string; misc: string[] }> {
      for (const r of latestAll.iterate()) if (r.misc_data !== null) yield { clientId: r.client_id, misc: parse(r.misc_data) };
    },
    /** Latest status MiscData (null: none) of the computers that reported at or after `iso`. */
    *reportedSince(iso: string): Generator<{ clientId: string; misc: string[] | null }> {
      for (const r of reportedSince.iterate(iso)) yield { clientId: r.client_id, misc: r.misc_data === null ? null : parse(r.misc_data) };
    },
    clientIds(): Set<string> {
      return new Set(clientIds.all().map((r) => r.client_id));
    },
    /** Changes whenever a computer is added or removed (count) or a report arrives (lastReport). */
    version(): { count: number; lastReport: string | null } {
      const v = version.get()!;
      return { count: v.n, lastReport: v.at };
    },
  };
}

export type ComputerStatusStore = ReturnType<typeof createComputerStatusStore>;
