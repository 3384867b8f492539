import type { AdminRouter } from '../admin-router.types.js';
import type { AdminDeps } from '../admin-deps.js';
import { DomainError } from '../../core/errors.js';

// POST/GET/DELETE /api/tokens: what `wsus tokens create|list|revoke` does, for admins.

function tokenId(raw: string | undefined): number {
  if (!raw || !/^\d{1,12}$/.test(raw)) throw new DomainError('InvalidInput', 'id', `"${raw ?? ''}" is not a token id (a number; see wsus tokens list)`);
  return Number(raw);
}

export function registerTokensRoutes(router: AdminRouter, deps: AdminDeps): void {
  router.read('/api/tokens', () => ({ tokens: deps.tokens.list() }));
  /** who am I: the calling token (any role) */
  router.read('/api/tokens/current', (req) => ({ id: Number(req.actor.tokenId), name: req.actor.name, role: req.actor.role }));
  router.change('POST', '/api/tokens', 'tokens.create', (req) => {
    const { name, role, expiresDays } = req.body;
    if (expiresDays !== undefined && expiresDays !== null && typeof expiresDays !== 'number') throw new DomainError('InvalidInput', 'expiresDays', 'expiresDays must be a number of days');
    const created = deps.tokens.create({
      name: String(name ?? ''), role: String(role ?? ''), expiresDays: (expiresDays as number | null | undefined) ?? null, createdBy: req.actor.name,
    });
    deps.log.info('admin token created', { id: created.info.id, name: created.info.name, role: created.info.role, by: req.actor.name });
    return created;
  });
  router.change('DELETE', '/api/tokens/:id', 'tokens.revoke', (req) => {
    const r = deps.tokens.revoke(tokenId(req.params.id));
    deps.log.info('admin token revoked', { id: r.id, name: r.name, by: req.actor.name });
    return r;
  });
}
