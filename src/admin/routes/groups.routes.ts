import type { AdminRouter } from '../admin-router.types.js';
import type { AdminDeps } from '../admin-deps.js';
import { allowOnly } from './inventory-input.js';
import { inventoryServices } from './inventory-services.js';

// Computer groups: GET /api/groups, POST /api/groups {name, parent},
// POST /api/groups/:id/rename {name}, POST /api/groups/:id/move {parent},
// DELETE /api/groups/:id {recursive, whatIf}. `:id` is the group's GUID or name.

export function registerGroupsRoutes(router: AdminRouter, deps: AdminDeps): void {
  const s = inventoryServices(deps);
  router.read('/api/groups', ({ query }) => {
    allowOnly(query, []);
    return s.groups.list();
  });
  router.change('POST', '/api/groups', 'groups.create', ({ body }) => s.groups.create({ name: body.name, parent: body.parent }));
  router.change('POST', '/api/groups/:id/rename', 'groups.rename', ({ params, body }) => s.groups.rename(params.id!, { name: body.name }));
  router.change('POST', '/api/groups/:id/move', 'groups.move', ({ params, body }) => s.groups.move(params.id!, { parent: body.parent }));
  router.change('DELETE', '/api/groups/:id', 'groups.delete', ({ params, body }) =>
    s.groups.delete(params.id!, { recursive: body.recursive, whatIf: body.whatIf }));
}
