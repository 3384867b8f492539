import type { Db } from './database.js';
import type { IdAndDelta, UpdateIdentity } from '../core/server-sync/server-sync-model.js';
import { nextCounter, readCounter } from './server-identity.store.js';

// The catalog as downstream servers read it (GetConfigData, GetRevisionIdList, GetUpdateData,
// GetUpdateDecryptionData, DownloadFiles). Every list is one indexed query; filters travel
// into SQL as JSON and are expanded there with json_each, so no revision row is parsed in JS.

export interface RevisionFiles {
  /** base64 SHA-1, every file of the revision (EULAs included) */
  digests: string[];
  muUrls: Array<string | null>;
}

export interface StoredRevision {
  revisionId: number;
  document: string;
}

const CONFIG_LIST = `
  SELECT u.update_id AS updateId, r.revision_number AS revisionNumber
    FROM updates u JOIN revisions r ON r.id = u.current_revision_id
   WHERE u.update_type IN ('Category', 'Detectoid') AND r.change_seq > @after
   ORDER BY u.update_type = 'Detectoid',
            CASE r.category_type WHEN 'Company' THEN 0 WHEN 'ProductFamily' THEN 1 WHEN 'Product' THEN 2 ELSE 3 END,
            r.change_seq, r.id`;

// Products and classifications are an update's direct IsCategory prerequisites
// (revision_categories), as on WSUS: selecting a product family does not select its products.
// A revision qualifies when it is the update's current one, is newer than the anchor or sits
// in a Delta=false category, and is in >= 1 product AND >= 1 classification. The bundled
// children of qualifying revisions (the exact revisions they reference) come along, even when
// they carry no categories; they are listed first so a downstream meets payloads before bundles.
const SOFTWARE_LIST = `
  WITH p(id, full) AS (SELECT lower(json_extract(value, '$[0]')), json_extract(value, '$[1]') FROM json_each(@products)),
       c(id, full) AS (SELECT lower(json_extract(value, '$[0]')), json_extract(value, '$[1]') FROM json_each(@classes)),
       in_p(rid, full) AS (SELECT rc.revision_id, max(p.full) FROM p JOIN revision_categories rc ON rc.category_update_id = p.id GROUP BY rc.revision_id),
       in_c(rid, full) AS (SELECT rc.revision_id, max(c.full) FROM c JOIN revision_categories rc ON rc.category_update_id = c.id GROUP BY rc.revision_id),
       matched(rid) AS MATERIALIZED (
         SELECT r.id FROM in_p JOIN in_c ON in_c.rid = in_p.rid
           JOIN revisions r ON r.id = in_p.rid
           JOIN updates u ON u.id = r.update_pk AND u.current_revision_id = r.id
          WHERE u.update_type IN ('Software', 'Driver') AND (r.change_seq > @after OR in_p.full OR in_c.full)),
       children(rid) AS (
         SELECT cr.id FROM matched m JOIN revisions r ON r.id = m.rid, json_each(r.bundled_updates) b
           JOIN updates cu ON cu.update_id = lower(json_extract(b.value, '$.updateId'))
           JOIN revisions cr ON cr.update_pk = cu.id AND cr.revision_number = json_extract(b.value, '$.revisionNumber')
          WHERE r.bundled_updates <> '[]'),
       listed(rid) AS (SELECT rid FROM matched UNION SELECT rid FROM children)
  SELECT u.update_id AS updateId, r.revision_number AS revisionNumber
    FROM listed CROSS JOIN revisions r ON r.id = listed.rid CROSS JOIN updates u ON u.id = r.update_pk
   ORDER BY r.bundled_updates <> '[]', r.change_seq, r.id`;

export function createUpstreamRoleStore(db: Db) {
  const configList = db.prepare<{ after: number }, UpdateIdentity>(CONFIG_LIST);
  const softwareList = db.prepare<{ after: number; products: string; classes: string }, UpdateIdentity>(SOFTWARE_LIST);
  const revisionByIdentity = db.prepare<[string, number], { id: number; document: string }>(
    'SELECT r.id, r.document FROM updates u JOIN revisions r ON r.update_pk = u.id WHERE u.update_id = ? AND r.revision_number = ?',
  );
  const filesOf = db.prepare<[number], { sha1: string; mu_url: string | null }>(
    'SELECT sha1, mu_url FROM files WHERE revision_id = ?',
  );
  const digestKnown = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM files WHERE sha1_hex = ? LIMIT 1');
  const catalogLanguages = db.prepare<[], { language: string }>('SELECT DISTINCT language FROM revision_localized');
  const selectedLanguages = db.prepare<[], { id: string }>("SELECT id FROM sync_selection WHERE kind = 'language'");
  const metaGet = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
  const metaPut = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');

  const toJson = (list: readonly IdAndDelta[]): string => JSON.stringify(list.map((e) => [e.id, e.delta ? 0 : 1]));

  return {
    /** The change_seq watermark: anchors carry it. */
    watermark(): number {
      return readCounter(db, 'change_seq');
    },

    /**
     * GetConfig=true: categories, classifications and detectoids (current revision) changed after
     * `after`, parents first. Read in one transaction with the watermark the answer's anchor carries.
     */
    configRevisions(after: number): { watermark: number; revisions: UpdateIdentity[] } {
      return db.transaction(() => ({ watermark: readCounter(db, 'change_seq'), revisions: configList.all({ after }) }))();
    },

    /** GetConfig=false: see SOFTWARE_LIST. */
    softwareRevisions(after: number, products: readonly IdAndDelta[], classifications: readonly IdAndDelta[]): { watermark: number; revisions: UpdateIdentity[] } {
      return db.transaction(() => ({
        watermark: readCounter(db, 'change_seq'),
        revisions: softwareList.all({ after, products: toJson(products), classes: toJson(classifications) }),
      }))();
    },

    revision(updateId: string, revisionNumber: number): StoredRevision | undefined {
      const r = revisionByIdentity.get(updateId.toLowerCase(), revisionNumber);
      return r ? { revisionId: r.id, document: r.document } : undefined;
    },

    files(revisionId: number): RevisionFiles {
      const rows = filesOf.all(revisionId);
      return { digests: rows.map((f) => f.sha1), muUrls: rows.map((f) => f.mu_url) };
    },

    /** Whether any metadata references this upper-case hex SHA-1. */
    isKnownDigest(sha1Hex: string): boolean {
      return digestKnown.get(sha1Hex) !== undefined;
    },

    /** Languages this server holds: selected for sync, or present in the imported metadata (lower-case short names). */
    heldLanguages(): Set<string> {
      const out = new Set<string>();
      for (const r of catalogLanguages.all()) out.add(r.language.toLowerCase());
      for (const r of selectedLanguages.all()) out.add(r.id.toLowerCase());
      return out;
    },

    /**
     * The change_seq at which the announced language set last changed. A new set is recorded
     * under a fresh change_seq so every config anchor issued before it is older.
     */
    languageSetSeq(fingerprint: string): number {
      return db.transaction(() => {
        const stored = metaGet.get('upstream_language_set')?.value;
        const seq = Number(metaGet.get('upstream_language_seq')?.value ?? NaN);
        if (stored === fingerprint && Number.isSafeInteger(seq)) return seq;
        const next = nextCounter(db, 'change_seq');
        metaPut.run('upstream_language_set', fingerprint);
        metaPut.run('upstream_language_seq', String(next));
        return next;
      }).immediate();
    },
  };
}

export type UpstreamRoleStore = ReturnType<typeof createUpstreamRoleStore>;
