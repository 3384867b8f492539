import type { Db } from '../../src/store/database.js';

// "Stores nothing": the row counts of every table a client, a downstream server or an admin
// request can write, read before and after hostile input. Tests read the database directly,
// as the other e2e tests do; the server keeps its SQL in src/store.

export const WRITABLE_TABLES = [
  'computers', 'computer_sightings', 'computer_status', 'computer_update_failures', 'events', 'report_inbox',
  'approvals', 'deployment_tombstones', 'target_groups', 'admin_audit', 'admin_tokens', 'downstream_servers',
  'rollup_computers', 'rollup_update_status',
] as const;

export type StoredCounts = Record<(typeof WRITABLE_TABLES)[number], number>;

export function storedCounts(db: Db): StoredCounts {
  const out = {} as StoredCounts;
  for (const t of WRITABLE_TABLES) out[t] = db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number;
  return out;
}
