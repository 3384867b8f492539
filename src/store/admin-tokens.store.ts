import type { Db } from './database.js';
import type { AdminRole } from '../admin/admin-router.types.js';

// Admin API bearer tokens. Only the SHA-256 of a token is stored (hashing happens in the
// service); a token is shown once, when it is created.

export interface AdminTokenRow {
  id: number;
  name: string;
  role: AdminRole;
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

interface Row {
  id: number;
  name: string;
  role: AdminRole;
  created_at: string;
  created_by: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

const toRow = (r: Row): AdminTokenRow => ({
  id: r.id, name: r.name, role: r.role, createdAt: r.created_at, createdBy: r.created_by,
  expiresAt: r.expires_at, revokedAt: r.revoked_at, lastUsedAt: r.last_used_at,
});

const COLUMNS = 'id, name, role, created_at, created_by, expires_at, revoked_at, last_used_at';

export function createAdminTokensStore(db: Db) {
  const insert = db.prepare(`INSERT INTO admin_tokens (name, role, token_hash, created_at, created_by, expires_at)
    VALUES (@name, @role, @hash, @createdAt, @createdBy, @expiresAt)`);
  const byHash = db.prepare(`SELECT ${COLUMNS} FROM admin_tokens WHERE token_hash = ?`);
  const byId = db.prepare(`SELECT ${COLUMNS} FROM admin_tokens WHERE id = ?`);
  const all = db.prepare(`SELECT ${COLUMNS} FROM admin_tokens ORDER BY id`);
  const activeByName = db.prepare(`SELECT id FROM admin_tokens WHERE name = ? COLLATE NOCASE AND revoked_at IS NULL
    AND (expires_at IS NULL OR expires_at > ?)`);
  const revoke = db.prepare('UPDATE admin_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  const touch = db.prepare('UPDATE admin_tokens SET last_used_at = ? WHERE id = ?');

  return {
    insert(t: { name: string; role: AdminRole; hash: string; createdAt: string; createdBy: string; expiresAt: string | null }): AdminTokenRow {
      const id = Number(insert.run(t).lastInsertRowid);
      return toRow(byId.get(id) as Row);
    },
    byHash(hash: string): AdminTokenRow | undefined {
      const r = byHash.get(hash) as Row | undefined;
      return r ? toRow(r) : undefined;
    },
    byId(id: number): AdminTokenRow | undefined {
      const r = byId.get(id) as Row | undefined;
      return r ? toRow(r) : undefined;
    },
    list(): AdminTokenRow[] {
      return (all.all() as Row[]).map(toRow);
    },
    /** an unrevoked, unexpired token with this name exists */
    activeNameTaken(name: string, nowIso: string): boolean {
      return activeByName.get(name, nowIso) !== undefined;
    },
    /** false when already revoked */
    revoke(id: number, nowIso: string): boolean {
      return revoke.run(nowIso, id).changes > 0;
    },
    touch(id: number, nowIso: string): void {
      touch.run(nowIso, id);
    },
  };
}

export type AdminTokensStore = ReturnType<typeof createAdminTokensStore>;
