import type { DriverInfo, PrerequisiteClause, UpdateIdentity } from '../catalog/update-model.js';

// An immutable, index-based view of the deliverable catalog, built once per catalog
// generation. Every scan request works on dense integer indexes into these arrays; nothing
// here is recomputed per request.

export type EntryKind = 'Category' | 'Detectoid' | 'Software' | 'Driver';

export interface SnapshotInput {
  updateId: string;
  updateType: string;
  revisionId: number;
  revisionNumber: number;
  categoryType: string | null;
  publicationState: string;
  declined: boolean;
  isLeaf: boolean;
  prerequisites: PrerequisiteClause[];
  bundledUpdates: UpdateIdentity[];
  driver: DriverInfo | null;
  implicitDeploymentId: number;
  /** max of the revision's own change and its update's deployment change */
  changeSeq: number;
  /** ISO time of the last change to this revision's implicit deployment */
  changedAt: string;
  /** the revision's own change (ingest, IsLeaf flip) without deployment changes; defaults to changeSeq */
  revisionChangeSeq?: number;
  revisionChangedAt?: string;
}

/** What approvals and declines change, per update: applied without rebuilding the catalog part. */
export interface DeploymentState {
  declined: boolean;
  changeSeq: number;
  changedAt: string;
}

export interface SnapshotEntry {
  index: number;
  updateId: string;
  revisionId: number;
  revisionNumber: number;
  kind: EntryKind;
  categoryType: string | null;
  isLeaf: boolean;
  isBundle: boolean;
  /** contained in a delivered bundle: delivered with Action=Bundle */
  isBundleChild: boolean;
  delivered: boolean;
  /** CNF over entry indexes; an unknown prerequisite makes `unsatisfiable` true */
  clauses: Int32Array[];
  unsatisfiable: boolean;
  categoryParents: Int32Array;
  bundleChildren: Int32Array;
  driver: DriverInfo | null;
  implicitDeploymentId: number;
  changeSeq: number;
  changedDate: string;
  expired: boolean;
  declined: boolean;
  revisionChangeSeq: number;
  revisionChangedAt: string;
}

export interface CatalogSnapshot {
  generation: number;
  entries: SnapshotEntry[];
  byUpdateId: Map<string, number>;
  /** any revision id ever issued -> entry index of its update (old revisions map to their update) */
  entryOfRevision: Int32Array;
  /** revision id -> true when it is the current revision of its update */
  isCurrentRevision: Uint8Array;
  roots: Int32Array;
  /** entry index -> entries whose most selective prerequisite clause names it (CSR layout) */
  dependentsStart: Int32Array;
  dependents: Int32Array;
  /** entry index -> entries that list it as an IsCategory prerequisite */
  categoryChildren: Int32Array[];
  driverEntries: Int32Array;
  /** per entry, flat copies of the fields the per-request loops read (no object hops) */
  revisionIdOf: Int32Array;
  changeSeqOf: Float64Array;
  /** 1 = delivered software/category/detectoid (what the software pass may hand out) */
  softwareDeliverable: Uint8Array;
  /** highest change sequence covered by this snapshot: the ChangedUpdates watermark */
  changeSeqHigh: number;
  /** memo of related-entry sets per FilterCategoryIds key */
  filterCache: Map<string, Uint8Array>;
}

const KINDS: ReadonlySet<string> = new Set(['Category', 'Detectoid', 'Software', 'Driver']);

export function buildSnapshot(
  rows: readonly SnapshotInput[],
  allRevisions: ReadonlyArray<{ id: number; updateId: string }>,
  generation: number,
  changeSeqHigh: number,
): CatalogSnapshot {
  const byUpdateId = new Map<string, number>();
  rows.forEach((r, i) => byUpdateId.set(r.updateId, i));
  const entries: SnapshotEntry[] = rows.map((r, index) => {
    const clauses: Int32Array[] = [];
    let unsatisfiable = false;
    const categoryParents: number[] = [];
    for (const c of r.prerequisites) {
      const members = c.updateIds.map((id) => byUpdateId.get(id.toLowerCase()) ?? -1).filter((m) => m >= 0);
      if (members.length === 0) unsatisfiable = true;
      clauses.push(Int32Array.from(members));
      if (c.isCategory) categoryParents.push(...members);
    }
    const bundleChildren = r.bundledUpdates
      .map((b) => byUpdateId.get(b.updateId.toLowerCase()) ?? -1)
      .filter((m) => m >= 0);
    return {
      index,
      updateId: r.updateId,
      revisionId: r.revisionId,
      revisionNumber: r.revisionNumber,
      kind: (KINDS.has(r.updateType) ? r.updateType : 'Software') as EntryKind,
      categoryType: r.categoryType,
      isLeaf: r.isLeaf,
      isBundle: r.bundledUpdates.length > 0,
      isBundleChild: false,
      delivered: !r.declined && r.publicationState !== 'Expired',
      expired: r.publicationState === 'Expired',
      declined: r.declined,
      revisionChangeSeq: r.revisionChangeSeq ?? r.changeSeq,
      revisionChangedAt: r.revisionChangedAt ?? r.changedAt,
      clauses,
      unsatisfiable,
      categoryParents: Int32Array.from(categoryParents),
      bundleChildren: Int32Array.from(bundleChildren),
      driver: r.driver,
      implicitDeploymentId: r.implicitDeploymentId,
      changeSeq: r.changeSeq,
      changedDate: r.changedAt.slice(0, 10),
    };
  });

  resolveBundleMembership(entries);

  let maxRev = 0;
  for (const r of allRevisions) maxRev = Math.max(maxRev, r.id);
  const entryOfRevision = new Int32Array(maxRev + 1).fill(-1);
  const isCurrentRevision = new Uint8Array(maxRev + 1);
  for (const r of allRevisions) entryOfRevision[r.id] = byUpdateId.get(r.updateId) ?? -1;
  for (const e of entries) isCurrentRevision[e.revisionId] = 1;

  // An entry can only be offered when every clause holds, so it is enough to reach it through
  // one clause: the most selective one (members named by the fewest clauses catalog-wide). Had
  // it been the first clause, a classification listed first would make every delta scan walk
  // nearly the whole catalog.
  const popularity = new Int32Array(entries.length);
  for (const e of entries) for (const c of e.clauses) for (const m of c) popularity[m]!++;
  const watched = entries.map((e) => {
    let best = -1;
    let bestCost = Infinity;
    e.clauses.forEach((c, k) => {
      let cost = 0;
      for (const m of c) cost += popularity[m]!;
      if (cost < bestCost) {
        bestCost = cost;
        best = k;
      }
    });
    return best < 0 ? null : e.clauses[best]!;
  });

  const roots: number[] = [];
  const counts = new Int32Array(entries.length + 1);
  const categoryChildren: number[][] = entries.map(() => []);
  const drivers: number[] = [];
  for (const e of entries) {
    if (e.clauses.length === 0) roots.push(e.index);
    else if (!e.unsatisfiable) for (const m of watched[e.index]!) counts[m + 1]!++;
    for (const p of e.categoryParents) categoryChildren[p]!.push(e.index);
    if (e.kind === 'Driver') drivers.push(e.index);
  }
  for (let i = 1; i < counts.length; i++) counts[i]! += counts[i - 1]!;
  const dependentsStart = counts.slice();
  const dependents = new Int32Array(counts[entries.length]!);
  const fill = counts.slice();
  for (const e of entries) {
    if (e.clauses.length === 0 || e.unsatisfiable) continue;
    for (const m of watched[e.index]!) dependents[fill[m]!++] = e.index;
  }

  return {
    generation,
    ...deliveryArrays(entries),
    byUpdateId,
    entryOfRevision,
    isCurrentRevision,
    roots: Int32Array.from(roots),
    dependentsStart,
    dependents,
    categoryChildren: categoryChildren.map((c) => Int32Array.from(c)),
    driverEntries: Int32Array.from(drivers),
    changeSeqHigh,
    filterCache: new Map(),
  };
}

/** Entry of a revision id only when that id is the current, delivered revision. */
export function deliveredEntry(s: CatalogSnapshot, revisionId: number): SnapshotEntry | undefined {
  if (revisionId <= 0 || revisionId >= s.isCurrentRevision.length || !s.isCurrentRevision[revisionId]) return undefined;
  const e = s.entries[s.entryOfRevision[revisionId]!];
  return e && e.delivered ? e : undefined;
}

// A bundle child exists for clients only through a bundle they can see.
function resolveBundleMembership(entries: SnapshotEntry[]): void {
  const bundledBy = new Int32Array(entries.length);
  const bundledByDelivered = new Int32Array(entries.length);
  for (const e of entries) {
    for (const c of e.bundleChildren) {
      bundledBy[c]!++;
      if (e.delivered) bundledByDelivered[c]!++;
    }
  }
  for (const e of entries) {
    if (bundledBy[e.index]! > 0) {
      e.isBundleChild = bundledByDelivered[e.index]! > 0;
      if (!e.isBundleChild) e.delivered = false;
    }
  }
}

function deliveryArrays(entries: SnapshotEntry[]): Pick<CatalogSnapshot, 'entries' | 'revisionIdOf' | 'changeSeqOf' | 'softwareDeliverable'> {
  return {
    entries,
    revisionIdOf: Int32Array.from(entries, (e) => e.revisionId),
    changeSeqOf: Float64Array.from(entries, (e) => e.changeSeq),
    softwareDeliverable: Uint8Array.from(entries, (e) => (e.delivered && e.kind !== 'Driver' ? 1 : 0)),
  };
}

/**
 * A new snapshot for changed approvals or declines: the catalog part (prerequisite indexes,
 * dependents, revision maps) is shared with `prev`; only the per-entry deployment fields are
 * recomputed. An approval then costs milliseconds instead of a full catalog load.
 */
export function applyDeploymentStates(
  prev: CatalogSnapshot,
  states: ReadonlyMap<string, DeploymentState>,
  changeSeqHigh: number,
): CatalogSnapshot {
  const entries = prev.entries.map((e): SnapshotEntry => {
    const st = states.get(e.updateId);
    const declined = st ? st.declined : e.declined;
    const depSeq = st ? st.changeSeq : 0;
    const depAt = st ? st.changedAt : '';
    return {
      ...e,
      declined,
      delivered: !declined && !e.expired,
      isBundleChild: false,
      changeSeq: Math.max(e.revisionChangeSeq, depSeq),
      changedDate: (depAt > e.revisionChangedAt ? depAt : e.revisionChangedAt).slice(0, 10),
    };
  });
  resolveBundleMembership(entries);
  return { ...prev, ...deliveryArrays(entries), changeSeqHigh, filterCache: new Map() };
}
