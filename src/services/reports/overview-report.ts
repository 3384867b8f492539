import type { Overview } from '../../core/reporting/report-types.js';
import { resolveFilters } from './report-filters.js';
import { computerSums, updateSums } from './report-sums.js';
import { classificationRows, groupRows } from './groups-report.js';
import { failureRow, selectFailures } from './failures-report.js';
import { notReportingItems, notReportingRow } from './not-reporting-report.js';
import { required, updateCounts } from './status-aggregates.js';
import type { ReportView } from './status-index.js';

// The dashboard's first page: last sync, fleet and update counts, compliance by classification
// and by group, the computers not reporting and the latest failures (top 20 each).

const TOP = 20;

export function overviewReport(view: ReportView, o: {
  days: number; now: Date; duplicates: () => ReadonlySet<string>; lastSync: Overview['lastSync'];
}): Overview {
  const r = resolveFilters(view, {});
  const f = view.updates;
  const fleet = view.memo('overview.fleet', () => {
    const cs = computerSums(view, r);
    let reporting = 0;
    let needing = 0;
    let failing = 0;
    for (const c of cs.computers) {
      const e = view.entries.get(c.clientId);
      if (e && e.statusAt === e.statusAt) reporting++;
      const counts = cs.counts.get(c.clientId)!;
      if (required(counts) > 0) needing++;
      if (counts[5] > 0) failing++;
    }
    const us = updateSums(view, null);
    let total = 0;
    let approved = 0;
    let needed = 0;
    let failed = 0;
    for (let i = 0; i < f.n; i++) {
      if (f.declined[i]) continue;
      total++;
      if (f.approved[i]) approved++;
      const c = updateCounts(f, us.sums, i, us.size, us.times);
      if (required(c) > 0) needed++;
      if (c[5] > 0) failed++;
    }
    return { computers: { total: cs.computers.length, reporting, needing, failing }, updates: { total, approved, needed, failed } };
  });
  const silent = notReportingItems(view, {}, o);
  return {
    generatedAt: o.now.toISOString(),
    lastSync: o.lastSync,
    computers: { ...fleet.computers, notReporting: silent.length, staleAfterDays: o.days },
    updates: fleet.updates,
    byClassification: classificationRows(view, r),
    byGroup: groupRows(view, r),
    notReporting: silent.slice(0, TOP).map((x) => notReportingRow(view, x)),
    recentFailures: selectFailures(view, r, TOP).items.map((x) => failureRow(view, x)),
  };
}
