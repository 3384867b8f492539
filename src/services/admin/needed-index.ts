import { parseStatusLists, type StatusLists } from '../../core/admin/status-lists.js';
import type { ComputerStatusStore } from '../../store/computer-status.store.js';

// "Needed by N computers", from each computer's latest status report (see status-lists.ts).
// There is no per-computer status table yet: the index is derived from the reporting events,
// built once (the first time it is asked for) and then kept up to date incrementally: only the
// computers that reported since the last look (computers.last_report_at) are read again, and
// deleted computers are dropped. Update ids are interned, so 20,000 computers × 30 needed
// updates cost a few MB, not a string each.

interface State {
  count: number;
  lastReport: string | null;
  /** interned update id → number, and back */
  ids: Map<string, number>;
  names: string[];
  /** client id → interned ids of the updates it needs */
  perClient: Map<string, Uint32Array>;
  /** update id → computers needing it */
  counts: Map<string, number>;
}

export function createNeededIndex(status: ComputerStatusStore) {
  let state: State | null = null;

  function remove(s: State, clientId: string): void {
    const old = s.perClient.get(clientId);
    if (!old) return;
    s.perClient.delete(clientId);
    for (const n of old) {
      const id = s.names[n]!;
      const c = (s.counts.get(id) ?? 1) - 1;
      if (c > 0) s.counts.set(id, c);
      else s.counts.delete(id);
    }
  }

  function apply(s: State, clientId: string, misc: readonly string[] | null): void {
    remove(s, clientId);
    const lists = misc ? parseStatusLists(misc) : null;
    if (!lists || lists.needed.size === 0) return;
    const mine = new Uint32Array(lists.needed.size);
    let i = 0;
    for (const id of lists.needed) {
      let n = s.ids.get(id);
      if (n === undefined) {
        n = s.names.length;
        s.ids.set(id, n);
        s.names.push(id);
      }
      mine[i++] = n;
      s.counts.set(id, (s.counts.get(id) ?? 0) + 1);
    }
    s.perClient.set(clientId, mine);
  }

  function current(): State {
    const v = status.version();
    if (!state) {
      state = { ...v, ids: new Map(), names: [], perClient: new Map(), counts: new Map() };
      for (const { clientId, misc } of status.latestAll()) apply(state, clientId, misc);
      return state;
    }
    if (v.lastReport !== state.lastReport && v.lastReport !== null) {
      for (const { clientId, misc } of status.reportedSince(state.lastReport ?? '')) apply(state, clientId, misc);
    }
    if (v.count !== state.count) {
      const existing = status.clientIds();
      for (const clientId of [...state.perClient.keys()]) if (!existing.has(clientId)) remove(state, clientId);
    }
    state.count = v.count;
    state.lastReport = v.lastReport;
    return state;
  }

  return {
    /** update id → how many computers need it */
    counts(): ReadonlyMap<string, number> {
      return current().counts;
    },
    /** The computers (client ids) whose latest report lists this update as needed. */
    neededBy(updateId: string): string[] {
      const s = current();
      const n = s.ids.get(updateId);
      if (n === undefined) return [];
      const out: string[] = [];
      for (const [clientId, list] of s.perClient) if (list.includes(n)) out.push(clientId);
      return out;
    },
    /** After computers were deleted (a re-registered one must not keep its old status). */
    forget(clientIds: Iterable<string>): void {
      if (state) for (const id of clientIds) remove(state, id);
    },
    /** One computer's latest lists; null when it never reported status. */
    of(clientId: string): StatusLists | null {
      const misc = status.latestOf(clientId);
      return misc ? parseStatusLists(misc) : null;
    },
  };
}

export type NeededIndex = ReturnType<typeof createNeededIndex>;
