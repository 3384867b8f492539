import { DomainError } from '../../core/errors.js';
import type { NotReportingRow, Page, ReportFilters } from '../../core/reporting/report-types.js';
import type { ComputerFact } from './computer-facts.js';
import { byText, inScope, pageOf, resolveFilters } from './report-filters.js';
import { computerMatchesText, computerRef } from './report-rows.js';
import type { ReportView } from './status-index.js';

// `report not-reporting`: computers without a status list for `days` (or since they registered
// that long ago), and every computer whose SusClientId several machines share, with the most
// likely reason — ADMINS.md "clients missing from reports": stopped contacting the server,
// scans but never reports, reported once and then stopped (policy, blocked reporting), or a
// cloned image. Longest silent first.

const DAY = 86_400_000;
export const MAX_DAYS = 36_500;

interface Item { c: ComputerFact; since: number; reason: NotReportingRow['reason']; detail: string; silentDays: number }

const day = (iso: string | null): string => (iso ? iso.slice(0, 10) : 'never');

export function checkDays(days: number | undefined, fallback: number): number {
  const d = days ?? fallback;
  if (!Number.isInteger(d) || d < 1 || d > MAX_DAYS) throw new DomainError('InvalidInput', 'days', `days must be a whole number from 1 to ${MAX_DAYS}`);
  return d;
}

export function notReportingItems(view: ReportView, filters: ReportFilters, o: { days: number; now: Date; duplicates: () => ReadonlySet<string> }): Item[] {
  const r = resolveFilters(view, filters);
  const now = o.now.getTime();
  // Memoized per minute of `now`: silence is counted in days, a minute late changes nothing.
  return view.memo(`not-reporting.${r.key}.${o.days}.${Math.floor(now / 60_000)}`, () => {
    const cutoff = now - o.days * DAY;
    const duplicates = o.duplicates();
    const scope = inScope(r);
    const out: Item[] = [];
    for (const c of view.computers.list) {
      if (!scope(c) || (r.text && !computerMatchesText(c, r.text))) continue;
      const e = view.entries.get(c.clientId);
      const statusAt = e && e.statusAt === e.statusAt ? e.statusAt : Number.NaN;
      const registered = Date.parse(c.registeredAt);
      const since = statusAt === statusAt ? statusAt : registered;
      const contact = Date.parse(c.lastContactAt);
      const silentDays = Math.max(0, Math.floor((now - contact) / DAY));
      const statusIso = e?.statusAtIso ?? null;
      let reason: Item['reason'];
      let detail: string;
      if (duplicates.has(c.clientId)) {
        reason = 'duplicate-client-id';
        detail = 'its SusClientId is used by several machines (cloned image): their reports overwrite each other; reset the id on the clones';
      } else if (!(since < cutoff)) {
        continue;
      } else if (contact < cutoff) {
        reason = 'no-contact';
        detail = `no contact for ${silentDays} days (last scan ${day(c.lastSyncAt)}, last status ${day(statusIso)})`;
      } else if (statusAt !== statusAt) {
        reason = 'never-reported';
        detail = `registered ${day(c.registeredAt)} and scans (last ${day(c.lastSyncAt)}) but never sent a status report`;
      } else {
        reason = 'contacts-no-status';
        detail = `still scans (last ${day(c.lastSyncAt)}) but its last status report is from ${day(statusIso)}: check the WUStatusServer policy and that reporting is not blocked`;
      }
      out.push({ c, since, reason, detail, silentDays });
    }
    return out.sort((a, b) => a.since - b.since || byText(a.c.nameLower, b.c.nameLower));
  });
}

export function notReportingRow(view: ReportView, x: Item): NotReportingRow {
  return { ...computerRef(view, x.c), silentDays: x.silentDays, reason: x.reason, detail: x.detail };
}

export function notReportingReport(view: ReportView, filters: ReportFilters, o: { days: number; now: Date; duplicates: () => ReadonlySet<string> }, defaultLimit?: number): Page<NotReportingRow> {
  const r = resolveFilters(view, filters, defaultLimit);
  return pageOf(notReportingItems(view, filters, o), r, (x) => notReportingRow(view, x));
}
