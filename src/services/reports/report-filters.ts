import { DomainError } from '../../core/errors.js';
import { parseDateBound } from '../../core/admin/deadline.js';
import { isGuid } from '../../core/admin/update-refs.js';
import { ALL_COMPUTERS_ID } from '../../core/targeting/builtin-groups.js';
import type { GroupNode } from '../../core/targeting/group-tree.js';
import { parseStateName, STATE_NAMES, type UpdateState } from '../../core/reporting/update-state.js';
import type { Page, ReportFilters } from '../../core/reporting/report-types.js';
import type { ComputerFact } from './computer-facts.js';
import type { ReportView } from './status-index.js';

// ReportFilters as given (API query, CLI flags, dashboard) → checked and resolved against the
// current view: group by name or id, classifications and products by title or id, state names,
// date bounds. Unknown groups and categories are NotFound; malformed values InvalidInput.

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 100_000;
const MAX_TEXT = 256;
const MAX_VALUES = 100;

export interface Resolved {
  group: GroupNode | null;
  classificationIds: Set<string> | null;
  productIds: Set<string> | null;
  states: UpdateState[] | null;
  since: string | null;
  until: string | null;
  /** the bounds in epoch ms (-Infinity / Infinity when absent) */
  sinceMs: number;
  untilMs: number;
  /** lower-case */
  text: string | null;
  includeDeclined: boolean;
  limit: number;
  offset: number;
  /** what results may be memoized under (everything but paging) */
  key: string;
}

function categories(view: ReportView, type: 'Product' | 'UpdateClassification', refs: readonly string[] | undefined): Set<string> | null {
  if (!refs?.length) return null;
  const what = type === 'Product' ? 'product' : 'classification';
  if (refs.length > MAX_VALUES) throw new DomainError('InvalidInput', what, `at most ${MAX_VALUES} ${what} values`);
  const out = new Set<string>();
  const unknown: string[] = [];
  for (const raw of refs) {
    const ref = raw.trim().toLowerCase();
    const hits = view.updates.categories.filter((c) => c.type === type && (isGuid(ref) ? c.id === ref : c.title.toLowerCase() === ref));
    if (hits.length === 0) unknown.push(raw);
    for (const h of hits) out.add(h.id);
  }
  if (unknown.length) {
    throw new DomainError('NotFound', what, `${what} not found: ${unknown.map((u) => `"${u}"`).join(', ')} (see wsus ${what === 'product' ? 'products' : 'classifications'} list; give a GUID or the exact title)`);
  }
  return out;
}

export function findGroupNode(view: ReportView, ref: string): GroupNode {
  const r = ref.trim().toLowerCase();
  const g = [...view.computers.groups.values()].find((x) => (isGuid(r) ? x.id === r : x.name.toLowerCase() === r));
  if (!g) throw new DomainError('NotFound', 'group', `group "${ref}" not found (see wsus groups list)`);
  return g;
}

export function parseStates(raw: readonly string[] | undefined): UpdateState[] | null {
  if (!raw?.length) return null;
  const out = new Set<UpdateState>();
  for (const part of raw.flatMap((s) => s.split(','))) {
    if (!part.trim()) continue;
    const s = parseStateName(part);
    if (s === null) throw new DomainError('InvalidInput', 'state', `unknown state "${part.trim()}" (use ${STATE_NAMES.join(', ')})`);
    out.add(s);
  }
  return out.size ? [...out].sort() : null;
}

function bound(name: string, v: string | undefined): string | null {
  return parseDateBound(name, v) ?? null;
}

export function resolveFilters(view: ReportView, f: ReportFilters, defaultLimit = DEFAULT_LIMIT): Resolved {
  const limit = f.limit ?? defaultLimit;
  const offset = f.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new DomainError('InvalidInput', 'limit', `limit must be 1-${MAX_LIMIT}`);
  if (!Number.isInteger(offset) || offset < 0) throw new DomainError('InvalidInput', 'offset', 'offset must be 0 or more');
  const text = f.text?.trim().toLowerCase() || null;
  if (text && text.length > MAX_TEXT) throw new DomainError('InvalidInput', 'text', `text is limited to ${MAX_TEXT} characters`);
  const since = bound('since', f.since);
  const until = bound('until', f.until);
  if (since && until && since >= until) throw new DomainError('InvalidInput', 'until', 'until must be after since');
  const group = f.group?.trim() ? findGroupNode(view, f.group) : null;
  const r: Omit<Resolved, 'key'> = {
    group: group && group.id !== ALL_COMPUTERS_ID ? group : null,
    classificationIds: categories(view, 'UpdateClassification', f.classifications),
    productIds: categories(view, 'Product', f.products),
    states: parseStates(f.states),
    since, until, sinceMs: since ? Date.parse(since) : -Infinity, untilMs: until ? Date.parse(until) : Infinity, text, includeDeclined: f.includeDeclined === true, limit, offset,
  };
  const key = JSON.stringify([r.group?.id, r.classificationIds && [...r.classificationIds].sort(), r.productIds && [...r.productIds].sort(),
    r.states, since, until, text, r.includeDeclined]);
  return { ...r, key };
}

/** Whether an epoch-ms time lies in [since, until). NaN (no time) never does. */
export function within(r: Pick<Resolved, 'sinceMs' | 'untilMs'>, t: number): boolean {
  return t >= r.sinceMs && t < r.untilMs;
}

/** The computers a report covers: all, or the group's (its subgroups' included). */
export function inScope(r: Pick<Resolved, 'group'>): (c: ComputerFact) => boolean {
  const g = r.group;
  return g ? (c) => c.memberOf.includes(g.id) : () => true;
}

/** 1 for the updates a report counts: not declined (unless asked), in the classifications and products asked for. */
export function updateMask(view: ReportView, r: Pick<Resolved, 'classificationIds' | 'productIds' | 'includeDeclined'>): Uint8Array {
  const f = view.updates;
  const mask = new Uint8Array(f.n);
  for (let i = 0; i < f.n; i++) {
    if (!r.includeDeclined && f.declined[i]) continue;
    if (r.classificationIds && !f.classificationIds[i]!.some((c) => r.classificationIds!.has(c))) continue;
    if (r.productIds && !f.productIds[i]!.some((p) => r.productIds!.has(p))) continue;
    mask[i] = 1;
  }
  return mask;
}

/** Whether the mask is the default one (every update not declined): the fleet sums already hold it. */
export function isDefaultMask(r: Pick<Resolved, 'classificationIds' | 'productIds' | 'includeDeclined'>): boolean {
  return !r.classificationIds && !r.productIds && !r.includeDeclined;
}

export function page<T>(rows: readonly T[], r: Pick<Resolved, 'limit' | 'offset'>): Page<T> {
  return { total: rows.length, offset: r.offset, limit: r.limit, rows: rows.slice(r.offset, r.offset + r.limit) };
}

/** Page of rows built lazily from memoized items. */
export function pageOf<I, T>(items: readonly I[], r: Pick<Resolved, 'limit' | 'offset'>, row: (item: I) => T): Page<T> {
  return { total: items.length, offset: r.offset, limit: r.limit, rows: items.slice(r.offset, r.offset + r.limit).map(row) };
}

export const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
