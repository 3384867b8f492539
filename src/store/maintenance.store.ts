import type { Db } from './database.js';
import type { UpdateCandidate } from '../core/maintenance/rule-matching.js';
import type { ContentRevision, RevisionRef } from '../core/maintenance/cleanup-plan.js';
import { nextCounter, readCounter } from './server-identity.store.js';

// The reads and deletes of automatic maintenance: rule candidates (one row per update with its
// current revision), supersedence and "needed" signals, old revisions, obsolete computers,
// and the file references the content cleanup judges. Approvals and declines are NOT written
// here: they go through the targeting store (tombstones, change_seq).
//
// Whole-catalog reads come in pages keyed by primary key (`after`, `limit`): revision rows are
// wide (they carry the documents), and a caller that yields between pages keeps client scans
// flowing while it reads 50,000 of them.

/** WSUS UpdateInstallationState values a downstream rollup reports for a computer that still needs an update. */
const NEEDED_ROLLUP_STATES = '2, 3, 5, 6'; // NotInstalled, Downloaded, Failed, InstalledPendingReboot

export type RuleCandidateRow = UpdateCandidate & { updatePk: number; revisionId: number };

interface CandidateRaw {
  pk: number;
  update_id: string;
  declined: number;
  update_type: string;
  title: string;
  publication_state: string;
  explicitly_deployable: number;
  kb_article_ids: string;
  bundled_updates: string;
  change_seq: number;
  revision_id: number;
}

export interface ObsoleteComputer {
  clientId: string;
  dnsName: string;
  lastContact: string;
}

const LAST_CONTACT = "max(registered_at, COALESCE(last_sync_at, ''), COALESCE(last_report_at, ''))";

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

export function createMaintenanceStore(db: Db) {
  const candidatesQ = db.prepare<[number, number], CandidateRaw>(
    `SELECT u.id AS pk, u.update_id, u.declined, r.id AS revision_id, r.update_type, r.title, r.publication_state,
            r.explicitly_deployable, r.kb_article_ids, r.bundled_updates, r.change_seq
       FROM updates u JOIN revisions r ON r.id = u.current_revision_id
      WHERE u.id > ? AND r.update_type IN ('Software', 'Driver') AND r.explicitly_deployable = 1
      ORDER BY u.id LIMIT ?`,
  );
  const categoriesOfQ = db.prepare<[number, number], { pk: number; category_update_id: string }>(
    `SELECT u.id AS pk, rc.category_update_id
       FROM updates u JOIN revision_categories rc ON rc.revision_id = u.current_revision_id WHERE u.id > ? AND u.id <= ?`,
  );
  const categoryParentsQ = db.prepare<[], { update_id: string; parent: string }>(
    `SELECT u.update_id, rc.category_update_id AS parent
       FROM updates u JOIN revision_categories rc ON rc.revision_id = u.current_revision_id
      WHERE u.update_type = 'Category'`,
  );
  const approvalsQ = db.prepare<[], { update_id: string; group_id: string; approved_at: string }>(
    'SELECT u.update_id, a.group_id, a.approved_at FROM approvals a JOIN updates u ON u.id = a.update_pk',
  );
  // X is superseded while the CURRENT revision of a live update S (not declined, not expired)
  // lists it; since = the first revision of S that listed it (supersedence can change between
  // revisions). Paged by S.
  const supersededQ = db.prepare<[number, number], { superseded: string; since: string }>(
    `WITH live AS (
       SELECT s.id AS spk, lower(j.value) AS x
         FROM updates s JOIN revisions cur ON cur.id = s.current_revision_id, json_each(cur.superseded_update_ids) j
        WHERE s.id > ? AND s.id <= ? AND s.declined = 0 AND cur.publication_state <> 'Expired' AND lower(j.value) <> s.update_id)
     SELECT live.x AS superseded, min(r0.ingested_at) AS since
       FROM live JOIN revisions r0 ON r0.update_pk = live.spk
      WHERE EXISTS (SELECT 1 FROM json_each(r0.superseded_update_ids) k WHERE lower(k.value) = live.x)
      GROUP BY live.x`,
  );
  const maxUpdatePkQ = db.prepare<[], { n: number | null }>('SELECT max(id) AS n FROM updates');
  const lastEventQ = db.prepare<[string], { at: string | null }>('SELECT max(received_at) AS at FROM events WHERE update_id = ?');
  const rollupNeededQ = db.prepare<[string], { one: number }>(
    `SELECT 1 AS one FROM rollup_update_status WHERE update_id = ? AND state IN (${NEEDED_ROLLUP_STATES}) LIMIT 1`,
  );
  const documentQ = db.prepare<[number], { document: string }>('SELECT document FROM revisions WHERE id = ?');

  const oldRevisionsQ = db.prepare<[], { id: number; update_id: string; revision_number: number; current_since: string }>(
    `SELECT r.id, u.update_id, r.revision_number, cur.ingested_at AS current_since
       FROM revisions r JOIN updates u ON u.id = r.update_pk JOIN revisions cur ON cur.id = u.current_revision_id
      WHERE r.id <> u.current_revision_id`,
  );
  const bundlesQ = db.prepare<[number, number], { id: number; bundled_updates: string }>(
    "SELECT id, bundled_updates FROM revisions WHERE id > ? AND bundled_updates <> '[]' ORDER BY id LIMIT ?",
  );
  const deleteRevisionQ = db.prepare(
    `DELETE FROM revisions WHERE id = ?
        AND NOT EXISTS (SELECT 1 FROM updates u WHERE u.current_revision_id = revisions.id)`,
  );

  const obsoleteQ = db.prepare<[string, number], { client_id: string; dns_name: string; last_contact: string }>(
    `SELECT client_id, dns_name, ${LAST_CONTACT} AS last_contact FROM computers
      WHERE ${LAST_CONTACT} < ? ORDER BY last_contact, client_id LIMIT ?`,
  );
  const obsoleteCountQ = db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM computers WHERE ${LAST_CONTACT} < ?`);
  const deleteComputerQ = db.prepare(`DELETE FROM computers WHERE client_id = ? AND ${LAST_CONTACT} < ?`);
  const deleteEventsQ = db.prepare(
    'DELETE FROM events WHERE event_instance_id IN (SELECT event_instance_id FROM events WHERE client_id = ? LIMIT ?)',
  );
  const nextEventClientQ = db.prepare<[string], { client_id: string }>('SELECT client_id FROM events WHERE client_id > ? ORDER BY client_id LIMIT 1');
  const hasComputerQ = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM computers WHERE client_id = ?');

  const contentRevisionsQ = db.prepare<[number, number], {
    id: number; update_id: string; revision_number: number; is_current: number; declined: number; expired: number;
    explicitly_deployable: number; bundled_updates: string;
  }>(
    `SELECT r.id, u.update_id, r.revision_number, (u.current_revision_id = r.id) AS is_current, u.declined,
            COALESCE(cur.publication_state = 'Expired', 0) AS expired, r.explicitly_deployable, r.bundled_updates
       FROM revisions r JOIN updates u ON u.id = r.update_pk LEFT JOIN revisions cur ON cur.id = u.current_revision_id
      WHERE r.id > ? ORDER BY r.id LIMIT ?`,
  );
  const filesQ = db.prepare<[number, number], { revisionId: number; sha1Hex: string }>(
    'SELECT revision_id AS revisionId, sha1_hex AS sha1Hex FROM files WHERE revision_id > ? AND revision_id <= ?',
  );
  const maxRevisionIdQ = db.prepare<[], { n: number | null }>('SELECT max(id) AS n FROM revisions');

  return {
    /** change_seq now: the watermark a rules run records. */
    changeSeq(): number {
      return readCounter(db, 'change_seq');
    },
    maxUpdatePk(): number {
      return maxUpdatePkQ.get()?.n ?? 0;
    },
    maxRevisionId(): number {
      return maxRevisionIdQ.get()?.n ?? 0;
    },

    /**
     * Explicitly deployable software updates and drivers with `pk > after` (ascending, at most
     * `limit`), with their categories and everything the rules look at except approvals,
     * supersedence, Processor rules and "needed" (see the other reads).
     */
    candidatePage(after: number, limit: number): RuleCandidateRow[] {
      const rows = candidatesQ.all(after, limit);
      if (!rows.length) return [];
      const cats = new Map<number, string[]>();
      for (const r of categoriesOfQ.all(after, rows[rows.length - 1]!.pk)) push(cats, r.pk, r.category_update_id);
      return rows.map((r) => ({
        updatePk: r.pk,
        updateId: r.update_id,
        revisionId: r.revision_id,
        title: r.title,
        updateType: r.update_type,
        explicitlyDeployable: r.explicitly_deployable === 1,
        declined: r.declined === 1,
        expired: r.publication_state === 'Expired',
        categories: cats.get(r.pk) ?? [],
        kbArticleIds: JSON.parse(r.kb_article_ids) as string[],
        bundled: (JSON.parse(r.bundled_updates) as Array<{ updateId: string }>).map((b) => b.updateId.toLowerCase()),
        changeSeq: r.change_seq,
        approvedGroups: new Set<string>(),
        lastApprovedAt: null,
        supersededSince: null,
        lastNeededAt: null,
      }));
    },

    /** update id → the groups it is approved for and the newest approval time */
    approvals(): Map<string, { groups: Set<string>; last: string }> {
      const out = new Map<string, { groups: Set<string>; last: string }>();
      for (const a of approvalsQ.all()) {
        const e = out.get(a.update_id);
        if (!e) out.set(a.update_id, { groups: new Set([a.group_id]), last: a.approved_at });
        else {
          e.groups.add(a.group_id);
          if (a.approved_at > e.last) e.last = a.approved_at;
        }
      }
      return out;
    },

    /** Superseded update id → since when, for superseding updates with `after < pk <= upTo` (merge pages with min). */
    supersededPage(after: number, upTo: number): Array<{ superseded: string; since: string }> {
      return supersededQ.all(after, upTo);
    },

    /** category id → its parent categories (product → family → company) */
    categoryParents(): Map<string, string[]> {
      const out = new Map<string, string[]>();
      for (const r of categoryParentsQ.all()) push(out, r.update_id, r.parent);
      return out;
    },

      /**
     * When the update was last needed, as far as history tells (what computers need now is the
     * status index's answer): `now` while a downstream server's rollup reports a computer in a
     * needing state, else the newest client event about the update (download, install,
     * failure… any event naming it). Null when nothing says so.
     */
    lastNeededAt(updateId: string, now: Date): string | null {
      if (rollupNeededQ.get(updateId)) return now.toISOString();
      return lastEventQ.get(updateId)?.at ?? null;
    },

    documentOf(revisionId: number): string | undefined {
      return documentQ.get(revisionId)?.document;
    },

    oldRevisions(): RevisionRef[] {
      return oldRevisionsQ.all().map((r) => ({ id: r.id, updateId: r.update_id, revisionNumber: r.revision_number, isCurrent: false, currentSince: r.current_since }));
    },
    /**
     * `updateid:revision` named by BundledUpdates of revisions with id > `after`, a page of bundle
     * revisions at a time; `last` is where the next page starts (-1: done). Revision ids only
     * grow (AUTOINCREMENT), so "bundles stored since id N" is `after = N`.
     */
    pinnedPage(after: number, limit: number): { keys: string[]; last: number } {
      const rows = bundlesQ.all(after, limit);
      const keys: string[] = [];
      for (const r of rows) {
        for (const b of JSON.parse(r.bundled_updates) as Array<{ updateId: string; revisionNumber: number }>) keys.push(`${b.updateId.toLowerCase()}:${b.revisionNumber}`);
      }
      return { keys, last: rows.length ? rows[rows.length - 1]!.id : -1 };
    },
    /**
     * Deletes old revision rows (files, fragments, categories cascade) in one transaction and
     * bumps the catalog generation, so running servers rebuild their revision-id maps. A row
     * that became current meanwhile is kept.
     */
    deleteRevisions(ids: readonly number[]): number {
      return db.transaction(() => {
        let n = 0;
        for (const id of ids) n += deleteRevisionQ.run(id).changes;
        if (n) nextCounter(db, 'catalog_generation');
        return n;
      }).immediate();
    },

    obsoleteComputers(before: Date, limit: number): ObsoleteComputer[] {
      return obsoleteQ.all(before.toISOString(), limit).map((r) => ({ clientId: r.client_id, dnsName: r.dns_name, lastContact: r.last_contact }));
    },
    obsoleteComputerCount(before: Date): number {
      return obsoleteCountQ.get(before.toISOString())!.n;
    },
    /** Deletes the computers still without contact since `before`; returns the ids deleted. */
    deleteComputers(clientIds: readonly string[], before: Date): string[] {
      return db.transaction(() => clientIds.filter((id) => deleteComputerQ.run(id, before.toISOString()).changes > 0)).immediate();
    },
    /**
     * Client ids after `after` (at most `limit` looked at, one index seek each) that have events
     * but no computer: left by a cleanup that stopped between deleting computers and their events.
     * `next` is where to go on, null at the end.
     */
    eventsWithoutComputer(after: string, limit: number): { ids: string[]; next: string | null } {
      const ids: string[] = [];
      let cursor = after;
      for (let seen = 0; seen < limit; seen++) {
        const r = nextEventClientQ.get(cursor);
        if (!r) return { ids, next: null };
        cursor = r.client_id;
        if (!hasComputerQ.get(cursor)) ids.push(cursor);
      }
      return { ids, next: cursor };
    },
    /** Deletes up to `limit` events of a (deleted) computer; call until it returns 0. */
    deleteEventsOf(clientId: string, limit: number): number {
      return db.transaction(() => deleteEventsQ.run(clientId, limit).changes).immediate();
    },

    /** Revisions with id > `after`, ascending, at most `limit`: what the content judgement needs. */
    contentRevisionPage(after: number, limit: number): ContentRevision[] {
      return contentRevisionsQ.all(after, limit).map((r) => ({
        id: r.id, updateId: r.update_id, revisionNumber: r.revision_number, isCurrent: r.is_current === 1, declined: r.declined === 1,
        expired: r.expired === 1, explicitlyDeployable: r.explicitly_deployable === 1,
        bundled: (JSON.parse(r.bundled_updates) as Array<{ updateId: string; revisionNumber: number }>),
      }));
    },
    /** File references of revisions with `after < id <= upTo`. */
    fileReferencePage(after: number, upTo: number): Array<{ revisionId: number; sha1Hex: string }> {
      return filesQ.all(after, upTo);
    },
  };
}

export type MaintenanceStore = ReturnType<typeof createMaintenanceStore>;
