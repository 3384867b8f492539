import type { AdminRouter } from '../admin-router.types.js';
import type { AdminDeps } from '../admin-deps.js';
import { progress } from '../admin-results.js';
import { DomainError } from '../../core/errors.js';
import { ARCHITECTURES, type ExclusionKind } from '../../core/sync/exclusion-rules.js';
import { createSyncAdmin } from '../../services/sync/sync-admin.js';
import { readSyncStatus } from '../../services/sync/sync-status.js';
import { createSyncRunsStore } from '../../store/sync-runs.store.js';

// Synchronization through the admin API: `wsus sync run|status|history|exclude`. A run goes to
// the server's own sync service (one at a time across the server and CLI: Conflict names the
// running one); its progress streams back as NDJSON; the client going away interrupts it (the
// next run resumes from staging).

const EXCLUSION_KINDS: readonly ExclusionKind[] = ['title', 'kb', 'architecture', 'language-pack'];

function limitOf(q: URLSearchParams, def: number, max: number): number {
  const raw = q.get('limit');
  if (raw === null) return def;
  if (!/^\d{1,7}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) throw new DomainError('InvalidInput', 'limit', `limit must be an integer from 1 to ${max}`);
  return Number(raw);
}

export function registerSyncRoutes(router: AdminRouter, deps: AdminDeps): void {
  const admin = createSyncAdmin(deps.db);
  const runs = createSyncRunsStore(deps.db);

  router.change('POST', '/api/sync/run', 'sync.run', (req) => {
    const upstream = req.body.upstream;
    if (upstream !== undefined && (typeof upstream !== 'string' || upstream === '')) throw new DomainError('InvalidInput', 'upstream', 'upstream must be a URL');
    return progress((report) => deps.sync.run({
      trigger: 'admin',
      ...(typeof upstream === 'string' ? { upstreamOverride: upstream } : {}),
      signal: req.signal,
      onProgress: (p) => report({ phase: `sync ${p.phase}: ${p.step}`, done: p.done, total: p.total }),
    }));
  });
  router.read('/api/sync/status', () => readSyncStatus(deps.db, deps.config, deps.clock()));
  router.read('/api/sync/history', (req) => ({ runs: runs.history(limitOf(req.query, 20, 10_000)) }));

  router.read('/api/sync/exclusions', (req) => ({
    rules: admin.rules(), excludedCount: admin.excludedCount(), excluded: admin.excluded(limitOf(req.query, 20, 100_000)),
  }));
  router.change('POST', '/api/sync/exclusions', 'sync.exclusions.add', (req) => {
    const { kind, pattern } = req.body;
    if (typeof kind !== 'string' || !(EXCLUSION_KINDS as readonly string[]).includes(kind)) {
      throw new DomainError('InvalidInput', 'kind', `kind must be one of ${EXCLUSION_KINDS.join(', ')} (architectures: ${ARCHITECTURES.join(', ')})`);
    }
    if (pattern !== undefined && typeof pattern !== 'string') throw new DomainError('InvalidInput', 'pattern', 'pattern must be a string');
    return admin.addExclusion(kind as ExclusionKind, pattern ?? '', deps.clock());
  });
  router.change('DELETE', '/api/sync/exclusions/:id', 'sync.exclusions.remove', (req) => {
    const id = req.params.id ?? '';
    if (!/^\d{1,12}$/.test(id)) throw new DomainError('InvalidInput', 'id', `"${id}" is not an exclusion rule id (see wsus sync exclude list)`);
    return admin.removeExclusion(Number(id));
  });
}
