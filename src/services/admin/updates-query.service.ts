import { DomainError } from '../../core/errors.js';
import { isGuid, kbNumber } from '../../core/admin/update-refs.js';
import type { StateFilter, SummaryRow, UpdateListingStore, UpdateSort, UpdateStateName } from '../../store/update-listing.store.js';
import type { StatusIndex } from '../reports/status-index.js';
import { ambiguityMessage, resolveUpdateRefs } from './update-refs.js';

// `wsus updates list|show`: filters validated here, rows from the listing store, "needed"
// counts (computers that require the update: needed, downloaded, failed or pending a reboot)
// from the status index.

export interface UpdateListInput {
  classifications?: string[];
  products?: string[];
  text?: string;
  states?: string[];
  neededMin?: number;
  arrivedAfter?: string;
  arrivedBefore?: string;
  createdAfter?: string;
  createdBefore?: string;
  includeAll?: boolean;
  sort?: string;
  limit?: number;
  offset?: number;
}

export const UPDATE_STATES: readonly UpdateStateName[] = ['approved', 'unapproved', 'declined', 'superseded', 'expired'];
const SORTS: readonly UpdateSort[] = ['arrival', 'created', 'title'];
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 5000;

export interface UpdateListItem {
  updateId: string;
  title: string;
  kb: string[];
  updateType: string;
  classifications: string[];
  products: string[];
  msrcSeverity: string | null;
  creationDate: string | null;
  arrivedAt: string;
  approvedGroups: number;
  declined: boolean;
  superseded: boolean;
  expired: boolean;
  needed: number;
  bundleMember: boolean;
}

export function parseStates(raw: readonly string[]): StateFilter[] {
  return raw.flatMap((s) => s.split(',')).map((s) => s.trim().toLowerCase()).filter((s) => s !== '').map((s) => {
    const negate = s.startsWith('not-');
    const state = (negate ? s.slice(4) : s) as UpdateStateName;
    if (!UPDATE_STATES.includes(state)) {
      throw new DomainError('InvalidInput', 'state', `unknown state "${s}" (use ${UPDATE_STATES.join(', ')}, optionally prefixed with not-)`);
    }
    return { state, negate };
  });
}

export function createUpdatesQueryService(deps: {
  listing: UpdateListingStore;
  status: Pick<StatusIndex, 'requiredCounts' | 'requiredBy'>;
  /** client id → DNS name, for "needed by" */
  computerName: (clientId: string) => string | undefined;
}) {
  const { listing, status } = deps;

  function categoryIds(type: 'Product' | 'UpdateClassification', refs: readonly string[] | undefined): string[] | undefined {
    if (!refs?.length) return undefined;
    const what = type === 'Product' ? 'product' : 'classification';
    const ids: string[] = [];
    const unknown: string[] = [];
    for (const ref of refs) {
      const found = listing.categories(type, ref.trim(), isGuid(ref.trim()));
      if (found.length === 0) unknown.push(ref);
      ids.push(...found.map((f) => f.updateId));
    }
    if (unknown.length) {
      throw new DomainError('NotFound', what, `${what} not found: ${unknown.map((u) => `"${u}"`).join(', ')} (see wsus ${what === 'product' ? 'products' : 'classifications'} list; give a GUID or the exact title)`);
    }
    return ids;
  }

  function item(r: SummaryRow, facts: ReturnType<UpdateListingStore['pageFacts']>, counts: ReadonlyMap<string, number> | null): UpdateListItem {
    const f = facts.get(r.updatePk)!;
    return {
      updateId: r.updateId, title: r.title, kb: r.kb, updateType: r.updateType,
      classifications: f.classifications, products: f.products, msrcSeverity: r.msrcSeverity,
      creationDate: r.creationDate, arrivedAt: r.arrivedAt, approvedGroups: f.approvals, declined: r.declined,
      superseded: f.superseded, expired: r.publicationState === 'Expired', needed: counts?.get(r.updateId) ?? 0,
      bundleMember: !r.explicitlyDeployable,
    };
  }

  return {
    list(input: UpdateListInput) {
      const limit = input.limit ?? DEFAULT_LIMIT;
      const offset = input.offset ?? 0;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new DomainError('InvalidInput', 'limit', `limit must be 1-${MAX_LIMIT}`);
      if (!Number.isInteger(offset) || offset < 0) throw new DomainError('InvalidInput', 'offset', 'offset must be 0 or more');
      const sort = (input.sort ?? 'arrival') as UpdateSort;
      if (!SORTS.includes(sort)) throw new DomainError('InvalidInput', 'sort', `sort must be one of ${SORTS.join(', ')}`);
      const neededMin = input.neededMin;
      if (neededMin !== undefined && (!Number.isInteger(neededMin) || neededMin < 0)) throw new DomainError('InvalidInput', 'neededMin', 'neededMin must be 0 or more');
      const text = input.text?.trim() || undefined;
      if (text && text.length > 256) throw new DomainError('InvalidInput', 'text', 'text is limited to 256 characters');
      const counts = status.requiredCounts();
      let onlyUpdateIds: string[] | undefined;
      if (neededMin !== undefined && neededMin > 0) onlyUpdateIds = [...counts].filter(([, n]) => n >= neededMin).map(([id]) => id);
      const { rows, total } = listing.list({
        classificationIds: categoryIds('UpdateClassification', input.classifications),
        productIds: categoryIds('Product', input.products),
        text, kb: text ? kbNumber(text) : null,
        states: parseStates(input.states ?? []),
        onlyUpdateIds,
        arrivedAfter: input.arrivedAfter, arrivedBefore: input.arrivedBefore,
        createdAfter: input.createdAfter, createdBefore: input.createdBefore,
        includeAll: input.includeAll === true,
        sort, limit, offset,
      });
      const facts = listing.pageFacts(rows);
      return { total, offset, limit, updates: rows.map((r) => item(r, facts, counts)) };
    },

    show(ref: string) {
      const { rows, problems } = resolveUpdateRefs(listing, [ref]);
      if (problems.ambiguous.length) throw new DomainError('InvalidInput', 'update', ambiguityMessage(problems.ambiguous));
      const row = rows[0];
      if (!row) throw new DomainError('NotFound', 'update', `update "${ref}" not found (give its GUID, KB number or exact title)`);
      const facts = listing.pageFacts([row]);
      const detail = listing.detail(row);
      const neededBy = status.requiredBy(row.updateId);
      return {
        ...item(row, facts, new Map([[row.updateId, neededBy.length]])),
        categoryType: row.categoryType,
        publicationState: row.publicationState,
        explicitlyDeployable: row.explicitlyDeployable,
        ...detail,
        neededBy: neededBy.slice(0, 100).map((clientId) => ({ clientId, name: deps.computerName(clientId) ?? null })),
      };
    },
  };
}

export type UpdatesQueryService = ReturnType<typeof createUpdatesQueryService>;
