import type { ContentRevision } from '../../core/maintenance/cleanup-plan.js';
import type { MaintenanceStore, RuleCandidateRow } from '../../store/maintenance.store.js';

// Whole-catalog reads of maintenance, a page at a time with a yield between pages: a 50,000-
// revision catalog is read in ~25 slices of a few tens of milliseconds instead of one second
// during which no client request is answered.

export const READ_PAGE = 500;

type Pause = () => Promise<void>;

/** Every rule candidate, with its approvals and since when a live update supersedes it. */
export async function readRuleCandidates(store: MaintenanceStore, pause: Pause, page = READ_PAGE): Promise<RuleCandidateRow[]> {
  const superseded = new Map<string, string>();
  const maxPk = store.maxUpdatePk();
  for (let after = 0; after < maxPk; after += page) {
    for (const r of store.supersededPage(after, after + page)) {
      const cur = superseded.get(r.superseded);
      if (cur === undefined || r.since < cur) superseded.set(r.superseded, r.since);
    }
    await pause();
  }
  const approvals = store.approvals();
  const out: RuleCandidateRow[] = [];
  for (let after = 0; ;) {
    const rows = store.candidatePage(after, page);
    if (!rows.length) break;
    for (const c of rows) {
      const a = approvals.get(c.updateId);
      if (a) {
        c.approvedGroups = a.groups;
        c.lastApprovedAt = a.last;
      }
      c.supersededSince = superseded.get(c.updateId) ?? null;
      out.push(c);
    }
    after = rows[rows.length - 1]!.updatePk;
    await pause();
  }
  return out;
}

/** `updateid:revision` pinned by BundledUpdates of revisions with id > afterId (0: all). */
export async function readPinned(store: MaintenanceStore, pause: Pause, afterId = 0, page = READ_PAGE): Promise<Set<string>> {
  const out = new Set<string>();
  for (let after = afterId; ;) {
    const p = store.pinnedPage(after, page);
    if (p.last < 0) break;
    for (const k of p.keys) out.add(k);
    after = p.last;
    await pause();
  }
  return out;
}

export async function readContentRevisions(store: MaintenanceStore, pause: Pause, page = READ_PAGE): Promise<ContentRevision[]> {
  const out: ContentRevision[] = [];
  for (let after = 0; ;) {
    const rows = store.contentRevisionPage(after, page);
    if (!rows.length) break;
    out.push(...rows);
    after = rows[rows.length - 1]!.id;
    await pause();
  }
  return out;
}

export async function readFileReferences(store: MaintenanceStore, pause: Pause, page = READ_PAGE * 2): Promise<Array<{ revisionId: number; sha1Hex: string }>> {
  const out: Array<{ revisionId: number; sha1Hex: string }> = [];
  const max = store.maxRevisionId();
  for (let after = 0; after < max; after += page) {
    out.push(...store.fileReferencePage(after, after + page));
    await pause();
  }
  return out;
}
