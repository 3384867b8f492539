import type { Db } from '../../store/database.js';
import type { TargetingMode } from '../../core/targeting/group-tree.js';
import { UpdateState } from '../../core/reporting/update-state.js';
import { stateIn } from '../../core/reporting/status-rules.js';
import { createUpdateStatusStore, type StatusRow } from '../../store/update-status.store.js';
import { createReportFailuresStore } from '../../store/report-failures.store.js';
import { createReportUpdatesStore } from '../../store/report-updates.store.js';
import { createReportComputersStore } from '../../store/report-computers.store.js';
import { updateFactsCache, type UpdateFacts } from './update-facts.js';
import { computerFactsCache, type ComputerFacts, type ComputerFactsCache } from './computer-facts.js';
import { buildAggregates, contribute, type Aggregates, type StatusEntry } from './status-aggregates.js';

// Every computer's status in memory (computer_status mirrored as packed cells, ~4 bytes per
// computer × applicable update), with the update and computer facts the reports join it to and
// the fleet-wide sums kept current as computers report. Built on first use (or by warm());
// afterwards each request costs one version query: only rows whose seq moved are read again,
// and deleted computers are noticed through the count and the delete counter. One index per
// database connection, shared by the reports, the admin listings and the maintenance rules.

export interface FailureInfo {
  hresult: number;
  failedAt: string;
  /** failedAt in epoch ms */
  at: number;
}

/** One consistent picture for one request. */
export interface ReportView {
  /** changes whenever anything below changed: the key of memoized results */
  key: string;
  updates: UpdateFacts;
  computers: ComputerFacts;
  entries: ReadonlyMap<string, StatusEntry>;
  failures: ReadonlyMap<string, ReadonlyMap<number, FailureInfo>>;
  agg: Aggregates;
  /** a result computed once per view key (small LRU) */
  memo<T>(key: string, compute: () => T): T;
}

const MEMO_SIZE = 48;
/** above this many changed computers, all failures are read again in one pass */
const BULK_FAILURE_RELOAD = 2000;

function toEntry(r: StatusRow): StatusEntry {
  const t = r.statusAt === null ? Number.NaN : Date.parse(r.statusAt);
  return { clientId: r.clientId, statusAt: t, statusAtIso: r.statusAt, cells: r.cells, seq: r.seq };
}

export function createStatusIndex(db: Db) {
  const store = createUpdateStatusStore(db);
  const failureStore = createReportFailuresStore(db);
  const updateFacts = updateFactsCache(createReportUpdatesStore(db));
  const computersStore = createReportComputersStore(db);
  const computerCaches = new Map<TargetingMode, ComputerFactsCache>();

  const entries = new Map<string, StatusEntry>();
  const failures = new Map<string, Map<number, FailureInfo>>();
  let seen: { seq: number; count: number; deletes: number } | null = null;
  let generation = 0;
  let agg: Aggregates | null = null;
  let aggFacts: UpdateFacts | null = null;
  let memoKey = '';
  const memo = new Map<string, unknown>();

  function reloadAllFailures(): void {
    failures.clear();
    for (const f of failureStore.all()) {
      let m = failures.get(f.clientId);
      if (!m) failures.set(f.clientId, m = new Map());
      m.set(f.updatePk, { hresult: f.hresult, failedAt: f.failedAt, at: Date.parse(f.failedAt) });
    }
  }

  /** Keeps the fleet sums current: `old` leaves, `next` comes in. */
  function apply(old: StatusEntry | undefined, next: StatusEntry | undefined): void {
    if (!agg || !aggFacts) return;
    if (old) contribute(aggFacts, old, agg.perUpdate, -1);
    if (next) agg.perComputer.set(next.clientId, contribute(aggFacts, next, agg.perUpdate, 1));
    else if (old) agg.perComputer.delete(old.clientId);
  }

  function refreshStatus(): void {
    const v = store.version();
    if (seen && v.seq === seen.seq && v.count === seen.count && v.deletes === seen.deletes) return;
    if (!seen || v.seq < seen.seq) {
      // First use, or a different database under the same connection (restore): read everything.
      entries.clear();
      for (const r of store.all()) entries.set(r.clientId, toEntry(r));
      reloadAllFailures();
      agg = null;
    } else {
      const changed: string[] = [];
      if (v.seq > seen.seq) {
        for (const r of store.changedSince(seen.seq)) {
          const next = toEntry(r);
          apply(entries.get(r.clientId), next);
          entries.set(r.clientId, next);
          changed.push(r.clientId);
        }
      }
      if (v.deletes !== seen.deletes || entries.size !== v.count) {
        const ids = store.clientIds();
        for (const [id, old] of entries) {
          if (ids.has(id)) continue;
          entries.delete(id);
          failures.delete(id);
          apply(old, undefined);
        }
      }
      if (changed.length > BULK_FAILURE_RELOAD) {
        reloadAllFailures();
      } else {
        for (const id of changed) {
          const f = store.failuresOf(id);
          if (f.size) failures.set(id, new Map([...f].map(([pk, x]) => [pk, { ...x, at: Date.parse(x.failedAt) }])));
          else failures.delete(id);
        }
      }
    }
    seen = v;
    generation++;
  }

  /** Update facts first (they decide whether the sums survive), then status, then the sums. */
  function prepare(): { updates: UpdateFacts; agg: Aggregates } {
    const updates = updateFacts.current();
    if (agg && agg.shape !== updates.shape) agg = null;
    aggFacts = updates;
    refreshStatus();
    if (!agg) agg = buildAggregates(updates, entries.values());
    return { updates, agg };
  }

  function computerFacts(mode: TargetingMode): ComputerFacts {
    let c = computerCaches.get(mode);
    if (!c) computerCaches.set(mode, c = computerFactsCache(computersStore, mode));
    return c.current();
  }

  function memoize<T>(key: string, compute: () => T): T {
    if (memo.has(key)) {
      const v = memo.get(key) as T;
      memo.delete(key);
      memo.set(key, v);
      return v;
    }
    const v = compute();
    memo.set(key, v);
    if (memo.size > MEMO_SIZE) memo.delete(memo.keys().next().value!);
    return v;
  }

  let required: { key: string; counts: Map<string, number> } | null = null;
  function requiredPerUpdate(): Map<string, number> {
    const { updates, agg: a } = prepare();
    const key = `${generation}.${updates.version}`;
    if (required?.key === key) return required.counts;
    const counts = new Map<string, number>();
    for (let i = 0; i < updates.n; i++) {
      const b = i * 8;
      const n = a.perUpdate[b + 2]! + a.perUpdate[b + 3]! + a.perUpdate[b + 5]! + a.perUpdate[b + 6]!;
      if (n > 0) counts.set(updates.updateId[i]!, n);
    }
    required = { key, counts };
    return counts;
  }

  return {
    /** Reads everything now (at start, so the first report does not pay for it). */
    warm(mode: TargetingMode): void {
      prepare();
      computerFacts(mode);
    },

    view(mode: TargetingMode): ReportView {
      const { updates, agg: a } = prepare();
      const computers = computerFacts(mode);
      const key = `${mode}.${generation}.${updates.version}.${computers.version}`;
      if (key !== memoKey) {
        memo.clear();
        memoKey = key;
      }
      return { key, updates, computers, entries, failures, agg: a, memo: memoize };
    },

    /** update id → computers that require it (needed, downloaded, failed or pending a reboot). */
    requiredCounts(): ReadonlyMap<string, number> {
      return requiredPerUpdate();
    },

    /** The computers (client ids) that require this update. */
    requiredBy(updateId: string): string[] {
      const { updates } = prepare();
      const i = updates.byUpdateId.get(updateId.toLowerCase());
      if (i === undefined) return [];
      const pk = updates.pk[i]!;
      const out: string[] = [];
      for (const e of entries.values()) {
        const s = stateIn(e.cells, pk);
        if (s === UpdateState.NotInstalled || s === UpdateState.Downloaded || s === UpdateState.Failed || s === UpdateState.InstalledPendingReboot) out.push(e.clientId);
      }
      return out;
    },

    /**
     * One computer's stored states over the updates reports count (reportable, not declined):
     * update id → state; null when it never sent status.
     */
    statesOf(clientId: string): { statusAt: string | null; states: Map<string, UpdateState> } | null {
      const { updates } = prepare();
      const e = entries.get(clientId);
      if (!e) return null;
      const states = new Map<string, UpdateState>();
      for (const v of e.cells) {
        const pk = v >>> 3;
        const i = pk < updates.pkIndex.length ? updates.pkIndex[pk]! : -1;
        if (i >= 0 && !updates.declined[i]) states.set(updates.updateId[i]!, (v & 7) as UpdateState);
      }
      return { statusAt: e.statusAtIso, states };
    },

    /** Stored-state counts (slots 2..6) of one computer, from the fleet sums; undefined: no status. */
    storedCountsOf(clientId: string): Uint32Array | undefined {
      return prepare().agg.perComputer.get(clientId);
    },
  };
}

export type StatusIndex = ReturnType<typeof createStatusIndex>;

const indexes = new WeakMap<Db, StatusIndex>();

/** The one status index of this connection. */
export function statusIndexFor(db: Db): StatusIndex {
  let s = indexes.get(db);
  if (!s) indexes.set(db, s = createStatusIndex(db));
  return s;
}
