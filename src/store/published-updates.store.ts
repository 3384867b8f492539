import type { Db } from './database.js';

// What this server published itself (`wsus publish`): one row per published revision, so that
// `--revise`/`--expire` can refuse updates that came from anywhere else and `--list` can show
// them. The update documents themselves live in the catalog like any other; this table only
// remembers where they came from. The schema is the "locally published updates" migration.

export const PUBLISHED_UPDATES_MIGRATION = `
  -- Updates published on this server (wsus publish): one row per revision it wrote.
  CREATE TABLE published_revisions (
    update_id TEXT NOT NULL,                      -- lower-case GUID
    revision_number INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('published', 'expired')),
    title TEXT NOT NULL,
    vendor TEXT NOT NULL,
    product TEXT NOT NULL,
    classification TEXT NOT NULL,
    kind TEXT,                                    -- payload kind (msi, msp, exe, msu); NULL for an expiry
    file_name TEXT,                               -- the signed CAB clients download; NULL for an expiry
    sha1_hex TEXT,
    size INTEGER,
    signer_thumbprint TEXT,
    published_at TEXT NOT NULL,
    PRIMARY KEY (update_id, revision_number)
  ) WITHOUT ROWID;
  `;

export interface PublishedRevision {
  updateId: string;
  revisionNumber: number;
  state: 'published' | 'expired';
  title: string;
  vendor: string;
  product: string;
  classification: string;
  kind: string | null;
  fileName: string | null;
  sha1Hex: string | null;
  size: number | null;
  signerThumbprint: string | null;
  publishedAt: string;
}

/** published_revisions columns under their PublishedRevision names, so rows need no mapping. */
const REVISION_COLUMNS = `update_id AS updateId, revision_number AS revisionNumber, state, title, vendor, product,
  classification, kind, file_name AS fileName, sha1_hex AS sha1Hex, size, signer_thumbprint AS signerThumbprint,
  published_at AS publishedAt`;

/** The catalog's current revision of one update (any origin). */
export interface CatalogCurrent {
  revisionNumber: number;
  publicationState: string;
  document: string;
}

export function createPublishedUpdatesStore(db: Db) {
  const insertQ = db.prepare(
    `INSERT INTO published_revisions (update_id, revision_number, state, title, vendor, product, classification, kind,
       file_name, sha1_hex, size, signer_thumbprint, published_at)
     VALUES (@updateId, @revisionNumber, @state, @title, @vendor, @product, @classification, @kind,
       @fileName, @sha1Hex, @size, @signerThumbprint, @publishedAt)`,
  );
  const latestQ = db.prepare<[string], PublishedRevision>(
    `SELECT ${REVISION_COLUMNS} FROM published_revisions WHERE update_id = ? ORDER BY revision_number DESC LIMIT 1`,
  );
  // The newest row per update: what `--list` shows.
  const listQ = db.prepare<[], PublishedRevision>(
    `SELECT ${REVISION_COLUMNS} FROM published_revisions p
      WHERE p.revision_number = (SELECT max(q.revision_number) FROM published_revisions q WHERE q.update_id = p.update_id)
      ORDER BY p.published_at, p.update_id`,
  );
  const currentQ = db.prepare<[string], { revision_number: number; publication_state: string; document: string }>(
    `SELECT r.revision_number, r.publication_state, r.document
       FROM updates u JOIN revisions r ON r.id = u.current_revision_id WHERE u.update_id = ?`,
  );
  const maxRevisionQ = db.prepare<[string], { n: number | null }>(
    'SELECT max(r.revision_number) AS n FROM updates u JOIN revisions r ON r.update_pk = u.id WHERE u.update_id = ?',
  );

  return {
    record(row: PublishedRevision): void {
      insertQ.run({ ...row, updateId: row.updateId.toLowerCase() });
    },
    latest(updateId: string): PublishedRevision | undefined {
      return latestQ.get(updateId.toLowerCase());
    },
    list(): PublishedRevision[] {
      return listQ.all();
    },
    /** The catalog's current revision of `updateId`, whoever wrote it. */
    catalogCurrent(updateId: string): CatalogCurrent | undefined {
      const r = currentQ.get(updateId.toLowerCase());
      return r ? { revisionNumber: r.revision_number, publicationState: r.publication_state, document: r.document } : undefined;
    },
    /** The highest revision number the catalog holds for `updateId` (undefined: none). */
    maxRevision(updateId: string): number | undefined {
      return maxRevisionQ.get(updateId.toLowerCase())?.n ?? undefined;
    },
  };
}

export type PublishedUpdatesStore = ReturnType<typeof createPublishedUpdatesStore>;
