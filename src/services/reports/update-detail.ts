import { DomainError } from '../../core/errors.js';
import { stateIn } from '../../core/reporting/status-rules.js';
import { hresultHex, stateName, summarize, UpdateState } from '../../core/reporting/update-state.js';
import type { ComputerRef, UpdateStatusDetail } from '../../core/reporting/report-types.js';
import type { UpdateListingStore } from '../../store/update-listing.store.js';
import type { ReportUpdatesStore } from '../../store/report-updates.store.js';
import { ambiguityMessage, resolveUpdateRefs } from '../admin/update-refs.js';
import type { ComputerFact } from './computer-facts.js';
import { byText, findGroupNode } from './report-filters.js';
import { computerRef, updateRef } from './report-rows.js';
import { updateSums } from './report-sums.js';
import { updateCounts } from './status-aggregates.js';
import type { ReportView } from './status-index.js';

// GET /api/reports/updates/:ref — one update (GUID, KB number or exact title): its counts over
// the computers in scope and which computers are in each state (the first `limit` by name).

export const DETAIL_LIMIT = 50;
export const MAX_DETAIL_LIMIT = 5000;

export function checkDetailLimit(limit: number | undefined, fallback = DETAIL_LIMIT): number {
  const l = limit ?? fallback;
  if (!Number.isInteger(l) || l < 1 || l > MAX_DETAIL_LIMIT) throw new DomainError('InvalidInput', 'limit', `limit must be 1-${MAX_DETAIL_LIMIT}`);
  return l;
}

/** The dense index of the update `ref` names, or NotFound / InvalidInput (ambiguous). */
export function resolveReportedUpdate(view: ReportView, listing: UpdateListingStore, ref: string): number {
  const { rows, problems } = resolveUpdateRefs(listing, [ref]);
  if (problems.ambiguous.length) throw new DomainError('InvalidInput', 'update', ambiguityMessage(problems.ambiguous));
  const row = rows[0];
  if (!row) throw new DomainError('NotFound', 'update', `update "${ref}" not found (give its GUID, KB number or exact title)`);
  const i = row.updatePk < view.updates.pkIndex.length ? view.updates.pkIndex[row.updatePk]! : -1;
  if (i < 0) {
    throw new DomainError('NotFound', 'update', `update "${ref}" (${row.title}) is not reported on: only software updates and drivers deployable on their own have a status (not categories, detectoids or bundle members)`);
  }
  return i;
}

export function updateDetail(view: ReportView, i: number, o: { group?: string; limit: number; updatesStore: ReportUpdatesStore }): UpdateStatusDetail {
  const f = view.updates;
  const group = o.group?.trim() ? findGroupNode(view, o.group) : null;
  const s = updateSums(view, group);
  const pk = f.pk[i]!;
  const arrived = f.arrivedMs[i]!;
  const buckets = new Map<UpdateState, ComputerFact[]>();
  for (const c of s.computers) {
    const e = view.entries.get(c.clientId);
    let st = e ? stateIn(e.cells, pk) : undefined;
    if (st === undefined) st = e && e.statusAt > arrived ? UpdateState.NotApplicable : UpdateState.Unknown;
    const list = buckets.get(st) ?? [];
    list.push(c);
    buckets.set(st, list);
  }
  const computers: UpdateStatusDetail['computers'] = {};
  for (const [st, list] of [...buckets.entries()].sort(([a], [b]) => a - b)) {
    list.sort((a, b) => byText(a.nameLower, b.nameLower) || byText(a.clientId, b.clientId));
    computers[stateName(st)] = {
      rows: list.slice(0, o.limit).map((c) => {
        const row: ComputerRef & { hresult?: string; failedAt?: string } = computerRef(view, c);
        const failure = st === UpdateState.Failed ? view.failures.get(c.clientId)?.get(pk) : undefined;
        if (failure) Object.assign(row, { hresult: hresultHex(failure.hresult), failedAt: failure.failedAt });
        return row;
      }),
      more: Math.max(0, list.length - o.limit),
    };
  }
  return {
    update: { ...updateRef(view, i), description: o.updatesStore.description(f.revisionId[i]!), supersededBy: o.updatesStore.supersededBy(f.updateId[i]!) },
    counts: summarize(updateCounts(f, s.sums, i, s.size, s.times)),
    computers,
  };
}
