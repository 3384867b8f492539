import type { AdminRouter } from '../admin-router.types.js';
import type { AdminDeps } from '../admin-deps.js';
import { DomainError } from '../../core/errors.js';

// GET /api/audit?since=ISO&actor=NAME&action=PREFIX&limit=N: newest first.

export function registerAuditRoutes(router: AdminRouter, deps: AdminDeps): void {
  router.read('/api/audit', (req) => {
    const q = req.query;
    const since = q.get('since') ?? undefined;
    if (since !== undefined && (!/^\d{4}-\d{2}-\d{2}/.test(since) || Number.isNaN(Date.parse(since)))) {
      throw new DomainError('InvalidInput', 'since', `since must be an ISO date or date-time (got "${since}")`);
    }
    const limitRaw = q.get('limit') ?? '100';
    if (!/^\d{1,6}$/.test(limitRaw) || Number(limitRaw) < 1 || Number(limitRaw) > 100_000) throw new DomainError('InvalidInput', 'limit', 'limit must be from 1 to 100000');
    return {
      entries: deps.audit.query({
        ...(since ? { since: new Date(Date.parse(since)).toISOString() } : {}),
        ...(q.get('actor') ? { actor: q.get('actor')! } : {}),
        ...(q.get('action') ? { action: q.get('action')! } : {}),
        limit: Number(limitRaw),
      }),
    };
  });
}
