import { summarize, type StateCounts } from '../../core/reporting/update-state.js';
import type { ComputerStatusRow, Page, ReportFilters } from '../../core/reporting/report-types.js';
import type { ComputerFact } from './computer-facts.js';
import { byText, pageOf, resolveFilters, within } from './report-filters.js';
import { computerMatchesText, computerRef } from './report-rows.js';
import { computerSums } from './report-sums.js';
import { required } from './status-aggregates.js';
import type { ReportView } from './status-index.js';

// `report computers`: one row per computer over the updates in scope (classifications and
// products restrict what is counted), most required first. since/until bound the time of the
// computer's last status list; computers that never sent one match no bound.

export function computersReport(view: ReportView, filters: ReportFilters, defaultLimit?: number): Page<ComputerStatusRow> {
  const r = resolveFilters(view, filters, defaultLimit);
  const items = view.memo(`computers.${r.key}`, () => {
    const s = computerSums(view, r);
    const out: Array<{ c: ComputerFact; counts: StateCounts; required: number }> = [];
    for (const c of s.computers) {
      if ((r.since || r.until) && !within(r, view.entries.get(c.clientId)?.statusAt ?? Number.NaN)) continue;
      if (r.text && !computerMatchesText(c, r.text)) continue;
      const counts = s.counts.get(c.clientId)!;
      if (r.states && !r.states.some((st) => counts[st] > 0)) continue;
      out.push({ c, counts, required: required(counts) });
    }
    return out.sort((a, b) => b.required - a.required || byText(a.c.nameLower, b.c.nameLower) || byText(a.c.clientId, b.c.clientId));
  });
  return pageOf(items, r, (x) => ({ ...computerRef(view, x.c), counts: summarize(x.counts) }));
}
