import type { AdminRouter } from '../admin-router.types.js';
import type { AdminDeps } from '../admin-deps.js';
import { DomainError } from '../../core/errors.js';
import { createConfigEditor } from '../../services/admin/config-edit.service.js';

// GET /api/config[?key=sync.upstream]: the saved configuration (what the next start uses),
// secrets redacted, and which keys differ from what the server runs with.
// PUT /api/config `{ "values": { "admin.port": 9000, "sync.proxy": null } }`: validated as a
// whole, written atomically; answers which keys need a restart (logLevel applies at once).

export function registerConfigRoutes(router: AdminRouter, deps: AdminDeps): void {
  const editor = createConfigEditor({
    running: deps.config,
    applyLive: (key, next) => {
      if (key === 'logLevel') deps.log.level = next.logLevel;
    },
  });
  router.read('/api/config', (req) => editor.get(req.query.get('key') ?? undefined));
  router.change('PUT', '/api/config', 'config.set', (req) => {
    const values = req.body.values;
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      throw new DomainError('InvalidInput', 'values', 'the body must be { "values": { "dotted.key": value, … } }');
    }
    const r = editor.set(values as Record<string, unknown>);
    deps.log.info('configuration changed', { keys: r.changed.map((c) => c.key), restartRequired: r.restartRequired, appliedLive: r.appliedLive });
    return r;
  });
}
