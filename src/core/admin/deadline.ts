import { DomainError } from '../errors.js';

// Approval deadlines as administrators type them: an ISO date (`2026-12-01`, midnight UTC) or
// date-time (`2026-12-01T18:00:00Z`, `2026-12-01T18:00:00+02:00`). Anything else, an
// impossible calendar date, or a year outside 2000–9998 (9999-12-31 is the protocol's
// "no deadline") is refused rather than guessed.

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

export function parseDeadline(raw: unknown): string | null {
  if (raw === undefined || raw === null || raw === '') return null;
  if (typeof raw !== 'string') throw new DomainError('InvalidInput', 'deadline', 'deadline must be an ISO date or date-time string');
  const m = ISO_RE.exec(raw.trim());
  const bad = (why: string): DomainError => new DomainError('InvalidInput', 'deadline', `bad deadline "${raw}": ${why}`);
  if (!m) throw bad('expected an ISO date (2026-12-01) or date-time (2026-12-01T18:00:00Z)');
  const [, y, mo, d, h, mi, s] = m;
  const year = Number(y);
  if (year < 2000 || year > 9998) throw bad('the year must be between 2000 and 9998');
  const month = Number(mo);
  const day = Number(d);
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) throw bad('no such calendar date');
  if (h !== undefined && (Number(h) > 23 || Number(mi) > 59 || Number(s ?? 0) > 59)) throw bad('no such time of day');
  // A date-time without a zone would depend on this server's time zone: read it as UTC, as a date alone is.
  const text = m[7] === undefined && h !== undefined ? `${raw.trim()}Z` : raw.trim();
  const t = Date.parse(h === undefined ? `${y}-${mo}-${d}T00:00:00Z` : text.replace(' ', 'T'));
  if (Number.isNaN(t)) throw bad('not a valid date-time');
  return new Date(t).toISOString();
}

/** An ISO date or date-time bound for a filter (`--arrived-after 2026-01-01`). */
export function parseDateBound(name: string, raw: unknown): string | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (typeof raw !== 'string') throw new DomainError('InvalidInput', name, `${name} must be an ISO date or date-time`);
  try {
    return parseDeadline(raw) ?? undefined;
  } catch {
    throw new DomainError('InvalidInput', name, `${name}: "${raw}" is not an ISO date or date-time`);
  }
}
