import type { Db } from './database.js';

// The admin audit log: one row per change made through the admin API (and per local bootstrap
// command such as `wsus tokens create`). Bodies arrive already redacted.

export interface AuditEntry {
  id: number;
  at: string;
  actor: { tokenId: number | null; name: string; role: string | null; address: string | null };
  action: string;
  method: string;
  path: string;
  params: Record<string, unknown>;
  body: unknown;
  dryRun: boolean;
  /** `ok`, or the error code */
  outcome: string;
  error: string | null;
  ms: number | null;
}

export type NewAuditEntry = Omit<AuditEntry, 'id'>;

export interface AuditQuery {
  /** ISO time: entries at or after */
  since?: string;
  /** exact token name (case-insensitive) */
  actor?: string;
  /** action prefix, e.g. `updates.` or `tokens.create` */
  action?: string;
  limit: number;
}

interface Row {
  id: number; at: string; actor_token_id: number | null; actor_name: string; actor_role: string | null; address: string | null;
  action: string; method: string; path: string; params: string; body: string; dry_run: number; outcome: string; error: string | null; ms: number | null;
}

function parse(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return s;
  }
}

const toEntry = (r: Row): AuditEntry => ({
  id: r.id, at: r.at,
  actor: { tokenId: r.actor_token_id, name: r.actor_name, role: r.actor_role, address: r.address },
  action: r.action, method: r.method, path: r.path,
  params: parse(r.params) as Record<string, unknown>, body: parse(r.body),
  dryRun: r.dry_run === 1, outcome: r.outcome, error: r.error, ms: r.ms,
});

export function createAuditStore(db: Db) {
  const insert = db.prepare(`INSERT INTO admin_audit (at, actor_token_id, actor_name, actor_role, address, action, method, path, params, body, dry_run, outcome, error, ms)
    VALUES (@at, @tokenId, @name, @role, @address, @action, @method, @path, @params, @body, @dryRun, @outcome, @error, @ms)`);
  return {
    record(e: NewAuditEntry): number {
      return Number(insert.run({
        at: e.at, tokenId: e.actor.tokenId, name: e.actor.name, role: e.actor.role, address: e.actor.address,
        action: e.action, method: e.method, path: e.path, params: JSON.stringify(e.params), body: JSON.stringify(e.body ?? {}),
        dryRun: e.dryRun ? 1 : 0, outcome: e.outcome, error: e.error, ms: e.ms,
      }).lastInsertRowid);
    },
    /** newest first */
    query(q: AuditQuery): AuditEntry[] {
      const where: string[] = [];
      const args: unknown[] = [];
      if (q.since) { where.push('at >= ?'); args.push(q.since); }
      if (q.actor) { where.push('actor_name = ? COLLATE NOCASE'); args.push(q.actor); }
      if (q.action) { where.push("action LIKE ? ESCAPE '\\'"); args.push(`${q.action.replace(/[\\%_]/g, (c) => `\\${c}`)}%`); }
      const sql = `SELECT * FROM admin_audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
      return (db.prepare(sql).all(...args, q.limit) as Row[]).map(toEntry);
    },
  };
}

export type AuditStore = ReturnType<typeof createAuditStore>;
