import type { AdminRouter } from '../admin-router.types.js';
import type { AdminDeps } from '../admin-deps.js';
import { allowOnly, bool, date, int, list, text } from './inventory-input.js';
import { inventoryServices } from './inventory-services.js';

// GET /api/updates (filters, paging), GET /api/updates/:ref (GUID, KB or exact title), and the
// approval verbs: POST /api/updates/approve|unapprove|decline|undecline with
// `{ updates: [...], groups: [...], action, deadline, whatIf }`.

const LIST_PARAMS = ['classification', 'product', 'text', 'state', 'neededMin', 'arrivedAfter', 'arrivedBefore',
  'createdAfter', 'createdBefore', 'all', 'sort', 'limit', 'offset'];

export function registerUpdatesRoutes(router: AdminRouter, deps: AdminDeps): void {
  const s = inventoryServices(deps);
  router.read('/api/updates', ({ query: q }) => {
    allowOnly(q, LIST_PARAMS);
    if (q.has('neededMin')) deps.flush();
    return s.updates.list({
      classifications: list(q, 'classification'), products: list(q, 'product'), text: text(q, 'text'), states: list(q, 'state'),
      neededMin: int(q, 'neededMin'), arrivedAfter: date(q, 'arrivedAfter'), arrivedBefore: date(q, 'arrivedBefore'),
      createdAfter: date(q, 'createdAfter'), createdBefore: date(q, 'createdBefore'), includeAll: bool(q, 'all'),
      sort: text(q, 'sort'), limit: int(q, 'limit'), offset: int(q, 'offset'),
    });
  });
  router.read('/api/updates/:ref', ({ params, query }) => {
    allowOnly(query, []);
    deps.flush();
    return s.updates.show(params.ref!);
  });
  router.change('POST', '/api/updates/approve', 'updates.approve', ({ body, actor }) =>
    s.approvals.approve({ updates: body.updates, groups: body.groups, action: body.action, deadline: body.deadline, whatIf: body.whatIf }, actor.name));
  router.change('POST', '/api/updates/unapprove', 'updates.unapprove', ({ body }) =>
    s.approvals.unapprove({ updates: body.updates, groups: body.groups, whatIf: body.whatIf }));
  router.change('POST', '/api/updates/decline', 'updates.decline', ({ body }) =>
    s.approvals.setDeclined({ updates: body.updates, whatIf: body.whatIf }, true));
  router.change('POST', '/api/updates/undecline', 'updates.undecline', ({ body }) =>
    s.approvals.setDeclined({ updates: body.updates, whatIf: body.whatIf }, false));
}
