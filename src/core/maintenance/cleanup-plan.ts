// What cleanup may remove, decided from plain rows (pure; the clock is a parameter).
//
// Unused revisions. A revision row may go when ALL hold:
//   1. it is not its update's current revision (clients are only ever offered the current one);
//   2. no stored revision's BundledUpdates names it (bundles pin the exact member revision, and
//      the upstream role hands those exact revisions to downstream servers);
//   3. its update's current revision arrived at least `unusedRevisionDays` ago.
// A client that cached a removed revision id gets it back as OutOfScope — exactly what it gets
// for any non-current revision already — and takes the current revision in the same scan. What
// changes is only that an old revision id the client reports as an installed non-leaf item no
// longer satisfies prerequisites until the client re-evaluates the current revision (its next
// scan round); rule 3 keeps that window in the past for clients that scan at all.
//
// Unneeded content. A file is needed when a needed revision lists it:
//   - the current revision of an update that is neither declined nor expired, unless the update
//     is only a bundle member (not explicitly deployable and named by some bundle);
//   - the member revisions such a revision bundles (the exact revision named, and the member's
//     current one: what the sync's "approved" content mode downloads).
// Every other referenced file (declined, expired, old revisions, members of dead bundles) is
// unneeded; the content store deletes it after its orphan grace period, like an orphan.

export interface RevisionRef {
  id: number;
  updateId: string;
  revisionNumber: number;
  isCurrent: boolean;
  /** ingested_at of the update's current revision (ISO) */
  currentSince: string;
}

export const pinKey = (updateId: string, revisionNumber: number): string => `${updateId.toLowerCase()}:${revisionNumber}`;

export function selectUnusedRevisions(rows: Iterable<RevisionRef>, pinned: ReadonlySet<string>, now: Date, unusedRevisionDays: number): RevisionRef[] {
  const cutoff = now.getTime() - unusedRevisionDays * 86_400_000;
  const out: RevisionRef[] = [];
  for (const r of rows) {
    if (r.isCurrent || pinned.has(pinKey(r.updateId, r.revisionNumber))) continue;
    if (Date.parse(r.currentSince) > cutoff) continue;
    out.push(r);
  }
  return out;
}

export interface ContentRevision {
  id: number;
  updateId: string;
  revisionNumber: number;
  isCurrent: boolean;
  declined: boolean;
  /** the update's current revision is Expired */
  expired: boolean;
  explicitlyDeployable: boolean;
  bundled: ReadonlyArray<{ updateId: string; revisionNumber: number }>;
}

/** Ids of the revisions whose files are needed. `assumeDeclined`: updates a dry run would decline. */
export function neededRevisionIds(revisions: readonly ContentRevision[], assumeDeclined: ReadonlySet<string> = new Set()): Set<number> {
  const byKey = new Map<string, number>();
  const currentOf = new Map<string, ContentRevision>();
  const members = new Set<string>();
  for (const r of revisions) {
    byKey.set(pinKey(r.updateId, r.revisionNumber), r.id);
    if (r.isCurrent) currentOf.set(r.updateId.toLowerCase(), r);
    for (const b of r.bundled) members.add(b.updateId.toLowerCase());
  }
  const needed = new Set<number>();
  for (const r of currentOf.values()) {
    const id = r.updateId.toLowerCase();
    if (r.declined || r.expired || assumeDeclined.has(id)) continue;
    if (!r.explicitlyDeployable && members.has(id)) continue; // follows its bundles, below
    needed.add(r.id);
    for (const b of r.bundled) {
      const exact = byKey.get(pinKey(b.updateId, b.revisionNumber));
      if (exact !== undefined) needed.add(exact);
      const cur = currentOf.get(b.updateId.toLowerCase());
      if (cur) needed.add(cur.id);
    }
  }
  return needed;
}

/** Digests referenced by `files` rows whose revisions are all unneeded. */
export function unneededDigests(files: Iterable<{ revisionId: number; sha1Hex: string }>, needed: ReadonlySet<number>): Set<string> {
  const referenced = new Set<string>();
  const keep = new Set<string>();
  for (const f of files) {
    referenced.add(f.sha1Hex);
    if (needed.has(f.revisionId)) keep.add(f.sha1Hex);
  }
  for (const k of keep) referenced.delete(k);
  return referenced;
}
