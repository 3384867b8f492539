import { Readable } from 'node:stream';
import { DomainError } from '../../core/errors.js';
import type { Page, ReportFilters } from '../../core/reporting/report-types.js';
import type { AdminRouter } from '../admin-router.types.js';
import type { AdminDeps } from '../admin-deps.js';
import { createReportsService, type ReportsService } from '../../services/reports/reports.service.js';
import { MAX_LIMIT } from '../../services/reports/report-filters.js';
import { reportCsv, type CsvReport } from '../../services/reports/report-csv.js';
import { allowOnly, bool, int, list, text } from './inventory-input.js';

// Reports (read routes: reporters allowed). Lists take filters as query parameters, strictly
// (an unknown parameter is a 400) and `format=csv` for a CSV download of every matching row
// (or `limit` rows):
//   GET /api/reports/overview                 days
//   GET /api/reports/updates                  group classification* product* state* since until text includeDeclined limit offset format
//   GET /api/reports/updates/:ref             group limit            (GUID, KB number or exact title)
//   GET /api/reports/computers                group classification* product* state* since until text includeDeclined limit offset format
//   GET /api/reports/computers/:ref           limit                  (client id or DNS name)
//   GET /api/reports/groups                   group classification* product* includeDeclined limit offset format
//   GET /api/reports/classifications          group classification* product* since until includeDeclined limit offset format
//   GET /api/reports/failures                 group classification* product* since until text includeDeclined limit offset format
//   GET /api/reports/not-reporting            group text days limit offset format
//   GET /api/reports/search                   q
// (* repeatable; state also takes a comma list.) Buffered client reports are written first
// (deps.flush) so what a client just reported shows.

const PAGING = ['limit', 'offset', 'format'];
const PARAMS: Record<CsvReport, string[]> = {
  updates: ['group', 'classification', 'product', 'state', 'since', 'until', 'text', 'includeDeclined', ...PAGING],
  computers: ['group', 'classification', 'product', 'state', 'since', 'until', 'text', 'includeDeclined', ...PAGING],
  groups: ['group', 'classification', 'product', 'includeDeclined', ...PAGING],
  classifications: ['group', 'classification', 'product', 'since', 'until', 'includeDeclined', ...PAGING],
  failures: ['group', 'classification', 'product', 'since', 'until', 'text', 'includeDeclined', ...PAGING],
  'not-reporting': ['group', 'text', 'days', ...PAGING],
};

function filtersOf(q: URLSearchParams): ReportFilters & { days?: number } {
  const f: ReportFilters & { days?: number } = {};
  const set = <K extends keyof (ReportFilters & { days?: number })>(k: K, v: (ReportFilters & { days?: number })[K] | undefined): void => {
    if (v !== undefined) f[k] = v;
  };
  set('group', text(q, 'group'));
  set('classifications', list(q, 'classification'));
  set('products', list(q, 'product'));
  set('states', list(q, 'state') as ReportFilters['states']);
  set('since', text(q, 'since'));
  set('until', text(q, 'until'));
  set('text', text(q, 'text'));
  set('includeDeclined', bool(q, 'includeDeclined'));
  set('limit', int(q, 'limit'));
  set('offset', int(q, 'offset'));
  set('days', int(q, 'days'));
  return f;
}

function formatOf(q: URLSearchParams): 'json' | 'csv' {
  const v = q.get('format') ?? 'json';
  if (v !== 'json' && v !== 'csv') throw new DomainError('InvalidInput', 'format', `format must be json or csv, not "${v}"`);
  return v;
}

const services = new WeakMap<AdminDeps, ReportsService>();

/** The reports service of this running server (one per admin listener; the dashboard shares it). */
export function reportsServiceFor(deps: AdminDeps): ReportsService {
  let s = services.get(deps);
  if (!s) {
    services.set(deps, s = createReportsService({
      db: deps.db, targetingMode: deps.config.targetingMode, clock: deps.clock, notReportingDays: deps.config.reporting.notReportingDays,
    }));
  }
  return s;
}

export function registerReportsRoutes(router: AdminRouter, deps: AdminDeps): void {
  const reports = reportsServiceFor(deps);
  // The first build reads every computer's status (about a second for 20,000 computers): done
  // shortly after start in the background, not by the first request.
  setTimeout(() => {
    try {
      reports.warm();
    } catch (e) {
      deps.log.debug('status index not prepared', { error: (e as Error).message });
    }
  }, 2000).unref();

  const listRoute = (kind: CsvReport, run: (f: ReportFilters & { days?: number }, defaultLimit?: number) => Page<unknown>): void => {
    router.read(`/api/reports/${kind}`, ({ query }) => {
      allowOnly(query, PARAMS[kind]);
      const format = formatOf(query);
      const f = filtersOf(query);
      deps.flush();
      if (format === 'json') return run(f);
      const page = run(f, MAX_LIMIT);
      return { kind: 'stream', contentType: 'text/csv; charset=utf-8', fileName: `${kind}.csv`, body: Readable.from([reportCsv(kind, page.rows)]) };
    });
  };
  listRoute('updates', (f, l) => reports.updates(f, l));
  listRoute('computers', (f, l) => reports.computers(f, l));
  listRoute('groups', (f, l) => reports.groups(f, l));
  listRoute('classifications', (f, l) => reports.classifications(f, l));
  listRoute('failures', (f, l) => reports.failures(f, l));
  listRoute('not-reporting', (f, l) => reports.notReporting(f, l));

  router.read('/api/reports/overview', ({ query }) => {
    allowOnly(query, ['days']);
    const days = int(query, 'days');
    deps.flush();
    return reports.overview(days === undefined ? {} : { days });
  });
  router.read('/api/reports/updates/:ref', ({ params, query }) => {
    allowOnly(query, ['group', 'limit']);
    const group = text(query, 'group');
    const limit = int(query, 'limit');
    deps.flush();
    return reports.updateDetail(params.ref!, { ...(group ? { group } : {}), ...(limit === undefined ? {} : { limit }) });
  });
  router.read('/api/reports/computers/:ref', ({ params, query }) => {
    allowOnly(query, ['limit']);
    const limit = int(query, 'limit');
    deps.flush();
    return reports.computerDetail(params.ref!, limit === undefined ? {} : { limit });
  });
  router.read('/api/reports/search', ({ query }) => {
    allowOnly(query, ['q']);
    deps.flush();
    return reports.search(query.get('q') ?? undefined);
  });
}
