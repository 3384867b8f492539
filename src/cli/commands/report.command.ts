import type { Writable } from 'node:stream';
import type { ComputerStatusDetail, Page, UpdateStatusDetail } from '../../core/reporting/report-types.js';
import { CSV_REPORTS, reportCsv, type CsvReport } from '../../services/reports/report-csv.js';
import { MAX_LIMIT } from '../../services/reports/report-filters.js';
import { flag, flagValues, intFlag, parseArgs, UsageError, type ParsedArgs } from '../args.js';
import { API_BOOL_FLAGS, API_FLAGS, withAdminSession } from '../admin-session.js';
import { printJson } from '../admin-client.js';
import { pageNote } from '../text-table.js';
import { computerDetailText, reportTable, updateDetailText } from './report-tables.js';

// `wsus report …`: the status reports of the admin API (/api/reports/*) as a table, CSV or
// JSON. CSV is rendered here from the JSON rows by the same module the API uses.

export const reportHelp = `wsus report updates|computers|groups|classifications|failures|not-reporting
    [--group NAME] [--classification NAME|GUID]... [--product NAME|GUID]... [--state STATE[,STATE]]...
    [--since DATE] [--until DATE] [--text TEXT] [--days N] [--include-declined]
    [--limit N] [--offset N] [--format table|csv|json] [--json]
  Status per update, per computer, per group (subgroups included) or per classification, the
  failed installs, and the computers not reporting (no status for --days, default 7; why).
  States: unknown, not-applicable, needed, downloaded, installed, failed, pending-reboot.
  --since/--until bound: updates and classifications the arrival, computers the last status
  report, failures the failure time. --group: a group and its subgroups. Declined updates are
  left out unless --include-declined. --format csv writes every matching row (or --limit).
wsus report update <GUID|KB|"EXACT TITLE"> [--group NAME] [--limit N] [--format table|json]
wsus report computer <CLIENT-ID|NAME> [--limit N] [--format table|json]
  One update: counts and the computers in each state; one computer: inventory, its updates by
  state and its latest events.
  Examples: wsus report updates --classification "Security Updates" --state needed,failed
            wsus report computers --group Servers --format csv > servers.csv
            wsus report not-reporting --days 14`;

export interface ReportIo { out: Writable; err: Writable }
const stdio: ReportIo = { out: process.stdout, err: process.stderr };

const FILTERS: Record<CsvReport, string[]> = {
  updates: ['group', 'classification', 'product', 'state', 'since', 'until', 'text'],
  computers: ['group', 'classification', 'product', 'state', 'since', 'until', 'text'],
  groups: ['group', 'classification', 'product'],
  classifications: ['group', 'classification', 'product', 'since', 'until'],
  failures: ['group', 'classification', 'product', 'since', 'until', 'text'],
  'not-reporting': ['group', 'text', 'days'],
};
const DECLINABLE: ReadonlySet<CsvReport> = new Set(['updates', 'computers', 'groups', 'classifications', 'failures']);
const PARAM: Record<string, string> = { 'include-declined': 'includeDeclined' };

type Format = 'table' | 'csv' | 'json';

function formatOf(args: ParsedArgs, allowed: readonly Format[]): Format {
  const f = flag(args, 'format');
  if (args.flags.get('json') === true) {
    if (f !== undefined && f !== 'json') throw new UsageError('--json and --format disagree (give one)');
    return 'json';
  }
  if (f === undefined) return 'table';
  if (!(allowed as readonly string[]).includes(f)) throw new UsageError(`--format must be ${allowed.join(', ')}`);
  return f as Format;
}

function listPath(kind: CsvReport, args: ParsedArgs, format: Format): string {
  const q = new URLSearchParams();
  for (const name of ['group', 'since', 'until', 'text']) {
    const v = flag(args, name);
    if (v !== undefined) q.set(name, v);
  }
  for (const name of ['classification', 'product']) for (const v of flagValues(args, name)) q.append(name, v);
  for (const v of flagValues(args, 'state')) q.append('state', v);
  const days = intFlag(args, 'days', 1, 36_500);
  if (days !== undefined) q.set('days', String(days));
  if (args.flags.get('include-declined') === true) q.set(PARAM['include-declined']!, 'true');
  const limit = intFlag(args, 'limit', 1, MAX_LIMIT);
  const offset = intFlag(args, 'offset', 0, 1_000_000_000);
  if (limit !== undefined) q.set('limit', String(limit));
  else if (format === 'csv') q.set('limit', String(MAX_LIMIT));
  if (offset !== undefined) q.set('offset', String(offset));
  const s = q.toString();
  return s ? `/api/reports/${kind}?${s}` : `/api/reports/${kind}`;
}

async function list(kind: CsvReport, rest: string[], io: ReportIo): Promise<number> {
  const value = [...API_FLAGS, ...FILTERS[kind], 'limit', 'offset', 'format'];
  const bool = ['json', ...API_BOOL_FLAGS, ...(DECLINABLE.has(kind) ? ['include-declined'] : [])];
  let args: ParsedArgs;
  try {
    args = parseArgs(rest, value, bool);
  } catch (e) {
    if (e instanceof UsageError && /unknown option/.test(e.message)) throw new UsageError(`${e.message} (report ${kind} takes: ${[...FILTERS[kind], ...bool.filter((b) => b === 'include-declined'), 'limit', 'offset', 'format'].map((f) => `--${f}`).join(' ')})`);
    throw e;
  }
  if (args.positional.length) throw new UsageError(`report ${kind} takes no arguments (filter with --group, --text, ...)`);
  const format = formatOf(args, ['table', 'csv', 'json']);
  const page = await withAdminSession(args, (c) => c.get<Page<unknown>>(listPath(kind, args, format)));
  if (format === 'json') printJson(page, io.out);
  else if (format === 'csv') io.out.write(reportCsv(kind, page.rows));
  else {
    if (page.rows.length) io.out.write(reportTable(kind, page.rows));
    io.err.write(`${pageNote(page.offset, page.rows.length, page.total)}\n`);
  }
  return 0;
}

async function detail(what: 'update' | 'computer', rest: string[], io: ReportIo): Promise<number> {
  const args = parseArgs(rest, [...API_FLAGS, 'limit', 'format', ...(what === 'update' ? ['group'] : [])], ['json', ...API_BOOL_FLAGS]);
  if (args.positional.length !== 1) {
    throw new UsageError(what === 'update' ? 'report update needs exactly one update: GUID, KB number or exact title' : 'report computer needs exactly one computer: client id or name');
  }
  const format = formatOf(args, ['table', 'json']);
  const q = new URLSearchParams();
  const group = flag(args, 'group');
  if (group !== undefined) q.set('group', group);
  const limit = intFlag(args, 'limit', 1, 5000);
  if (limit !== undefined) q.set('limit', String(limit));
  const path = `/api/reports/${what === 'update' ? 'updates' : 'computers'}/${encodeURIComponent(args.positional[0]!)}${q.toString() ? `?${q}` : ''}`;
  const d = await withAdminSession(args, (c) => c.get<UpdateStatusDetail | ComputerStatusDetail>(path));
  if (format === 'json') printJson(d, io.out);
  else io.out.write(what === 'update' ? updateDetailText(d as UpdateStatusDetail) : computerDetailText(d as ComputerStatusDetail));
  return 0;
}

export function reportCommand(argv: string[], io: ReportIo = stdio): Promise<number> {
  const [verb, ...rest] = argv;
  if ((CSV_REPORTS as readonly string[]).includes(verb ?? '')) return list(verb as CsvReport, rest, io);
  if (verb === 'update' || verb === 'computer') return detail(verb, rest, io);
  throw new UsageError(`usage: wsus report ${CSV_REPORTS.join('|')}|update <REF>|computer <REF> (see wsus help)`);
}
