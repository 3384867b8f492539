import type { AdminDeps } from '../admin-deps.js';
import { createMaintenance, type Maintenance } from '../../services/maintenance/maintenance.js';

// The rules and cleanup routes share one maintenance service per server, built from the
// server's own objects: its connection (writes invalidate its catalog view), its content store
// and its sync service (the job registry runs "sync" through it).

const built = new WeakMap<AdminDeps, Maintenance>();

export function maintenanceOf(deps: AdminDeps): Maintenance {
  let m = built.get(deps);
  if (!m) {
    m = createMaintenance({
      db: deps.db, config: deps.config, targeting: deps.targeting, content: deps.content, log: deps.log, clock: deps.clock,
      onChanged: () => deps.views.invalidate(), sync: deps.sync,
    });
    built.set(deps, m);
  }
  return m;
}
