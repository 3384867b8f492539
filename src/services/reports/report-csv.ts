import type { CountsSummary } from '../../core/reporting/update-state.js';
import type {
  ClassificationStatusRow, ComputerStatusRow, FailureRow, GroupStatusRow, NotReportingRow, UpdateStatusRow,
} from '../../core/reporting/report-types.js';

// The CSV form of the list reports, one module for the admin API (format=csv) and the CLI
// (--format csv): RFC 4180 (a header row, CRLF line ends, fields with a comma, quote or line
// break quoted, quotes doubled), the counts flattened into columns, lists joined with "; ".
// Computer names and titles come from clients and upstream catalogs: a text cell starting with
// = + - @ (a spreadsheet formula) gets a leading apostrophe so opening the file runs nothing.

export const CSV_REPORTS = ['updates', 'computers', 'groups', 'classifications', 'failures', 'not-reporting'] as const;
export type CsvReport = (typeof CSV_REPORTS)[number];

type Cell = string | number | boolean | null | undefined | readonly string[];

export function csvCell(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  let s = typeof v === 'string' ? v : v.join('; ');
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(header: readonly string[], rows: ReadonlyArray<readonly Cell[]>): string {
  const out = [header.map(csvCell).join(',')];
  for (const r of rows) out.push(r.map(csvCell).join(','));
  return `${out.join('\r\n')}\r\n`;
}

const COUNT_COLUMNS = ['unknown', 'notApplicable', 'needed', 'downloaded', 'installed', 'failed', 'pendingReboot', 'required', 'compliancePercent'] as const;
const counts = (c: CountsSummary): Cell[] => COUNT_COLUMNS.map((k) => c[k]);

interface Columns<T> { header: string[]; cells: (row: T) => Cell[] }

const COLUMNS: { [K in CsvReport]: Columns<never> } = {
  updates: {
    header: ['updateId', 'title', 'kb', 'classification', 'products', 'msrcSeverity', 'arrivedAt', 'declined', 'approved', 'computers', ...COUNT_COLUMNS],
    cells: (r: UpdateStatusRow) => [r.updateId, r.title, r.kb, r.classification, r.products, r.msrcSeverity, r.arrivedAt, r.declined, r.approved, r.computers, ...counts(r.counts)],
  },
  computers: {
    header: ['clientId', 'name', 'address', 'groups', 'os', 'lastContactAt', 'lastStatusAt', 'lastReportAt', ...COUNT_COLUMNS],
    cells: (r: ComputerStatusRow) => [r.clientId, r.name, r.address, r.groups, r.os, r.lastContactAt, r.lastStatusAt, r.lastReportAt, ...counts(r.counts)],
  },
  groups: {
    header: ['groupId', 'name', 'parentId', 'computers', 'reporting', 'needing', 'failing', 'compliant', ...COUNT_COLUMNS],
    cells: (r: GroupStatusRow) => [r.groupId, r.name, r.parentId, r.computers, r.reporting, r.needing, r.failing, r.compliant, ...counts(r.counts)],
  },
  classifications: {
    header: ['classificationId', 'name', 'updates', ...COUNT_COLUMNS],
    cells: (r: ClassificationStatusRow) => [r.classificationId, r.name, r.updates, ...counts(r.counts)],
  },
  failures: {
    header: ['failedAt', 'clientId', 'computer', 'groups', 'updateId', 'title', 'kb', 'classification', 'hresult'],
    cells: (r: FailureRow) => [r.failedAt, r.computer.clientId, r.computer.name, r.computer.groups, r.update.updateId, r.update.title, r.update.kb, r.update.classification, r.hresult],
  },
  'not-reporting': {
    header: ['clientId', 'name', 'address', 'groups', 'os', 'lastContactAt', 'lastStatusAt', 'lastReportAt', 'silentDays', 'reason', 'detail'],
    cells: (r: NotReportingRow) => [r.clientId, r.name, r.address, r.groups, r.os, r.lastContactAt, r.lastStatusAt, r.lastReportAt, r.silentDays, r.reason, r.detail],
  },
};

/** A list report's rows as CSV text. */
export function reportCsv(kind: CsvReport, rows: readonly unknown[]): string {
  const c = COLUMNS[kind] as Columns<unknown>;
  return toCsv(c.header, rows.map((r) => c.cells(r)));
}
