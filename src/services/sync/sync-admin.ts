import { DomainError, notFound } from '../../core/errors.js';
import { normalizeRule, type ExclusionKind, type ExclusionRule } from '../../core/sync/exclusion-rules.js';
import type { Db } from '../../store/database.js';
import { createSyncCatalogStore, type CategoryRow } from '../../store/sync-catalog.store.js';
import { createSyncStore, type SelectionKind } from '../../store/sync.store.js';
import { syncState } from './sync-state.js';
import { PRODUCT_CATEGORY_TYPES } from './updates-phase.js';

// What admins change between syncs: product/classification/language selection and exclusion
// rules. Shared by the CLI and the admin API; every rule of the merge lives in the sync itself.

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type CategoryKind = 'product' | 'classification';

export interface CategoryListing extends CategoryRow {
  selected: boolean;
}

function ofKind(rows: readonly CategoryRow[], kind: CategoryKind, all: boolean): CategoryRow[] {
  return rows.filter((r) => (kind === 'classification'
    ? r.categoryType === 'UpdateClassification'
    : all ? PRODUCT_CATEGORY_TYPES.has(r.categoryType) : r.categoryType === 'Product'));
}

export function createSyncAdmin(db: Db) {
  const store = createSyncStore(db);
  const state = syncState(store);
  const reads = createSyncCatalogStore(db);

  /** GUIDs (any case) or exact titles (case-insensitive); an unknown GUID is accepted with a warning. */
  function resolve(kind: CategoryKind, refs: readonly string[]): { ids: string[]; warnings: string[] } {
    const rows = ofKind(reads.categories(), kind, true);
    const ids: string[] = [];
    const warnings: string[] = [];
    for (const ref of refs) {
      if (GUID.test(ref)) {
        const id = ref.toLowerCase();
        if (!rows.some((r) => r.updateId === id)) warnings.push(`${id} is not among the synchronized ${kind} categories (yet)`);
        ids.push(id);
        continue;
      }
      const hits = rows.filter((r) => r.title.toLowerCase() === ref.trim().toLowerCase());
      if (hits.length === 0) throw notFound(`${kind} "${ref}" (wsus ${kind === 'product' ? 'products' : 'classifications'} list --all shows the synchronized ones)`);
      if (hits.length > 1) {
        throw new DomainError('Conflict', kind, `"${ref}" names ${hits.length} ${kind} categories: ${hits.map((h) => `${h.updateId} (${h.categoryType})`).join(', ')}; use the GUID`);
      }
      ids.push(hits[0]!.updateId);
    }
    return { ids, warnings };
  }

  return {
    listCategories(kind: CategoryKind, all: boolean): CategoryListing[] {
      const selected = new Set(store.selection(kind));
      return ofKind(reads.categories(), kind, all).map((r) => ({ ...r, selected: selected.has(r.updateId) }));
    },
    selection: (kind: SelectionKind): string[] => store.selection(kind),
    select(kind: CategoryKind, refs: readonly string[], on: boolean): { changed: string[]; warnings: string[] } {
      const { ids, warnings } = resolve(kind, refs);
      return { changed: on ? store.select(kind, ids) : store.deselect(kind, ids), warnings };
    },

    /** The upstream's language list (from GetConfigData), with the selection. */
    listLanguages(): Array<{ short: string; long: string; id: number; selected: boolean }> {
      const selected = new Set(store.selection('language'));
      return state.languages().filter((l) => l.id !== 0).map((l) => ({ short: l.short.toLowerCase(), long: l.long, id: l.id, selected: selected.has(l.short.toLowerCase()) }));
    },
    selectLanguages(shorts: readonly string[], on: boolean): { changed: string[]; warnings: string[] } {
      const known = new Set(state.languages().filter((l) => l.id !== 0).map((l) => l.short.toLowerCase()));
      const warnings: string[] = [];
      const names = shorts.map((s) => s.trim().toLowerCase());
      for (const n of names) {
        if (!/^[a-z]{2,3}(-[a-z0-9]{2,8})*$/.test(n)) throw new DomainError('InvalidInput', 'language', `"${n}" is not a language short name like en or pt-br`);
        if (on && known.size && !known.has(n)) throw notFound(`language "${n}" (wsus languages list shows what the upstream offers)`);
        if (on && !known.size) warnings.push(`the upstream's language list arrives with the first sync: "${n}" is checked then`);
      }
      return { changed: on ? store.select('language', names) : store.deselect('language', names), warnings };
    },

    rules: () => store.rules(),
    excluded: (limit: number) => store.excluded(limit),
    excludedCount: () => store.excludedCount(),
    /** Applies to updates synchronized from now on; updates already in the catalog stay (decline them). */
    addExclusion(kind: ExclusionKind, raw: string, now: Date): ExclusionRule {
      const r = normalizeRule(kind, raw);
      return store.addRule(r.kind, r.pattern, now);
    },
    /**
     * Removing a rule forgets every exclusion record and the updates anchor: the next sync lists
     * all revisions again (ids only; what the catalog holds is not fetched) and brings back
     * what no remaining rule excludes.
     */
    removeExclusion(id: number): ExclusionRule {
      return db.transaction(() => {
        const r = store.removeRule(id);
        if (!r) throw notFound(`exclusion rule ${id}`);
        store.clearAllExcluded();
        state.clearUpdatesAnchor();
        return r;
      }).immediate();
    },
  };
}

export type SyncAdmin = ReturnType<typeof createSyncAdmin>;
