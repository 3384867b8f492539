import { emptyCounts, type StateCounts } from '../../core/reporting/update-state.js';
import type { UpdateFacts } from './update-facts.js';
import { countAbove, countBelow } from './update-facts.js';

// The loops over packed status cells, and how Unknown / Not applicable follow from them.
//
// Only states 2..6 are stored. A computer × update without a cell is Not applicable when the
// computer's last status list is newer than the update's arrival (the scan saw the update and
// did not list it), otherwise Unknown. So besides the stored states, each sum keeps in slot 0
// the cells whose computer's status list is newer than the update's arrival; with the sorted
// status times (or arrival times) that is enough to derive both missing states exactly:
//   per update:   NA = (computers in scope with status newer than its arrival) - slot0
//   per computer: NA = (updates counted that arrived before its status list) - slot0
// and Unknown is whatever is left.

export interface StatusEntry {
  clientId: string;
  /** epoch ms of the status list; NaN when the computer never sent one */
  statusAt: number;
  statusAtIso: string | null;
  /** sorted update_pk * 8 + state */
  cells: Uint32Array;
  seq: number;
}

/** Sums over every computer with status, kept up to date as computers report. */
export interface Aggregates {
  /** the UpdateFacts.shape they were built for */
  shape: number;
  /** per update (n × 8): slot 0 = cells from computers whose status is newer than the arrival, 2..6 = stored states */
  perUpdate: Uint32Array;
  /** per computer (8): slot 0 = cells of updates that arrived before its status list, 2..6 = stored states; declined updates left out */
  perComputer: Map<string, Uint32Array>;
}

/**
 * The one walk over a computer's cells: adds `sign` × each stored state (and slot 0) into
 * `perUpdate` when given, and returns the computer's own counts over the updates `counted`
 * marks (null: every update not declined).
 */
function tally(f: UpdateFacts, e: StatusEntry, perUpdate: Uint32Array | null, sign: 1 | -1, counted: Uint8Array | null): Uint32Array {
  const mine = new Uint32Array(8);
  const cells = e.cells;
  const pkIndex = f.pkIndex;
  const limit = pkIndex.length;
  const arrived = f.arrivedMs;
  const declined = f.declined;
  const sa = e.statusAt;
  for (let k = 0; k < cells.length; k++) {
    const v = cells[k]!;
    const pk = v >>> 3;
    if (pk >= limit) continue;
    const i = pkIndex[pk]!;
    const s = v & 7;
    if (i < 0 || s < 2 || s > 6) continue;
    const newer = sa > arrived[i]! ? 1 : 0;
    if (perUpdate) {
      perUpdate[i * 8 + s] += sign;
      if (newer) perUpdate[i * 8] += sign;
    }
    if (counted ? counted[i] === 1 : declined[i] === 0) {
      mine[s]++;
      mine[0] += newer;
    }
  }
  return mine;
}

/**
 * Adds (sign 1) or removes (sign -1) one computer's cells to per-update sums, and returns its
 * own counts over the updates not declined.
 */
export function contribute(f: UpdateFacts, e: StatusEntry, perUpdate: Uint32Array, sign: 1 | -1): Uint32Array {
  return tally(f, e, perUpdate, sign, null);
}

export function buildAggregates(f: UpdateFacts, entries: Iterable<StatusEntry>): Aggregates {
  const perUpdate = new Uint32Array(f.n * 8);
  const perComputer = new Map<string, Uint32Array>();
  for (const e of entries) perComputer.set(e.clientId, contribute(f, e, perUpdate, 1));
  return { shape: f.shape, perUpdate, perComputer };
}

/** Per-update sums over some computers only (a group's). */
export function sumUpdates(f: UpdateFacts, entries: Iterable<StatusEntry>): Uint32Array {
  const perUpdate = new Uint32Array(f.n * 8);
  for (const e of entries) tally(f, e, perUpdate, 1, null);
  return perUpdate;
}

/** One computer's counts (slot 0 and 2..6, as in Aggregates.perComputer) over the updates `counted` marks. */
export function countCells(f: UpdateFacts, e: StatusEntry, counted: Uint8Array): Uint32Array {
  return tally(f, e, null, 1, counted);
}

/** Sorted status times (ms) of the computers that have one. */
export function statusTimes(entries: Iterable<StatusEntry | undefined>): Float64Array {
  const out: number[] = [];
  for (const e of entries) if (e && e.statusAt === e.statusAt) out.push(e.statusAt);
  return Float64Array.from(out).sort();
}

/** Every state of update `i` over a scope of `size` computers whose status times are `times`. */
export function updateCounts(f: UpdateFacts, sums: Uint32Array, i: number, size: number, times: Float64Array): StateCounts {
  const c = emptyCounts();
  let stored = 0;
  for (let s = 2; s <= 6; s++) stored += c[s] = sums[i * 8 + s]!;
  c[1] = Math.max(0, countAbove(times, f.arrivedMs[i]!) - sums[i * 8]!);
  c[0] = Math.max(0, size - stored - c[1]);
  return c;
}

/** Every state of one computer over `considered` updates whose arrival times are `arrivals`. */
export function computerCounts(mine: Uint32Array | undefined, statusAt: number, considered: number, arrivals: Float64Array): StateCounts {
  const c = emptyCounts();
  let stored = 0;
  if (mine) for (let s = 2; s <= 6; s++) stored += c[s] = mine[s]!;
  c[1] = Math.max(0, countBelow(arrivals, statusAt) - (mine?.[0] ?? 0));
  c[0] = Math.max(0, considered - stored - c[1]);
  return c;
}

export function addCounts(into: StateCounts, c: Readonly<StateCounts>): void {
  for (let s = 0; s < 7; s++) into[s] += c[s]!;
}

export const required = (c: Readonly<StateCounts>): number => c[2] + c[3] + c[5] + c[6];
