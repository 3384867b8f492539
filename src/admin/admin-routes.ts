import type { RegisterRoutes } from './admin-router.types.js';
import type { AdminDeps } from './admin-deps.js';
import { registerTokensRoutes } from './routes/tokens.routes.js';
import { registerAuditRoutes } from './routes/audit.routes.js';
import { registerConfigRoutes } from './routes/config.routes.js';
import { registerSyncRoutes } from './routes/sync.routes.js';
import { registerSelectionRoutes } from './routes/selection.routes.js';
import { registerContentRoutes } from './routes/content.routes.js';
import { registerTransferRoutes } from './routes/transfer.routes.js';
import { registerHealthRoutes } from './routes/health.routes.js';
import { registerUpdatesRoutes } from './routes/updates.routes.js';
import { registerGroupsRoutes } from './routes/groups.routes.js';
import { registerComputersRoutes } from './routes/computers.routes.js';
import { registerRulesRoutes } from './routes/rules.routes.js';
import { registerCleanupRoutes } from './routes/cleanup.routes.js';
import { registerReportsRoutes } from './routes/reports.routes.js';

// Every feature's admin routes, registered once when the admin listener starts.
// TO ADD A FEATURE: write `src/admin/routes/<feature>.routes.ts` exporting
// `registerXRoutes: RegisterRoutes<AdminDeps>` (`(router, deps) => void`), import it above and
// append ONE line to this list. Order does not matter (a path registered twice stops the
// server at start, naming both).
export const adminRoutes: ReadonlyArray<RegisterRoutes<AdminDeps>> = [
  registerTokensRoutes,
  registerAuditRoutes,
  registerConfigRoutes,
  registerSyncRoutes,
  registerSelectionRoutes,
  registerContentRoutes,
  registerUpdatesRoutes, registerGroupsRoutes, registerComputersRoutes,
  registerTransferRoutes, registerHealthRoutes,
  registerRulesRoutes, registerCleanupRoutes,
  registerReportsRoutes,
];
