import type { CatalogSnapshot, SnapshotEntry } from './catalog-snapshot.js';
import { deliveredEntry } from './catalog-snapshot.js';
import { relatedEntries } from './category-filter.js';

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

export function scanSoftware(snap: CatalogSnapshot, req: SoftwareScanRequest): ScanPage {
  const revCount = snap.entryOfRevision.length;
  ensureScratch(snap.entries.length, revCount);
  const s = stamp;
  for (const id of req.installedNonLeaf) {
    if (id > 0 && id < revCount) {
      cachedMark[id] = s;
      const ei = snap.entryOfRevision[id]!;
      if (ei >= 0) installedMark[ei] = s;
    }
  }
  for (const id of req.otherCached) if (id > 0 && id < revCount) cachedMark[id] = s;

  const filter = req.filterCategoryIds.length ? relatedEntries(snap, req.filterCategoryIds) : null;
  const candidates: SnapshotEntry[] = [];
  const consider = (ei: number): void => {
    if (visitedMark[ei] === s) return;
    visitedMark[ei] = s;
    const e = snap.entries[ei]!;
    if (!e.delivered || e.kind === 'Driver' || cachedMark[e.revisionId] === s) return;
    if (filter && !filter[ei]) return;
    if (satisfied(e, s)) candidates.push(e);
  };
  for (const r of snap.roots) consider(r);
  const seenInstalled = new Set<number>();
  for (const id of req.installedNonLeaf) {
    const ei = id > 0 && id < revCount ? snap.entryOfRevision[id]! : -1;
    if (ei < 0 || seenInstalled.has(ei)) continue;
    seenInstalled.add(ei);
    for (let k = snap.dependentsStart[ei]!; k < snap.dependentsStart[ei + 1]!; k++) consider(snap.dependents[k]!);
  }
  candidates.sort((a, b) => rank(a) - rank(b) || a.revisionId - b.revisionId);

  const outOfScope: number[] = [];
  const changed: number[] = [];
  const reportCached = (id: number): void => {
    const e = deliveredEntry(snap, id);
    if (!e || e.kind === 'Driver') outOfScope.push(id);
    else if (e.changeSeq > req.watermark) changed.push(e.index);
  };
  for (const id of req.installedNonLeaf) reportCached(id);
  for (const id of req.otherCached) reportCached(id);

  return {
    newEntries: candidates.slice(0, req.pageSize).map((e) => e.index),
    truncated: candidates.length > req.pageSize,
    outOfScope: dedupe(outOfScope),
    changed: dedupe(changed),
  };
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
