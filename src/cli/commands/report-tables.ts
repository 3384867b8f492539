import type { CountsSummary, StateName } from '../../core/reporting/update-state.js';
import type {
  ClassificationStatusRow, ComputerStatusDetail, ComputerStatusRow, FailureRow, GroupStatusRow, NotReportingRow, UpdateStatusDetail,
  UpdateStatusRow,
} from '../../core/reporting/report-types.js';
import type { CsvReport } from '../../services/reports/report-csv.js';
import { shortTime, textTable } from '../text-table.js';

// `wsus report …` as tables people read in a 120-column terminal: each column capped, the last
// one (usually a title) cut to what is left; CSV and JSON carry everything.

export const WIDTH = 120;

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(1, max - 1))}…`;
}

/** Columns capped at `caps` (0: no cap); the last column shortened so lines fit `WIDTH`. */
export function fitTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>, caps: readonly number[]): string {
  const capped = rows.map((r) => r.map((c, i) => (caps[i] ? cut(c, caps[i]!) : c)));
  const last = header.length - 1;
  const widths = header.map((h, i) => Math.max(h.length, ...capped.map((r) => (r[i] ?? '').length)));
  const used = widths.slice(0, last).reduce((a, b) => a + b + 2, 0);
  const room = Math.max(header[last]!.length, WIDTH - used);
  return textTable(header, capped.map((r) => r.map((c, i) => (i === last ? cut(c, room) : c))));
}

const n = (x: number): string => x.toLocaleString('en-US');
const pct = (c: CountsSummary): string => (c.compliancePercent === null ? '-' : `${c.compliancePercent}%`);
const day = (iso: string | null): string => (iso ? iso.slice(0, 10) : '-');
const kbs = (kb: readonly string[]): string => kb.map((k) => `KB${k}`).join(',') || '-';

const TABLES: { [K in CsvReport]: (rows: never[]) => string } = {
  updates: (rows: UpdateStatusRow[]) => fitTable(
    ['REQUIRED', 'FAILED', 'INSTALLED', 'N/A', 'UNKNOWN', 'COMPL', 'KB', 'CLASSIFICATION', 'TITLE'],
    rows.map((u) => [n(u.counts.required), n(u.counts.failed), n(u.counts.installed), n(u.counts.notApplicable), n(u.counts.unknown), pct(u.counts),
      kbs(u.kb), u.classification ?? '-', `${u.title}${u.declined ? ' (declined)' : ''}`]),
    [0, 0, 0, 0, 0, 0, 12, 18, 0]),
  computers: (rows: ComputerStatusRow[]) => fitTable(
    ['NAME', 'GROUP', 'LAST STATUS', 'REQUIRED', 'FAILED', 'PENDING', 'INSTALLED', 'COMPL', 'IP'],
    rows.map((c) => [c.name, c.groups.join(',') || '-', day(c.lastStatusAt), n(c.counts.required), n(c.counts.failed), n(c.counts.pendingReboot),
      n(c.counts.installed), pct(c.counts), c.address ?? '-']),
    [30, 20, 0, 0, 0, 0, 0, 0, 0]),
  groups: (rows: GroupStatusRow[]) => {
    const depth = new Map<string, number>();
    for (const g of rows) depth.set(g.groupId, g.parentId && depth.has(g.parentId) ? depth.get(g.parentId)! + 1 : 0);
    return fitTable(
      ['GROUP', 'COMPUTERS', 'REPORTING', 'NEEDING', 'FAILING', 'COMPLIANT', 'REQUIRED', 'FAILED', 'COMPL'],
      rows.map((g) => [`${'  '.repeat(depth.get(g.groupId) ?? 0)}${g.name}`, n(g.computers), n(g.reporting), n(g.needing), n(g.failing), n(g.compliant),
        n(g.counts.required), n(g.counts.failed), pct(g.counts)]),
      [40, 0, 0, 0, 0, 0, 0, 0, 0]);
  },
  classifications: (rows: ClassificationStatusRow[]) => fitTable(
    ['CLASSIFICATION', 'UPDATES', 'REQUIRED', 'FAILED', 'INSTALLED', 'N/A', 'UNKNOWN', 'COMPL'],
    rows.map((c) => [c.name, n(c.updates), n(c.counts.required), n(c.counts.failed), n(c.counts.installed), n(c.counts.notApplicable), n(c.counts.unknown), pct(c.counts)]),
    [32, 0, 0, 0, 0, 0, 0, 0]),
  failures: (rows: FailureRow[]) => fitTable(
    ['FAILED AT', 'COMPUTER', 'HRESULT', 'KB', 'TITLE'],
    rows.map((f) => [shortTime(f.failedAt), f.computer.name, f.hresult, kbs(f.update.kb), f.update.title]),
    [0, 30, 0, 12, 0]),
  'not-reporting': (rows: NotReportingRow[]) => fitTable(
    ['NAME', 'IP', 'SILENT', 'LAST CONTACT', 'LAST STATUS', 'REASON', 'DETAIL'],
    rows.map((c) => [c.name, c.address ?? '-', `${c.silentDays} d`, day(c.lastContactAt), day(c.lastStatusAt), c.reason, c.detail]),
    [30, 15, 0, 0, 0, 0, 0]),
};

export function reportTable(kind: CsvReport, rows: readonly unknown[]): string {
  return (TABLES[kind] as (rows: readonly unknown[]) => string)(rows);
}

const COUNT_LINE: Array<[keyof CountsSummary, string]> = [
  ['needed', 'needed'], ['downloaded', 'downloaded'], ['failed', 'failed'], ['pendingReboot', 'pending reboot'], ['installed', 'installed'],
  ['notApplicable', 'not applicable'], ['unknown', 'unknown'],
];
export function countsLine(c: CountsSummary): string {
  return `${COUNT_LINE.map(([k, label]) => `${n(c[k] as number)} ${label}`).join(', ')}; compliance ${pct(c)}`;
}

const STATE_ORDER: StateName[] = ['failed', 'needed', 'downloaded', 'pending-reboot', 'installed', 'not-applicable', 'unknown'];

export function updateDetailText(d: UpdateStatusDetail): string {
  const u = d.update;
  const lines = [
    u.title,
    `  update id     ${u.updateId}`,
    `  KB            ${kbs(u.kb)}   classification ${u.classification ?? '-'}   severity ${u.msrcSeverity ?? '-'}`,
    `  products      ${u.products.join(', ') || '-'}`,
    `  arrived       ${shortTime(u.arrivedAt)}   ${u.declined ? 'DECLINED' : u.approved ? 'approved' : 'not approved'}`,
    ...(u.supersededBy.length ? [`  superseded by ${u.supersededBy.join(', ')}`] : []),
    `  status        ${countsLine(d.counts)}`,
  ];
  for (const s of STATE_ORDER) {
    const b = d.computers[s];
    if (!b || (!b.rows.length && !b.more)) continue;
    lines.push(`${s} (${n(b.rows.length + b.more)}):`);
    for (const c of b.rows) lines.push(cut(`  ${c.name}  ${c.address ?? '-'}  ${c.groups.join(',')}${c.hresult ? `  ${c.hresult} at ${shortTime(c.failedAt)}` : ''}`, WIDTH));
    if (b.more) lines.push(`  … ${n(b.more)} more (--limit N, or --format json)`);
  }
  return `${lines.join('\n')}\n`;
}

export function computerDetailText(d: ComputerStatusDetail): string {
  const c = d.computer;
  const inv = c.inventory;
  const lines = [
    `${c.name}${c.duplicateOf.length ? '  (DUPLICATE CLIENT ID: several machines use it)' : ''}`,
    `  client id     ${c.clientId}`,
    `  OS            ${inv.osDescription ?? '-'}${inv.osVersion ? ` (${inv.osVersion})` : ''}${inv.architecture ? ` ${inv.architecture}` : ''}${inv.osLocale ? ` ${inv.osLocale}` : ''}`,
    `  make/model    ${[inv.manufacturer, inv.model].filter(Boolean).join(' ') || '-'}   BIOS ${inv.biosVersion ?? '-'}`,
    `  IP            ${c.address ?? '-'}   groups ${c.groups.join(', ')}   agent ${inv.clientVersion ?? '-'}`,
    `  registered    ${shortTime(c.registeredAt)}   last sync ${shortTime(c.lastSyncAt)}   last report ${shortTime(c.lastReportAt)}   last status ${shortTime(c.lastStatusAt)}`,
    `  status        ${countsLine(d.counts)}`,
  ];
  for (const s of c.duplicateOf) lines.push(`  seen as       ${s.name}  ${s.address || '-'}  last ${shortTime(s.lastSeenAt)}`);
  for (const s of STATE_ORDER) {
    const b = d.updates[s];
    if (!b) continue;
    lines.push(`${s} (${n(b.rows.length + b.more)}):`);
    for (const u of b.rows) lines.push(cut(`  ${kbs(u.kb).padEnd(10)}  ${u.title}${u.hresult ? `  ${u.hresult} at ${shortTime(u.failedAt)}` : ''}`, WIDTH));
    if (b.more) lines.push(`  … ${n(b.more)} more (--limit N, or --format json)`);
  }
  if (d.recentEvents.length) {
    lines.push(`recent events (${d.recentEvents.length}):`);
    for (const e of d.recentEvents) {
      lines.push(cut(`  ${shortTime(e.at)}  ${e.kind}${e.hresult ? ` ${e.hresult}` : ''}${e.title ? `  ${e.title}` : ''}${e.detail ? `  (${e.detail})` : ''}`, WIDTH));
    }
  }
  return `${lines.join('\n')}\n`;
}
