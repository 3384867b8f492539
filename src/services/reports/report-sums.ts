import type { StateCounts } from '../../core/reporting/update-state.js';
import type { GroupNode } from '../../core/targeting/group-tree.js';
import type { ComputerFact } from './computer-facts.js';
import { computerCounts, countCells, statusTimes, sumUpdates, type StatusEntry } from './status-aggregates.js';
import { isDefaultMask, updateMask, type Resolved } from './report-filters.js';
import type { ReportView } from './status-index.js';

// The two sums every report is built from, memoized per view: per update over the computers
// in scope, and per computer over the updates counted. The fleet-wide defaults come straight
// from the index's running sums; a group or a classification filter costs one pass over the
// cells concerned, once per change of status.

export interface UpdateSums {
  /** per update × 8, see Aggregates.perUpdate */
  sums: Uint32Array;
  /** computers in scope */
  size: number;
  /** their status times, ascending */
  times: Float64Array;
  computers: ComputerFact[];
}

export function updateSums(view: ReportView, group: GroupNode | null): UpdateSums {
  return view.memo(`update-sums.${group?.id ?? ''}`, () => {
    const computers = group ? view.computers.list.filter((c) => c.memberOf.includes(group.id)) : view.computers.list;
    const entries: StatusEntry[] = [];
    for (const c of computers) {
      const e = view.entries.get(c.clientId);
      if (e) entries.push(e);
    }
    const times = statusTimes(entries);
    // The running sums cover every status row: usable when every one belongs to a computer in scope.
    const sums = !group && entries.length === view.entries.size ? view.agg.perUpdate : sumUpdates(view.updates, entries);
    return { sums, size: computers.length, times, computers };
  });
}

export interface ComputerSums {
  /** client id → every state over the updates counted */
  counts: Map<string, StateCounts>;
  /** how many updates are counted */
  considered: number;
  computers: ComputerFact[];
}

type MaskFilters = Pick<Resolved, 'group' | 'classificationIds' | 'productIds' | 'includeDeclined'>;

export function computerSums(view: ReportView, r: MaskFilters): ComputerSums {
  const key = JSON.stringify([r.group?.id, r.classificationIds && [...r.classificationIds].sort(), r.productIds && [...r.productIds].sort(), r.includeDeclined]);
  return view.memo(`computer-sums.${key}`, () => {
    const g = r.group;
    const computers = g ? view.computers.list.filter((c) => c.memberOf.includes(g.id)) : view.computers.list;
    const counts = new Map<string, StateCounts>();
    const f = view.updates;
    if (isDefaultMask(r)) {
      const considered = f.liveArrivals.length;
      for (const c of computers) {
        const e = view.entries.get(c.clientId);
        counts.set(c.clientId, computerCounts(view.agg.perComputer.get(c.clientId), e?.statusAt ?? Number.NaN, considered, f.liveArrivals));
      }
      return { counts, considered, computers };
    }
    const mask = updateMask(view, r);
    const arrivalsList: number[] = [];
    for (let i = 0; i < f.n; i++) if (mask[i]) arrivalsList.push(f.arrivedMs[i]!);
    const arrivals = Float64Array.from(arrivalsList).sort();
    for (const c of computers) {
      const e = view.entries.get(c.clientId);
      counts.set(c.clientId, computerCounts(e ? countCells(f, e, mask) : undefined, e?.statusAt ?? Number.NaN, arrivals.length, arrivals));
    }
    return { counts, considered: arrivals.length, computers };
  });
}
