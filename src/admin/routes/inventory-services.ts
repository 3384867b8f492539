import type { AdminDeps } from '../admin-deps.js';
import { createUpdateListingStore } from '../../store/update-listing.store.js';
import { createApprovalsBulkStore } from '../../store/approvals-bulk.store.js';
import { createGroupsAdminStore } from '../../store/groups-admin.store.js';
import { createComputersAdminStore } from '../../store/computers-admin.store.js';
import { statusIndexFor } from '../../services/reports/status-index.js';
import { createUpdatesQueryService } from '../../services/admin/updates-query.service.js';
import { createApprovalsAdminService } from '../../services/admin/approvals-admin.service.js';
import { createGroupsAdminService } from '../../services/admin/groups-admin.service.js';
import { createComputersAdminService } from '../../services/admin/computers-admin.service.js';

// The services behind the updates, groups and computers routes, built once per running server
// (their stores prepare statements once) and shared by the three route files.

function build(deps: AdminDeps) {
  const listing = createUpdateListingStore(deps.db);
  const groupsStore = createGroupsAdminStore(deps.db);
  const computersStore = createComputersAdminStore(deps.db);
  // Status counts come from the status index the reports share (warmed by the reports routes).
  const status = statusIndexFor(deps.db);
  // Writes go through the server's own connection: the scan view must reload (data_version does not see them).
  const changed = (): void => deps.views.invalidate();
  const { config, clock, log } = deps;
  return {
    updates: createUpdatesQueryService({
      listing, status,
      computerName: (id) => computersStore.byId(id)?.dnsName,
    }),
    approvals: createApprovalsAdminService({ config, listing, bulk: createApprovalsBulkStore(deps.db), groups: groupsStore, clock, log, changed }),
    groups: createGroupsAdminService({
      config, store: groupsStore, targeting: deps.targeting, clock, log, changed,
      requestedGroups: () => computersStore.list({ sort: 'name', limit: Number.MAX_SAFE_INTEGER, offset: 0 }).rows.map((r) => r.requestedGroups),
    }),
    computers: createComputersAdminService({
      config, store: computersStore, computers: deps.computers, groups: groupsStore, listing, status, clock, log, changed,
    }),
  };
}

export type InventoryServices = ReturnType<typeof build>;

const built = new WeakMap<AdminDeps, InventoryServices>();

export function inventoryServices(deps: AdminDeps): InventoryServices {
  let s = built.get(deps);
  if (!s) built.set(deps, s = build(deps));
  return s;
}
