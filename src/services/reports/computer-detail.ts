import { DomainError } from '../../core/errors.js';
import { hresultHex, stateName, summarize, UpdateState } from '../../core/reporting/update-state.js';
import type { ComputerStatusDetail, UpdateRef } from '../../core/reporting/report-types.js';
import type { ReportComputersStore } from '../../store/report-computers.store.js';
import type { UpdateListingStore } from '../../store/update-listing.store.js';
import type { ComputerFact } from './computer-facts.js';
import { byText } from './report-filters.js';
import { computerRef, updateRef } from './report-rows.js';
import { computerSums } from './report-sums.js';
import { eventDetail, eventKind } from './event-kinds.js';
import type { ReportView } from './status-index.js';

// GET /api/reports/computers/:ref — one computer (client id, full or short DNS name): inventory,
// counts, its updates in each stored state (the first `limit` by title) and its latest events.

const EVENTS = 50;
const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

export function resolveComputer(view: ReportView, ref: string): ComputerFact {
  const r = ref.trim().toLowerCase();
  const byId = view.computers.byId.get(r);
  if (byId) return byId;
  let hits = view.computers.list.filter((c) => c.nameLower === r);
  if (!hits.length) hits = view.computers.list.filter((c) => c.nameLower.split('.')[0] === r);
  if (hits.length === 1) return hits[0]!;
  if (!hits.length) throw new DomainError('NotFound', 'computer', `computer "${ref}" not found (give its client id or DNS name)`);
  throw new DomainError('InvalidInput', 'computer', `"${ref}" matches ${hits.length} computers (name one by its client id): ${hits.slice(0, 10).map((c) => `${c.clientId} ${c.name}`).join('; ')}`);
}

function parseList(json: string): string[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

export function computerDetail(view: ReportView, c: ComputerFact, o: {
  limit: number; store: ReportComputersStore; listing: UpdateListingStore; duplicates: () => ReadonlySet<string>;
}): ComputerStatusDetail {
  const f = view.updates;
  const e = view.entries.get(c.clientId);
  const failures = view.failures.get(c.clientId);
  const byState = new Map<UpdateState, number[]>();
  if (e) {
    for (const v of e.cells) {
      const pk = v >>> 3;
      const i = pk < f.pkIndex.length ? f.pkIndex[pk]! : -1;
      if (i < 0 || f.declined[i]) continue;
      const s = (v & 7) as UpdateState;
      const list = byState.get(s) ?? [];
      list.push(i);
      byState.set(s, list);
    }
  }
  const updates: ComputerStatusDetail['updates'] = {};
  for (const [s, list] of [...byState.entries()].sort(([a], [b]) => a - b)) {
    list.sort((a, b) => byText(f.titleLower[a]!, f.titleLower[b]!) || a - b);
    updates[stateName(s)] = {
      rows: list.slice(0, o.limit).map((i) => {
        const row: UpdateRef & { hresult?: string; failedAt?: string } = updateRef(view, i);
        const failure = s === UpdateState.Failed ? failures?.get(f.pk[i]!) : undefined;
        if (failure) Object.assign(row, { hresult: hresultHex(failure.hresult), failedAt: failure.failedAt });
        return row;
      }),
      more: Math.max(0, list.length - o.limit),
    };
  }
  const inventory = o.store.inventory(c.clientId) ?? {
    osDescription: null, osVersion: null, osLocale: null, manufacturer: null, model: null, biosVersion: null, biosName: null,
    biosReleaseDate: null, architecture: null, clientVersion: null,
  };
  const titleOf = (id: string): string | null => {
    const i = f.byUpdateId.get(id);
    return i !== undefined ? f.title[i]! : o.listing.byUpdateId(id)?.title ?? null;
  };
  return {
    computer: {
      ...computerRef(view, c),
      registeredAt: c.registeredAt,
      lastSyncAt: c.lastSyncAt,
      inventory,
      duplicateOf: o.duplicates().has(c.clientId) ? o.store.sightings(c.clientId).map((s) => ({ name: s.name, address: s.address, lastSeenAt: s.lastSeenAt })) : [],
    },
    counts: summarize(computerSums(view, { group: null, classificationIds: null, productIds: null, includeDeclined: false }).counts.get(c.clientId)!),
    updates,
    recentEvents: o.store.recentEvents(c.clientId, EVENTS).map((ev) => {
      const misc = parseList(ev.miscData);
      const updateId = ev.updateId === ZERO_GUID ? null : ev.updateId;
      return {
        at: ev.timeAtTarget, receivedAt: ev.receivedAt, eventId: ev.eventId, kind: eventKind(ev.eventId, misc), updateId,
        title: updateId ? titleOf(updateId) : null, hresult: ev.hresult ? hresultHex(ev.hresult) : null, detail: eventDetail(misc),
      };
    }),
  };
}
