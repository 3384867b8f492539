import { summarize, type StateCounts } from '../../core/reporting/update-state.js';
import type { Page, ReportFilters, UpdateStatusRow } from '../../core/reporting/report-types.js';
import { byText, pageOf, resolveFilters, updateMask, within } from './report-filters.js';
import { updateRef, updateMatchesText } from './report-rows.js';
import { updateSums } from './report-sums.js';
import { required, updateCounts } from './status-aggregates.js';
import type { ReportView } from './status-index.js';

// `report updates`: one row per update over the computers in scope (a group and its subgroups,
// or all), most required first. since/until bound the update's arrival.

export function updatesReport(view: ReportView, filters: ReportFilters, defaultLimit?: number): Page<UpdateStatusRow> {
  const r = resolveFilters(view, filters, defaultLimit);
  const s = updateSums(view, r.group);
  const items = view.memo(`updates.${r.key}`, () => {
    const f = view.updates;
    const mask = updateMask(view, r);
    const out: Array<{ i: number; c: StateCounts; required: number }> = [];
    for (let i = 0; i < f.n; i++) {
      if (!mask[i]) continue;
      if ((r.since || r.until) && !within(r, f.arrivedMs[i]!)) continue;
      if (r.text && !updateMatchesText(view, i, r.text)) continue;
      const c = updateCounts(f, s.sums, i, s.size, s.times);
      if (r.states && !r.states.some((st) => c[st] > 0)) continue;
      out.push({ i, c, required: required(c) });
    }
    return out.sort((a, b) => b.required - a.required || byText(f.titleLower[a.i]!, f.titleLower[b.i]!) || a.i - b.i);
  });
  return pageOf(items, r, (x) => ({ ...updateRef(view, x.i), counts: summarize(x.c), computers: s.size }));
}
