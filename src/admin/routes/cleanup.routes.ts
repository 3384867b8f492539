import type { AdminRouter } from '../admin-router.types.js';
import type { AdminDeps } from '../admin-deps.js';
import { progress } from '../admin-results.js';
import { DomainError } from '../../core/errors.js';
import type { MaintenanceJob } from '../../store/maintenance-runs.store.js';
import { CLEANUP_STEPS, type CleanupStep } from '../../services/maintenance/maintenance-types.js';
import { maintenanceOf } from './maintenance-of.js';

// Cleanup and the maintenance history: `wsus cleanup [--dry-run] [--only …]`,
// `wsus cleanup status|history`. One cleanup at a time across the server and CLI (Conflict
// names the running one); progress streams as NDJSON.

function limitOf(q: URLSearchParams, def: number, max: number): number {
  const raw = q.get('limit');
  if (raw === null) return def;
  if (!/^\d{1,7}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) throw new DomainError('InvalidInput', 'limit', `limit must be an integer from 1 to ${max}`);
  return Number(raw);
}

export function parseSteps(raw: unknown): CleanupStep[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  const list = typeof raw === 'string' ? raw.split(',') : raw;
  if (!Array.isArray(list) || !list.length) throw new DomainError('InvalidInput', 'only', `only must list steps: ${CLEANUP_STEPS.join(', ')}`);
  return list.map((s) => {
    const step = typeof s === 'string' ? s.trim() : '';
    if (!(CLEANUP_STEPS as readonly string[]).includes(step)) {
      throw new DomainError('InvalidInput', 'only', `unknown cleanup step ${JSON.stringify(s)} (steps: ${CLEANUP_STEPS.join(', ')})`);
    }
    return step as CleanupStep;
  });
}

export function registerCleanupRoutes(router: AdminRouter, deps: AdminDeps): void {
  const m = () => maintenanceOf(deps);

  router.change('POST', '/api/cleanup', 'cleanup.run', (req) => {
    const { dryRun } = req.body;
    if (dryRun !== undefined && typeof dryRun !== 'boolean') throw new DomainError('InvalidInput', 'dryRun', 'dryRun must be true or false');
    const only = parseSteps(req.body.only);
    return progress((report) => m().jobs.run('cleanup', {
      trigger: 'admin', dryRun: dryRun === true, actor: req.actor.name, signal: req.signal, onProgress: report, ...(only ? { only } : {}),
    }));
  });
  router.read('/api/maintenance/status', () => m().status());
  router.read('/api/maintenance/history', (req) => {
    const job = req.query.get('job');
    if (job !== null && job !== 'cleanup' && job !== 'rules') throw new DomainError('InvalidInput', 'job', 'job must be cleanup or rules');
    return { runs: m().history(limitOf(req.query, 20, 10_000), (job ?? undefined) as MaintenanceJob | undefined) };
  });
}
