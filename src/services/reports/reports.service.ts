import type { Db } from '../../store/database.js';
import type { TargetingMode } from '../../core/targeting/group-tree.js';
import type {
  ClassificationStatusRow, ComputerStatusDetail, ComputerStatusRow, FailureRow, GroupStatusRow, NotReportingRow, Overview, Page,
  ReportFilters, SearchResult, UpdateStatusDetail, UpdateStatusRow,
} from '../../core/reporting/report-types.js';
import { createUpdateListingStore } from '../../store/update-listing.store.js';
import { createReportUpdatesStore } from '../../store/report-updates.store.js';
import { createReportComputersStore } from '../../store/report-computers.store.js';
import { createSyncRunsStore } from '../../store/sync-runs.store.js';
import { statusIndexFor, type ReportView } from './status-index.js';
import { updatesReport } from './updates-report.js';
import { computersReport } from './computers-report.js';
import { classificationsReport, groupsReport } from './groups-report.js';
import { failuresReport } from './failures-report.js';
import { checkDays, notReportingReport } from './not-reporting-report.js';
import { overviewReport } from './overview-report.js';
import { checkDetailLimit, resolveReportedUpdate, updateDetail } from './update-detail.js';
import { computerDetail, resolveComputer } from './computer-detail.js';
import { searchReport } from './search-report.js';

// The reports (admin API /api/reports/*, `wsus report …`, the dashboard, bench/reporting): each
// call takes one consistent view of the in-memory status index (refreshed with what changed
// since the last call) and answers from it; results are memoized per view, so paging through
// a report or reloading a dashboard costs the page, not the report.

export interface ReportsDeps {
  db: Db;
  targetingMode: TargetingMode;
  clock: () => Date;
  /** days without a status report before a computer counts as not reporting (default 7) */
  notReportingDays?: number;
}

export const DEFAULT_NOT_REPORTING_DAYS = 7;

export function createReportsService(deps: ReportsDeps) {
  const index = statusIndexFor(deps.db);
  const listing = createUpdateListingStore(deps.db);
  const updatesStore = createReportUpdatesStore(deps.db);
  const computersStore = createReportComputersStore(deps.db);
  const syncRuns = createSyncRunsStore(deps.db);
  const staleDays = deps.notReportingDays ?? DEFAULT_NOT_REPORTING_DAYS;

  const view = (): ReportView => index.view(deps.targetingMode);
  const duplicatesOf = (v: ReportView) => (): ReadonlySet<string> => v.memo('duplicates', () => computersStore.duplicateIds());

  return {
    /** Builds the index now (at start) so the first report does not pay for it. */
    warm(): void {
      index.warm(deps.targetingMode);
    },

    overview(o: { days?: number } = {}): Overview {
      const v = view();
      const last = syncRuns.history(1)[0];
      return overviewReport(v, {
        days: checkDays(o.days, staleDays), now: deps.clock(), duplicates: duplicatesOf(v),
        lastSync: last ? { state: last.state, finishedAt: last.finishedAt, error: last.error } : null,
      });
    },

    /** since/until: the update's arrival */
    updates(f: ReportFilters = {}, defaultLimit?: number): Page<UpdateStatusRow> {
      return updatesReport(view(), f, defaultLimit);
    },

    updateDetail(ref: string, o: { group?: string; limit?: number } = {}): UpdateStatusDetail {
      const v = view();
      return updateDetail(v, resolveReportedUpdate(v, listing, ref), { group: o.group, limit: checkDetailLimit(o.limit), updatesStore });
    },

    /** since/until: the computer's last status list */
    computers(f: ReportFilters = {}, defaultLimit?: number): Page<ComputerStatusRow> {
      return computersReport(view(), f, defaultLimit);
    },

    computerDetail(ref: string, o: { limit?: number } = {}): ComputerStatusDetail {
      const v = view();
      return computerDetail(v, resolveComputer(v, ref), { limit: checkDetailLimit(o.limit, 100), store: computersStore, listing, duplicates: duplicatesOf(v) });
    },

    groups(f: ReportFilters = {}, defaultLimit?: number): Page<GroupStatusRow> {
      return groupsReport(view(), f, defaultLimit);
    },

    /** since/until: the update's arrival */
    classifications(f: ReportFilters = {}, defaultLimit?: number): Page<ClassificationStatusRow> {
      return classificationsReport(view(), f, defaultLimit);
    },

    /** since/until: the failure time */
    failures(f: ReportFilters = {}, defaultLimit?: number): Page<FailureRow> {
      return failuresReport(view(), f, defaultLimit);
    },

    notReporting(f: ReportFilters & { days?: number } = {}, defaultLimit?: number): Page<NotReportingRow> {
      const v = view();
      const { days, ...filters } = f;
      return notReportingReport(v, filters, { days: checkDays(days, staleDays), now: deps.clock(), duplicates: duplicatesOf(v) }, defaultLimit);
    },

    search(q: string | undefined): SearchResult {
      return searchReport(view(), q);
    },
  };
}

export type ReportsService = ReturnType<typeof createReportsService>;
