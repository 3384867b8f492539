import type { AdminRouter } from '../admin-router.types.js';
import type { AdminDeps } from '../admin-deps.js';
import { progress } from '../admin-results.js';
import { DomainError } from '../../core/errors.js';

// The content store through the admin API: `wsus content verify|cleanup|stats`. (`content
// import PATH…` stays a local command: it reads files on the machine where it runs, which for
// a remote admin is not the server; the export/import feature uploads packages instead.)

function flag(body: Record<string, unknown>, name: string): boolean {
  const v = body[name];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new DomainError('InvalidInput', name, `${name} must be true or false`);
  return v;
}

export function registerContentRoutes(router: AdminRouter, deps: AdminDeps): void {
  router.read('/api/content/stats', () => deps.content.stats());
  router.change('POST', '/api/content/verify', 'content.verify', (req) => {
    const deep = flag(req.body, 'deep');
    return progress((report) => deps.content.verify({
      deep, signal: req.signal, onProgress: (done, total) => report({ phase: deep ? 'content verify --deep' : 'content verify', done, total }),
    }));
  });
  router.change('POST', '/api/content/cleanup', 'content.cleanup', (req) => deps.content.cleanup({ dryRun: flag(req.body, 'dryRun'), now: deps.clock() }));
}
