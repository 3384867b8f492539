import type { AdminRouter } from '../admin-router.types.js';
import type { AdminDeps } from '../admin-deps.js';
import { allowOnly, bool, int, text } from './inventory-input.js';
import { inventoryServices } from './inventory-services.js';

// Computers: GET /api/computers (group, includeSubgroups, staleDays, text, duplicates, sort,
// limit, offset), GET /api/computers/:ref (client id or name), POST /api/computers/move
// {computers, group, whatIf}, DELETE /api/computers {computers | staleDays, whatIf}.

const LIST_PARAMS = ['group', 'includeSubgroups', 'staleDays', 'text', 'duplicates', 'sort', 'limit', 'offset'];

export function registerComputersRoutes(router: AdminRouter, deps: AdminDeps): void {
  const s = inventoryServices(deps);
  router.read('/api/computers', ({ query: q }) => {
    allowOnly(q, LIST_PARAMS);
    deps.flush();
    return s.computers.list({
      group: text(q, 'group'), includeSubgroups: bool(q, 'includeSubgroups'), staleDays: int(q, 'staleDays'), text: text(q, 'text'),
      duplicates: bool(q, 'duplicates'), sort: text(q, 'sort'), limit: int(q, 'limit'), offset: int(q, 'offset'),
    });
  });
  router.read('/api/computers/:ref', ({ params, query }) => {
    allowOnly(query, []);
    deps.flush();
    return s.computers.show(params.ref!);
  });
  router.change('POST', '/api/computers/move', 'computers.move', ({ body }) =>
    s.computers.move({ computers: body.computers, group: body.group, whatIf: body.whatIf }));
  router.change('DELETE', '/api/computers', 'computers.delete', ({ body }) => {
    deps.flush();
    return s.computers.delete({ computers: body.computers, staleDays: body.staleDays, whatIf: body.whatIf });
  });
}
