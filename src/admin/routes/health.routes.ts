import type { AdminRouter } from '../admin-router.types.js';
import type { AdminDeps } from '../admin-deps.js';
import { readHealth } from '../../services/health/health.service.js';

// GET /api/health: every health check (reporters may read it; `wsus health` prints it).

export function registerHealthRoutes(router: AdminRouter, deps: AdminDeps): void {
  router.read('/api/health', () => {
    // Buffered client reports first, so the failure rates include what arrived a moment ago.
    deps.flush();
    return readHealth(deps.db, deps.config, deps.clock());
  });
}
