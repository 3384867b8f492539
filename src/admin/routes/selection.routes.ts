import type { AdminRouter } from '../admin-router.types.js';
import type { AdminDeps } from '../admin-deps.js';
import { DomainError } from '../../core/errors.js';
import { MICROSOFT_UPDATE_URL } from '../../config/sync-config.js';
import { createSyncAdmin, type CategoryKind } from '../../services/sync/sync-admin.js';

// What the sync asks the upstream for (Get/Set-WsusProduct, Get/Set-WsusClassification):
// GET /api/selection/{products,classifications,languages}, POST …/select and …/deselect with
// `{ "items": [GUID or exact title, …] }` (languages: short names).

function items(body: Record<string, unknown>): string[] {
  const v = body.items;
  if (!Array.isArray(v) || v.length === 0 || v.length > 10_000 || v.some((x) => typeof x !== 'string' || x === '')) {
    throw new DomainError('InvalidInput', 'items', 'items must be a non-empty list of GUIDs, exact titles or language short names');
  }
  return v as string[];
}

export function registerSelectionRoutes(router: AdminRouter, deps: AdminDeps): void {
  const admin = createSyncAdmin(deps.db);
  const fromMicrosoft = (): boolean => deps.config.sync.upstream === MICROSOFT_UPDATE_URL;

  for (const kind of ['product', 'classification'] as const satisfies readonly CategoryKind[]) {
    const noun = kind === 'product' ? 'products' : 'classifications';
    router.read(`/api/selection/${noun}`, (req) => {
      const all = req.query.get('all') === 'true';
      if (all && kind !== 'product') throw new DomainError('InvalidInput', 'all', 'all applies to products only');
      const rows = admin.listCategories(kind, all);
      const none = admin.selection(kind).length === 0;
      return {
        items: rows,
        note: none
          ? fromMicrosoft()
            ? `no ${noun} selected: syncing from Microsoft Update fetches categories only until you select some`
            : `no ${noun} selected: every ${kind} the upstream offers is synchronized`
          : null,
      };
    });
    for (const verb of ['select', 'deselect'] as const) {
      router.change('POST', `/api/selection/${noun}/${verb}`, `${noun}.${verb}`, (req) => admin.select(kind, items(req.body), verb === 'select'));
    }
  }
  router.read('/api/selection/languages', () => {
    const selected = admin.selection('language');
    return { languages: admin.listLanguages(), selected, note: selected.length ? null : 'no language selected: all languages are synchronized' };
  });
  for (const verb of ['select', 'deselect'] as const) {
    router.change('POST', `/api/selection/languages/${verb}`, `languages.${verb}`, (req) => admin.selectLanguages(items(req.body), verb === 'select'));
  }
}
