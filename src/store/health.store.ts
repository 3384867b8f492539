import type { Db } from './database.js';

// Read-only figures `wsus health` needs beyond the sync and catalog reads: client event
// outcomes in a window, content the store refused, and the last maintenance run (when the
// maintenance feature's history table exists in this database).

export interface ClientEventFigures {
  events: number;
  failures: number;
  clientsReporting: number;
  clientsFailing: number;
}

export interface MaintenanceRunRow {
  job: string;
  trigger: string;
  state: string;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
}

export function createHealthStore(db: Db) {
  const quarantinedQ = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM content WHERE state = 'quarantined'");
  const hasTable = (name: string): boolean =>
    db.prepare<[string], { n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?").get(name)!.n > 0;

  return {
    /** Events received since `sinceIso`; a failure is one of `failureIds` or a non-zero HRESULT. */
    clientEvents(sinceIso: string, failureIds: readonly number[]): ClientEventFigures {
      const ids = failureIds.map((n) => Math.trunc(n)).join(',') || '-1';
      const row = db.prepare<[string], ClientEventFigures>(
        `SELECT count(*) AS events,
                coalesce(sum(CASE WHEN event_id IN (${ids}) OR win32_hresult != 0 THEN 1 ELSE 0 END), 0) AS failures,
                count(DISTINCT client_id) AS clientsReporting,
                count(DISTINCT CASE WHEN event_id IN (${ids}) OR win32_hresult != 0 THEN client_id END) AS clientsFailing
           FROM events WHERE received_at >= ?`,
      ).get(sinceIso)!;
      return row;
    },
    quarantinedFiles(): number {
      return quarantinedQ.get()!.n;
    },
    /** null when this database has no maintenance history (the feature is not installed) */
    lastMaintenanceRun(): { lastRun: MaintenanceRunRow | null; lastSucceeded: MaintenanceRunRow | null } | null {
      if (!hasTable('maintenance_runs')) return null;
      const cols = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('maintenance_runs')").all().map((c) => c.name);
      const error = cols.includes('error') ? 'error' : 'NULL';
      const q = (where: string) => db.prepare<[], MaintenanceRunRow>(
        `SELECT job, trigger, state, started_at AS startedAt, finished_at AS finishedAt, ${error} AS error
           FROM maintenance_runs WHERE finished_at IS NOT NULL ${where} AND dry_run = 0 ORDER BY finished_at DESC, id DESC LIMIT 1`,
      ).get() ?? null;
      return { lastRun: q(''), lastSucceeded: q("AND state = 'succeeded'") };
    },
  };
}

export type HealthStore = ReturnType<typeof createHealthStore>;
