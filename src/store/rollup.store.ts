import type { Db } from './database.js';

// Reporting rollup received from downstream servers (MS-WSUSSS 3.1.4.15-17): their computers
// and the per-update status of each, stored as received under the downstream that sent them.

export interface ComputerRecord {
  computerId: string;
  /** wire fields as strings (ComputerRollupInfo attributes, Details flattened in) */
  fields: Record<string, string>;
}

export interface StatusRecord {
  computerId: string;
  rollupNumber: number | null;
  isFullRollup: boolean;
  effectiveLastDetectionTime: string | null;
  statuses: Array<{ updateId: string; revisionNumber: number | null; state: number; lastChangeTime: string | null }>;
}

const time = (s: string | null | undefined): number => {
  const t = s ? Date.parse(s) : NaN;
  return Number.isNaN(t) ? -Infinity : t;
};

export function createRollupStore(db: Db) {
  const computerOf = db.prepare<[string, string], { info: string; parent_server_id: string | null; last_rollup_number: number | null }>(
    'SELECT info, parent_server_id, last_rollup_number FROM rollup_computers WHERE server_id = ? AND computer_id = ?',
  );
  const upsertComputer = db.prepare(
    `INSERT INTO rollup_computers (server_id, computer_id, info, rolled_up_at, parent_server_id) VALUES (@server, @computer, @info, @at, @parent)
     ON CONFLICT (server_id, computer_id) DO UPDATE SET info = excluded.info, rolled_up_at = excluded.rolled_up_at, parent_server_id = excluded.parent_server_id`,
  );
  const ensureComputer = db.prepare(
    `INSERT INTO rollup_computers (server_id, computer_id, info, rolled_up_at) VALUES (?, ?, '{}', ?) ON CONFLICT (server_id, computer_id) DO NOTHING`,
  );
  const setStatusRollup = db.prepare(
    'UPDATE rollup_computers SET last_rollup_number = ?, effective_last_detection_time = ?, rolled_up_at = ? WHERE server_id = ? AND computer_id = ?',
  );
  const clearStatuses = db.prepare('DELETE FROM rollup_update_status WHERE server_id = ? AND computer_id = ?');
  const statusOf = db.prepare<[string, string, string], { last_change_time: string | null }>(
    'SELECT last_change_time FROM rollup_update_status WHERE server_id = ? AND computer_id = ? AND update_id = ?',
  );
  const upsertStatus = db.prepare(
    `INSERT INTO rollup_update_status (server_id, computer_id, update_id, revision_number, state, last_change_time) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (server_id, computer_id, update_id) DO UPDATE SET revision_number = excluded.revision_number, state = excluded.state,
       last_change_time = excluded.last_change_time`,
  );

  return {
    /**
     * RollupComputers: a record replaces the stored one unless the stored LastSyncTime is newer
     * (fields are merged, so a record without Details keeps the details sent earlier). Returns
     * the ids that were new or changed ParentServerId (the caller decides on NewParent).
     */
    upsertComputers(serverId: string, records: readonly ComputerRecord[], now: Date): Set<string> {
      return db.transaction(() => {
        const fresh = new Set<string>();
        for (const r of records) {
          const stored = computerOf.get(serverId, r.computerId);
          const parent = r.fields.ParentServerId?.toLowerCase() ?? null;
          if (stored) {
            const before = JSON.parse(stored.info) as Record<string, string>;
            if (time(before.LastSyncTime) > time(r.fields.LastSyncTime)) continue;
            upsertComputer.run({ server: serverId, computer: r.computerId, info: JSON.stringify({ ...before, ...r.fields }), at: now.toISOString(), parent });
            if (stored.parent_server_id !== parent) fresh.add(r.computerId);
          } else {
            upsertComputer.run({ server: serverId, computer: r.computerId, info: JSON.stringify(r.fields), at: now.toISOString(), parent });
            fresh.add(r.computerId);
          }
        }
        return fresh;
      }).immediate();
    },

    /** RollupComputerStatus: records the RollupNumber; a full rollup replaces the statuses, a delta keeps the newest per update. */
    recordStatus(serverId: string, records: readonly StatusRecord[], now: Date): void {
      db.transaction(() => {
        const at = now.toISOString();
        for (const r of records) {
          ensureComputer.run(serverId, r.computerId, at);
          setStatusRollup.run(r.rollupNumber, r.effectiveLastDetectionTime, at, serverId, r.computerId);
          if (r.isFullRollup) clearStatuses.run(serverId, r.computerId);
          for (const s of r.statuses) {
            const updateId = s.updateId.toLowerCase();
            const stored = statusOf.get(serverId, r.computerId, updateId);
            if (stored && time(stored.last_change_time) > time(s.lastChangeTime)) continue;
            upsertStatus.run(serverId, r.computerId, updateId, s.revisionNumber, s.state, s.lastChangeTime);
          }
        }
      }).immediate();
    },

    /** GetOutOfSyncComputers: ids whose stored RollupNumber differs from the downstream's, or that we never received. */
    outOfSync(serverId: string, numbers: ReadonlyArray<{ computerId: string; lastRollupNumber: number }>): string[] {
      return numbers
        .filter((n) => computerOf.get(serverId, n.computerId)?.last_rollup_number !== n.lastRollupNumber)
        .map((n) => n.computerId);
    },
  };
}

export type RollupStore = ReturnType<typeof createRollupStore>;
