import type { Db } from './database.js';
import { nextCounter, readCounter } from './server-identity.store.js';
import { APPROVED_REVISIONS } from './sync-catalog.store.js';

// SQL of export/import packages: what an export reads (current revisions and their documents,
// targeting, present content) and the little an import writes besides the catalog, targeting
// and content stores it goes through (groups with a given GUID, resumable progress in `meta`).

export interface RevisionRef {
  revisionId: number;
  updateId: string;
  revisionNumber: number;
}

export interface ExportedApproval {
  updateId: string;
  groupId: string;
  action: 'Install' | 'Uninstall';
  deadline: string | null;
  approvedBy: string;
}

// Same rule as the content phase of the sync: the approved updates' current revisions plus the
// bundle members they name.
const APPROVED_DIGESTS = `WITH ${APPROVED_REVISIONS}
  SELECT DISTINCT f.sha1_hex AS sha1Hex FROM files f JOIN wanted w ON w.rid = f.revision_id ORDER BY f.sha1_hex`;

export function createTransferStore(db: Db) {
  const revisionRefs = db.prepare<{ anchor: number | null; date: string | null }, RevisionRef>(
    `SELECT r.id AS revisionId, u.update_id AS updateId, r.revision_number AS revisionNumber
       FROM updates u JOIN revisions r ON r.id = u.current_revision_id
      WHERE (@anchor IS NULL OR r.change_seq > @anchor) AND (@date IS NULL OR r.ingested_at >= @date)
      ORDER BY r.id`,
  );
  const documentQ = db.prepare<[number], { document: string }>('SELECT document FROM revisions WHERE id = ?');
  const groupsQ = db.prepare<[], { id: string; name: string; parent_id: string | null; builtin: number }>(
    'SELECT id, name, parent_id, builtin FROM target_groups ORDER BY created_at, id',
  );
  const approvalsQ = db.prepare<[], { update_id: string; group_id: string; action: 'Install' | 'Uninstall'; deadline: string | null; approved_by: string }>(
    `SELECT u.update_id, a.group_id, a.action, a.deadline, a.approved_by
       FROM approvals a JOIN updates u ON u.id = a.update_pk ORDER BY u.update_id, a.group_id`,
  );
  const updatesQ = db.prepare<[], { update_id: string; declined: number }>(
    'SELECT update_id, declined FROM updates WHERE current_revision_id IS NOT NULL',
  );
  const approvedDigestsQ = db.prepare<[], { sha1Hex: string }>(APPROVED_DIGESTS);
  const presentQ = db.prepare<[], { sha1Hex: string }>("SELECT sha1_hex AS sha1Hex FROM content WHERE state = 'present' ORDER BY sha1_hex");
  const insertGroup = db.prepare('INSERT INTO target_groups (id, name, parent_id, builtin, created_at) VALUES (?, ?, ?, 0, ?)');
  const setGroup = db.prepare('UPDATE target_groups SET name = ?, parent_id = ? WHERE id = ? AND builtin = 0');
  const metaGet = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
  const metaPut = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  const countQ = (table: string) => db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`);
  const counts = {
    updates: countQ('updates'), revisions: countQ('revisions'), approvals: countQ('approvals'),
    groups: countQ('target_groups'), content: countQ('content'), files: countQ('files'),
  };
  const declinedCountQ = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM updates WHERE declined = 1');

  return {
    /** the change sequence now: a later `--since <anchor>` export takes what changed after it */
    anchor(): number {
      return readCounter(db, 'change_seq');
    },
    /** current revisions, all or those changed after an anchor / ingested since a date, in ingest order */
    currentRevisions(since: { anchor: number } | { date: string } | null): RevisionRef[] {
      return revisionRefs.all({
        anchor: since && 'anchor' in since ? since.anchor : null,
        date: since && 'date' in since ? since.date : null,
      });
    },
    document(revisionId: number): string | undefined {
      return documentQ.get(revisionId)?.document;
    },
    groups(): Array<{ id: string; name: string; parentId: string | null; builtin: boolean }> {
      return groupsQ.all().map((g) => ({ id: g.id, name: g.name, parentId: g.parent_id, builtin: g.builtin === 1 }));
    },
    approvals(): ExportedApproval[] {
      return approvalsQ.all().map((a) => ({ updateId: a.update_id, groupId: a.group_id, action: a.action, deadline: a.deadline, approvedBy: a.approved_by }));
    },
    updateStates(): Map<string, { declined: boolean }> {
      return new Map(updatesQ.all().map((u) => [u.update_id, { declined: u.declined === 1 }]));
    },
    approvedDigests(): string[] {
      return approvedDigestsQ.all().map((r) => r.sha1Hex);
    },
    presentDigests(): string[] {
      return presentQ.all().map((r) => r.sha1Hex);
    },
    /** A group with the source's GUID. Groups shape deployments: bumps change_seq like createGroup. */
    createGroup(id: string, name: string, parentId: string, now: Date): void {
      db.transaction(() => {
        insertGroup.run(id, name, parentId, now.toISOString());
        nextCounter(db, 'change_seq');
      }).immediate();
    },
    updateGroup(id: string, name: string, parentId: string): void {
      db.transaction(() => {
        setGroup.run(name, parentId, id);
        nextCounter(db, 'change_seq');
      }).immediate();
    },
    getMeta(key: string): string | undefined {
      return metaGet.get(key)?.value;
    },
    putMeta(key: string, value: string): void {
      metaPut.run(key, value);
    },
    /** row counts an import must leave alone when it refuses a package (tests, dry checks) */
    figures(): Record<'updates' | 'revisions' | 'approvals' | 'groups' | 'content' | 'files' | 'declined', number> {
      return {
        updates: counts.updates.get()!.n, revisions: counts.revisions.get()!.n, approvals: counts.approvals.get()!.n,
        groups: counts.groups.get()!.n, content: counts.content.get()!.n, files: counts.files.get()!.n,
        declined: declinedCountQ.get()!.n,
      };
    },
  };
}

export type TransferStore = ReturnType<typeof createTransferStore>;
