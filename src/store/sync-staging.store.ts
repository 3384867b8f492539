import type { Db } from './database.js';
import type { UpdateIdentity } from '../core/catalog/update-model.js';

// Fetched, not yet merged documents (the resume point of an interrupted sync) and the catalog
// look-ups the fetch step needs: which revisions are here already. Set look-ups, not one
// SELECT per revision, when the list is long.

export type StagingPhase = 'categories' | 'updates';

export interface StagedFileUrl {
  /** base64 SHA-1 */
  digest: string;
  muUrl: string | null;
}

export interface StagedDocument {
  identity: UpdateIdentity;
  xml: string;
  fileUrls: StagedFileUrl[];
}

const key = (updateId: string, revisionNumber: number): string => `${updateId}:${revisionNumber}`;
/** Above this many ids one scan of the table beats point look-ups. */
const SCAN_THRESHOLD = 2000;

export function createSyncStagingStore(db: Db) {
  const stageQ = db.prepare(
    `INSERT INTO sync_staging (phase, update_id, revision_number, document, file_urls) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (phase, update_id, revision_number) DO UPDATE SET document = excluded.document, file_urls = excluded.file_urls`,
  );
  const keysQ = db.prepare<[string], { update_id: string; revision_number: number }>(
    'SELECT update_id, revision_number FROM sync_staging WHERE phase = ?',
  );
  const countQ = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM sync_staging WHERE phase = ?');
  const pageQ = db.prepare<[string, number], { update_id: string; revision_number: number; document: string; file_urls: string }>(
    'SELECT update_id, revision_number, document, file_urls FROM sync_staging WHERE phase = ? ORDER BY update_id, revision_number LIMIT ?',
  );
  // Only documents that can be bundles: the exclusion plan reads these first.
  const bundlesQ = db.prepare<[string], { update_id: string; revision_number: number }>(
    "SELECT update_id, revision_number FROM sync_staging WHERE phase = ? AND instr(document, 'BundledUpdates') > 0",
  );
  const docQ = db.prepare<[string, string, number], { document: string }>(
    'SELECT document FROM sync_staging WHERE phase = ? AND update_id = ? AND revision_number = ?',
  );
  const deleteQ = db.prepare('DELETE FROM sync_staging WHERE phase = ? AND update_id = ? AND revision_number = ?');

  const revisionQ = db.prepare<[string, number], { one: number }>(
    'SELECT 1 AS one FROM revisions r JOIN updates u ON u.id = r.update_pk WHERE u.update_id = ? AND r.revision_number = ?',
  );
  const allRevisionsQ = db.prepare<[], { update_id: string; revision_number: number }>(
    'SELECT u.update_id, r.revision_number FROM revisions r JOIN updates u ON u.id = r.update_pk',
  );

  return {
    /** One fetched batch, in one transaction. */
    stage(phase: StagingPhase, docs: readonly StagedDocument[]): void {
      db.transaction(() => {
        for (const d of docs) {
          stageQ.run(phase, d.identity.updateId, d.identity.revisionNumber, d.xml, JSON.stringify(d.fileUrls));
        }
      }).immediate();
    },
    stagedKeys(phase: StagingPhase): Set<string> {
      return new Set(keysQ.all(phase).map((r) => key(r.update_id, r.revision_number)));
    },
    stagedIdentities(phase: StagingPhase): UpdateIdentity[] {
      return keysQ.all(phase).map((r) => ({ updateId: r.update_id, revisionNumber: r.revision_number }));
    },
    stagedCount(phase: StagingPhase): number {
      return countQ.get(phase)!.n;
    },
    /**
     * The first staged documents, at most `limit` of them and about `maxChars` of XML (always
     * at least one): merged ones are deleted, so repeated calls walk the set with bounded memory
     * even when cumulative updates of tens of MB come in a row.
     */
    page(phase: StagingPhase, limit: number, maxChars = 64 * 1024 * 1024): StagedDocument[] {
      const out: StagedDocument[] = [];
      let chars = 0;
      for (const r of pageQ.iterate(phase, limit)) {
        if (out.length && chars + r.document.length > maxChars) break;
        chars += r.document.length;
        out.push({
          identity: { updateId: r.update_id, revisionNumber: r.revision_number },
          xml: r.document,
          fileUrls: JSON.parse(r.file_urls) as StagedFileUrl[],
        });
      }
      return out;
    },
    /** Staged documents that mention BundledUpdates (the possible bundles), by identity. */
    bundleCandidates(phase: StagingPhase): UpdateIdentity[] {
      return bundlesQ.all(phase).map((r) => ({ updateId: r.update_id, revisionNumber: r.revision_number }));
    },
    document(phase: StagingPhase, id: UpdateIdentity): string | undefined {
      return docQ.get(phase, id.updateId, id.revisionNumber)?.document;
    },
    /** Call inside the caller's transaction. */
    unstage(phase: StagingPhase, id: UpdateIdentity): void {
      deleteQ.run(phase, id.updateId, id.revisionNumber);
    },

    /** Which of `ids` the catalog holds already (keys `updateid:revision`). */
    revisionsInCatalog(ids: readonly UpdateIdentity[]): Set<string> {
      const out = new Set<string>();
      if (ids.length > SCAN_THRESHOLD) {
        const wanted = new Set(ids.map((i) => key(i.updateId, i.revisionNumber)));
        for (const r of allRevisionsQ.iterate()) {
          const k = key(r.update_id, r.revision_number);
          if (wanted.has(k)) out.add(k);
        }
      } else {
        for (const i of ids) if (revisionQ.get(i.updateId, i.revisionNumber)) out.add(key(i.updateId, i.revisionNumber));
      }
      return out;
    },
  };
}

export type SyncStagingStore = ReturnType<typeof createSyncStagingStore>;
