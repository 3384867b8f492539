import type { CatalogSnapshot, SnapshotEntry } from './catalog-snapshot.js';
import { relatedEntries } from './category-filter.js';

/** The id arrays are kept by the scan memo: callers must not change them after the call. */
export interface SoftwareScanRequest {
  installedNonLeaf: readonly number[];
  otherCached: readonly number[];
  filterCategoryIds: readonly string[];
  /** change sequence the client's cookie says it has seen */
  watermark: number;
  pageSize: number;
}

export interface ScanPage {
  /** entry indexes, prerequisites first */
  newEntries: number[];
  truncated: boolean;
  /** cached revision ids the client must drop */
  outOfScope: number[];
  /** entry indexes of cached revisions whose deployment or IsLeaf changed */
  changed: number[];
}

// Scratch marks reused across requests: a request never allocates per-catalog arrays. Stamps
// instead of clearing keep the cost proportional to the request, not to the catalog.
let stamp = 1;
let installedMark = new Uint32Array(0);
let cachedMark = new Uint32Array(0);
let visitedMark = new Uint32Array(0);

function ensureScratch(entries: number, revisions: number): void {
  if (installedMark.length < entries) {
    installedMark = new Uint32Array(entries);
    visitedMark = new Uint32Array(entries);
  }
  if (cachedMark.length < revisions) cachedMark = new Uint32Array(revisions);
  if (++stamp === 0xffffffff) {
    installedMark.fill(0);
    visitedMark.fill(0);
    cachedMark.fill(0);
    stamp = 1;
  }
}

function satisfied(e: SnapshotEntry, s: number): boolean {
  if (e.unsatisfiable) return false;
  for (const clause of e.clauses) {
    let ok = false;
    for (let k = 0; k < clause.length; k++) {
      if (installedMark[clause[k]!] === s) {
        ok = true;
        break;
      }
    }
    if (!ok) return false;
  }
  return true;
}

/** Order within a page: what other items depend on first, then bundles, then their members and other leaves. */
function rank(e: SnapshotEntry): number {
  return e.isLeaf ? (e.isBundle ? 1 : 2) : 0;
}

/**
 * Everything a client with these installed non-leaf items may receive (delivered, software,
 * prerequisites satisfied, inside the filter), ordered as pages are. It depends only on the
 * installed set and the filter, not on what the client has cached, so clients of the same
 * kind of machine share it: computed once per snapshot and memoized.
 */
function eligibleEntries(snap: CatalogSnapshot, installedEntries: number[], filterIds: readonly string[]): Int32Array {
  installedEntries.sort((a, b) => a - b);
  const key = `${installedEntries.join(',')}|${filterIds.length ? [...filterIds].map((f) => f.toLowerCase()).sort().join(',') : ''}`;
  let memo = eligibleMemo.get(snap);
  if (!memo) {
    memo = { sets: new Map(), size: 0 };
    eligibleMemo.set(snap, memo);
  }
  const hit = memo.sets.get(key);
  if (hit) return hit;

  ensureScratch(snap.entries.length, snap.entryOfRevision.length);
  const s = stamp;
  for (const ei of installedEntries) installedMark[ei] = s;
  const filter = filterIds.length ? relatedEntries(snap, filterIds) : null;
  const out: SnapshotEntry[] = [];
  const consider = (ei: number): void => {
    if (visitedMark[ei] === s) return;
    visitedMark[ei] = s;
    const e = snap.entries[ei]!;
    if (!e.delivered || e.kind === 'Driver') return;
    if (filter && !filter[ei]) return;
    if (satisfied(e, s)) out.push(e);
  };
  for (const r of snap.roots) consider(r);
  let previous = -1;
  for (const ei of installedEntries) {
    if (ei === previous) continue;
    previous = ei;
    for (let k = snap.dependentsStart[ei]!; k < snap.dependentsStart[ei + 1]!; k++) consider(snap.dependents[k]!);
  }
  out.sort((a, b) => rank(a) - rank(b) || a.revisionId - b.revisionId);
  const result = Int32Array.from(out, (e) => e.index);
  // Bounded by total size: a client population with endlessly different installed sets
  // evicts old sets instead of growing memory.
  if (memo.size + result.length > MEMO_MAX_ENTRIES) {
    memo.sets.clear();
    memo.size = 0;
  }
  memo.sets.set(key, result);
  memo.size += result.length;
  return result;
}

const MEMO_MAX_ENTRIES = 4_000_000;
const eligibleMemo = new WeakMap<CatalogSnapshot, { sets: Map<string, Int32Array>; size: number }>();

function computePage(snap: CatalogSnapshot, req: SoftwareScanRequest): ScanPage {
  const revCount = snap.entryOfRevision.length;
  const installedEntries: number[] = [];
  for (const id of req.installedNonLeaf) {
    const ei = id > 0 && id < revCount ? snap.entryOfRevision[id]! : -1;
    if (ei >= 0) installedEntries.push(ei);
  }
  const eligible = eligibleEntries(snap, installedEntries, req.filterCategoryIds);

  ensureScratch(snap.entries.length, revCount);
  const s = stamp;
  const { revisionIdOf, changeSeqOf, softwareDeliverable, entryOfRevision, isCurrentRevision } = snap;
  for (const id of req.installedNonLeaf) if (id > 0 && id < revCount) cachedMark[id] = s;
  for (const id of req.otherCached) if (id > 0 && id < revCount) cachedMark[id] = s;
  const newEntries: number[] = [];
  let truncated = false;
  for (let k = 0; k < eligible.length; k++) {
    const ei = eligible[k]!;
    if (cachedMark[revisionIdOf[ei]!] === s) continue;
    if (newEntries.length === req.pageSize) {
      truncated = true;
      break;
    }
    newEntries.push(ei);
  }

  // Cached ids no longer delivered are out of scope; delivered ones changed since the
  // client's watermark come back as ChangedUpdates.
  const outOfScope: number[] = [];
  const changed: number[] = [];
  const watermark = req.watermark;
  const reportCached = (ids: readonly number[]): void => {
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      const ei = id > 0 && id < revCount && isCurrentRevision[id] ? entryOfRevision[id]! : -1;
      if (ei < 0 || !softwareDeliverable[ei]) outOfScope.push(id);
      else if (changeSeqOf[ei]! > watermark) changed.push(ei);
    }
  };
  reportCached(req.installedNonLeaf);
  reportCached(req.otherCached);

  return { newEntries, truncated, outOfScope: dedupe(outOfScope), changed: dedupe(changed) };
}

function dedupe(xs: number[]): number[] {
  return xs.length < 2 ? xs : [...new Set(xs)];
}

/** Prerequisite check against a client's installed non-leaf ids, for passes that do not need the fast marks. */
export function satisfiedBy(snap: CatalogSnapshot, installedNonLeaf: readonly number[]): (e: SnapshotEntry) => boolean {
  const installed = new Set<number>();
  for (const id of installedNonLeaf) {
    const ei = id > 0 && id < snap.entryOfRevision.length ? snap.entryOfRevision[id]! : -1;
    if (ei >= 0) installed.add(ei);
  }
  return (e) => !e.unsatisfiable && e.clauses.every((clause) => clause.some((m) => installed.has(m)));
}

// Up-to-date machines of the same image send identical scan requests (same installed and
// cached ids, same watermark), and after a rollout most of a fleet converges on a few such
// states. Their answer is the same, so it is kept per snapshot, keyed by a hash of the
// request and confirmed against the stored request before reuse.
interface PageMemo {
  hash: number;
  installed: readonly number[];
  other: readonly number[];
  watermark: number;
  pageSize: number;
  filterKey: string;
  page: ScanPage;
}
const PAGE_MEMO_SLOTS = 1024;
const pageMemo = new WeakMap<CatalogSnapshot, { slots: Array<PageMemo | undefined>; seen: Uint32Array }>();

// The request's own arrays are hashed and kept as they are: no per-request copies, so a
// stream of all-different requests does not churn native memory.
function hashRequest(req: SoftwareScanRequest): number {
  let h = Math.imul(0x811c9dc5 ^ req.installedNonLeaf.length, 0x01000193);
  h = Math.imul(h ^ req.watermark, 0x01000193);
  for (const id of req.installedNonLeaf) h = Math.imul(h ^ id, 0x01000193);
  h = Math.imul(h ^ req.otherCached.length, 0x01000193);
  for (const id of req.otherCached) h = Math.imul(h ^ id, 0x01000193);
  return h >>> 0;
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

export function scanSoftware(snap: CatalogSnapshot, req: SoftwareScanRequest): ScanPage {
  const hash = hashRequest(req);
  const filterKey = req.filterCategoryIds.join(',');
  let memo = pageMemo.get(snap);
  if (!memo) {
    memo = { slots: new Array<PageMemo | undefined>(PAGE_MEMO_SLOTS), seen: new Uint32Array(PAGE_MEMO_SLOTS) };
    pageMemo.set(snap, memo);
  }
  const slot = hash % PAGE_MEMO_SLOTS;
  const hit = memo.slots[slot];
  if (hit && hit.hash === hash && hit.watermark === req.watermark && hit.pageSize === req.pageSize && hit.filterKey === filterKey
    && sameIds(hit.installed, req.installedNonLeaf) && sameIds(hit.other, req.otherCached)) {
    return hit.page;
  }
  const page = computePage(snap, req);
  // Kept only on a request's second sighting: a stream of one-off requests then retains
  // nothing but a hash per slot, instead of pushing every request into the old generation.
  if (memo.seen[slot] === hash) {
    memo.slots[slot] = {
      hash, installed: req.installedNonLeaf, other: req.otherCached, watermark: req.watermark, pageSize: req.pageSize, filterKey, page,
    };
  } else {
    memo.seen[slot] = hash;
  }
  return page;
}
