import { hresultHex } from '../../core/reporting/update-state.js';
import type { FailureRow, Page, ReportFilters } from '../../core/reporting/report-types.js';
import type { ComputerFact } from './computer-facts.js';
import { byText, inScope, resolveFilters, updateMask, within, type Resolved } from './report-filters.js';
import { computerMatchesText, updateMatchesText } from './report-rows.js';
import type { ReportView } from './status-index.js';

// `report failures`: one row per failed computer × update, newest first; since/until bound the
// failure time (client time). From the failure details the index keeps beside the cells. A
// fleet can hold hundreds of thousands of failures: one pass counts the matches and keeps only
// the newest offset + limit in a bounded heap, instead of sorting them all.

export interface FailureItem { c: ComputerFact; i: number; hresult: number; failedAt: string; at: number }

/** Newer first, then by computer name, then by update. */
function before(a: FailureItem, b: FailureItem): boolean {
  if (a.at !== b.at) return a.at > b.at;
  const n = byText(a.c.nameLower, b.c.nameLower);
  return n !== 0 ? n < 0 : a.i < b.i;
}

/** The `want` first failures matching `r`, in order, and how many match in all. */
export function selectFailures(view: ReportView, r: Resolved, want: number): { total: number; items: FailureItem[] } {
  return view.memo(`failures.${r.key}.${want}`, () => {
    const f = view.updates;
    const mask = updateMask(view, r);
    const scope = inScope(r);
    const bounded = r.since !== null || r.until !== null;
    // heap[0] is the last in order among those kept
    const heap: FailureItem[] = [];
    const siftDown = (k: number): void => {
      for (;;) {
        const l = 2 * k + 1;
        const rr = l + 1;
        let m = k;
        if (l < heap.length && before(heap[m]!, heap[l]!)) m = l;
        if (rr < heap.length && before(heap[m]!, heap[rr]!)) m = rr;
        if (m === k) return;
        [heap[k], heap[m]] = [heap[m]!, heap[k]!];
        k = m;
      }
    };
    const push = (x: FailureItem): void => {
      let k = heap.push(x) - 1;
      while (k > 0) {
        const p = (k - 1) >> 1;
        if (!before(heap[p]!, heap[k]!)) return;
        [heap[k], heap[p]] = [heap[p]!, heap[k]!];
        k = p;
      }
    };
    let total = 0;
    for (const [clientId, list] of view.failures) {
      const c = view.computers.byId.get(clientId);
      if (!c || !scope(c)) continue;
      const computerText = r.text !== null && computerMatchesText(c, r.text);
      for (const [pk, x] of list) {
        const i = pk < f.pkIndex.length ? f.pkIndex[pk]! : -1;
        if (i < 0 || mask[i] !== 1) continue;
        if (bounded && !within(r, x.at)) continue;
        if (r.text !== null && !computerText && !updateMatchesText(view, i, r.text)) continue;
        total++;
        if (want === 0) continue;
        const item = { c, i, hresult: x.hresult, failedAt: x.failedAt, at: x.at };
        if (heap.length < want) push(item);
        else if (before(item, heap[0]!)) {
          heap[0] = item;
          siftDown(0);
        }
      }
    }
    return { total, items: heap.sort((a, b) => (before(a, b) ? -1 : 1)) };
  });
}

export function failureRow(view: ReportView, x: FailureItem): FailureRow {
  const f = view.updates;
  return {
    computer: { clientId: x.c.clientId, name: x.c.name, groups: x.c.groupNames },
    update: { updateId: f.updateId[x.i]!, title: f.title[x.i]!, kb: f.kb[x.i]!, classification: f.classification[x.i]! },
    hresult: hresultHex(x.hresult),
    failedAt: x.failedAt,
  };
}

export function failuresReport(view: ReportView, filters: ReportFilters, defaultLimit?: number): Page<FailureRow> {
  const r = resolveFilters(view, filters, defaultLimit);
  const { total, items } = selectFailures(view, r, r.offset + r.limit);
  return { total, offset: r.offset, limit: r.limit, rows: items.slice(r.offset).map((x) => failureRow(view, x)) };
}
