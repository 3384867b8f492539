import { createHash, randomBytes } from 'node:crypto';
import { DomainError } from '../../core/errors.js';
import type { AdminRole } from '../../admin/admin-router.types.js';
import type { AdminTokensStore, AdminTokenRow } from '../../store/admin-tokens.store.js';

// Admin tokens: 32 random bytes, shown once as `wsus_<base64url>`; only their SHA-256 is kept.
// Authentication hashes what the client presents and looks the hash up (an exact match on a
// digest of a high-entropy secret: nothing to time, nothing to brute-force).

export const TOKEN_PREFIX = 'wsus_';
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** last_used_at is written at most this often per token (it is a hint, not an audit record) */
const TOUCH_EVERY_MS = 60_000;

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export interface CreatedToken {
  token: string;
  info: AdminTokenRow;
}

export function createAdminTokensService(store: AdminTokensStore, clock: () => Date) {
  const touched = new Map<number, number>();
  return {
    create(o: { name: string; role: string; expiresDays?: number | null; createdBy: string }): CreatedToken {
      if (typeof o.name !== 'string' || !NAME_RE.test(o.name)) {
        throw new DomainError('InvalidInput', 'name', 'token name must be 1-64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit');
      }
      if (o.role !== 'admin' && o.role !== 'reporter') throw new DomainError('InvalidInput', 'role', 'role must be admin or reporter');
      const days = o.expiresDays ?? null;
      if (days !== null && (!Number.isInteger(days) || days < 1 || days > 3650)) {
        throw new DomainError('InvalidInput', 'expiresDays', 'expiry must be a whole number of days from 1 to 3650');
      }
      const now = clock();
      if (store.activeNameTaken(o.name, now.toISOString())) {
        throw new DomainError('Conflict', 'name', `an active token named "${o.name}" exists: revoke it first, or pick another name (the audit log tells tokens apart by name)`);
      }
      const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const info = store.insert({
        name: o.name, role: o.role as AdminRole, hash: hashToken(token), createdAt: now.toISOString(), createdBy: o.createdBy,
        expiresAt: days === null ? null : new Date(now.getTime() + days * 86_400_000).toISOString(),
      });
      return { token, info };
    },
    /** the token's row, or Unauthorized naming why (unknown, revoked, expired) without echoing it */
    authenticate(token: string): AdminTokenRow {
      const row = token ? store.byHash(hashToken(token)) : undefined;
      if (!row) throw new DomainError('Unauthorized', '', 'the token is unknown or revoked');
      if (row.revokedAt) throw new DomainError('Unauthorized', '', 'the token is unknown or revoked');
      const now = clock();
      if (row.expiresAt && Date.parse(row.expiresAt) <= now.getTime()) throw new DomainError('Unauthorized', '', `the token expired at ${row.expiresAt}`);
      const last = touched.get(row.id) ?? 0;
      if (now.getTime() - last >= TOUCH_EVERY_MS) {
        touched.set(row.id, now.getTime());
        try {
          store.touch(row.id, now.toISOString());
        } catch {
          // a busy database must not refuse an otherwise valid request
        }
      }
      return row;
    },
    list(): AdminTokenRow[] {
      return store.list();
    },
    revoke(id: number): AdminTokenRow {
      const row = store.byId(id);
      if (!row) throw new DomainError('NotFound', `token ${id}`, `token ${id} not found`);
      if (!store.revoke(id, clock().toISOString())) throw new DomainError('Conflict', `token ${id}`, `token ${id} ("${row.name}") is already revoked`);
      return store.byId(id)!;
    },
  };
}

export type AdminTokensService = ReturnType<typeof createAdminTokensService>;
