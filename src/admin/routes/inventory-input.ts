import { DomainError } from '../../core/errors.js';
import { parseDateBound } from '../../core/admin/deadline.js';

// Query-string parsing for the updates, groups and computers routes: strict (a typo in a
// filter is an error, not an ignored parameter), every value checked.

export function allowOnly(q: URLSearchParams, names: readonly string[]): void {
  for (const k of new Set(q.keys())) {
    if (!names.includes(k)) throw new DomainError('InvalidInput', k, `unknown query parameter "${k}" (known: ${names.join(', ')})`);
  }
}

export function list(q: URLSearchParams, name: string): string[] | undefined {
  const v = q.getAll(name).map((s) => s.trim()).filter((s) => s !== '');
  return v.length ? v : undefined;
}

export function text(q: URLSearchParams, name: string): string | undefined {
  const v = q.get(name);
  return v === null || v.trim() === '' ? undefined : v;
}

export function int(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^\d{1,9}$/.test(v)) throw new DomainError('InvalidInput', name, `${name} must be a whole number, not "${v}"`);
  return Number(v);
}

export function bool(q: URLSearchParams, name: string): boolean | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new DomainError('InvalidInput', name, `${name} must be true or false`);
}

export function date(q: URLSearchParams, name: string): string | undefined {
  return parseDateBound(name, q.get(name) ?? undefined);
}
