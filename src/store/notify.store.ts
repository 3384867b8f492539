import type { Db } from './database.js';

// Reads and the small state of notifications: which updates a sync brought, and the last
// health state a notification was based on (so a restart does not announce it again).

export interface ArrivedUpdates {
  /** updates whose first revision arrived in the window (categories and detectoids left out) */
  newUpdates: number;
  /** updates that had a revision before and got a newer one */
  revisedUpdates: number;
  /** the first new updates, in arrival order */
  first: Array<{ updateId: string; title: string }>;
}

export function createNotifyStore(db: Db) {
  const arrived = db.prepare<{ from: string; to: string }, { updateId: string; title: string; isNew: number; firstRid: number }>(
    `SELECT u.update_id AS updateId, rc.title AS title, min(r.id) AS firstRid,
            NOT EXISTS (SELECT 1 FROM revisions r0 WHERE r0.update_pk = u.id AND r0.ingested_at < @from) AS isNew
       FROM revisions r JOIN updates u ON u.id = r.update_pk JOIN revisions rc ON rc.id = u.current_revision_id
      WHERE r.ingested_at >= @from AND r.ingested_at <= @to AND rc.update_type NOT IN ('Category', 'Detectoid')
      GROUP BY u.id ORDER BY firstRid`,
  );
  const metaGet = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
  const metaPut = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  const lastMaintenance = (): number | null => {
    const has = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'maintenance_runs'").get()!.n;
    if (!has) return null;
    return db.prepare<[], { id: number | null }>('SELECT max(id) AS id FROM maintenance_runs WHERE finished_at IS NOT NULL').get()!.id;
  };

  return {
    arrivedBetween(fromIso: string, toIso: string, limit: number): ArrivedUpdates {
      const rows = arrived.all({ from: fromIso, to: toIso });
      const fresh = rows.filter((r) => r.isNew === 1);
      return {
        newUpdates: fresh.length,
        revisedUpdates: rows.length - fresh.length,
        first: fresh.slice(0, limit).map((r) => ({ updateId: r.updateId, title: r.title })),
      };
    },
    getState(key: string): string | undefined {
      return metaGet.get(key)?.value;
    },
    putState(key: string, value: string): void {
      metaPut.run(key, value);
    },
    /** the newest finished maintenance run's id (null: none, or no maintenance history here) */
    lastFinishedMaintenanceRun(): number | null {
      return lastMaintenance();
    },
  };
}

export type NotifyStore = ReturnType<typeof createNotifyStore>;
