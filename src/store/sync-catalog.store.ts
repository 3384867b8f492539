import type { Db } from './database.js';

// Read-only catalog and content queries of the downstream role: the categories the upstream
// offered (selection), what content a sync should fetch, and the figures `health` reports.

export interface CategoryRow {
  updateId: string;
  title: string;
  categoryType: string;
}

export interface WantedFile {
  sha1Hex: string;
  /** base64, as DownloadFiles wants it */
  sha1: string;
  fileName: string;
  size: number;
  muUrl: string | null;
}

export interface ContentHealth {
  /** distinct files of Install-approved revisions (bundle members included) */
  approvedFiles: number;
  present: number;
  quarantined: number;
  missing: number;
}

// The revisions whose files an Install approval needs: the approved updates' current
// revisions and the bundle members they name (the exact revision, and the member's current one).
export const APPROVED_REVISIONS = `
  approved AS (
    SELECT DISTINCT u.current_revision_id AS rid FROM approvals a JOIN updates u ON u.id = a.update_pk
     WHERE a.action = 'Install' AND u.declined = 0 AND u.current_revision_id IS NOT NULL),
  members AS (
    SELECT rc.id AS rid
      FROM approved ap JOIN revisions r ON r.id = ap.rid, json_each(r.bundled_updates) b
      JOIN updates cu ON cu.update_id = lower(json_extract(b.value, '$.updateId'))
      JOIN revisions rc ON rc.update_pk = cu.id
                       AND (rc.revision_number = json_extract(b.value, '$.revisionNumber') OR rc.id = cu.current_revision_id)),
  wanted AS (SELECT rid FROM approved UNION SELECT rid FROM members)`;

const WANTED_COLUMNS = 'f.sha1_hex AS sha1Hex, min(f.sha1) AS sha1, min(f.file_name) AS fileName, max(f.size) AS size, max(f.mu_url) AS muUrl';

export function createSyncCatalogStore(db: Db) {
  const categoriesQ = db.prepare<[], { update_id: string; title: string; category_type: string }>(
    `SELECT u.update_id, r.title, r.category_type FROM updates u JOIN revisions r ON r.id = u.current_revision_id
      WHERE r.update_type = 'Category' AND r.category_type IS NOT NULL ORDER BY r.title COLLATE NOCASE, u.update_id`,
  );
  const updateIdsQ = db.prepare<[], { update_id: string }>('SELECT update_id FROM updates WHERE current_revision_id IS NOT NULL');
  const missingAllQ = db.prepare<[], WantedFile>(
    // "All synchronized" means what clients can be offered: current revisions of updates that are
    // neither declined nor expired (cleanup deletes the others' files; fetching them again would churn).
    `SELECT ${WANTED_COLUMNS} FROM files f
       JOIN revisions r ON r.id = f.revision_id
       JOIN updates u ON u.current_revision_id = r.id AND u.declined = 0
       LEFT JOIN content c ON c.sha1_hex = f.sha1_hex AND c.state = 'present'
      WHERE c.sha1_hex IS NULL AND r.publication_state != 'Expired' GROUP BY f.sha1_hex ORDER BY f.sha1_hex`,
  );
  const missingApprovedQ = db.prepare<[], WantedFile>(
    `WITH ${APPROVED_REVISIONS}
     SELECT ${WANTED_COLUMNS} FROM files f JOIN wanted w ON w.rid = f.revision_id
       LEFT JOIN content c ON c.sha1_hex = f.sha1_hex AND c.state = 'present'
      WHERE c.sha1_hex IS NULL GROUP BY f.sha1_hex ORDER BY f.sha1_hex`,
  );
  const approvedHealthQ = db.prepare<[], { state: string | null; n: number }>(
    `WITH ${APPROVED_REVISIONS},
       digests AS (SELECT DISTINCT f.sha1_hex FROM files f JOIN wanted w ON w.rid = f.revision_id)
     SELECT c.state AS state, count(*) AS n FROM digests d LEFT JOIN content c ON c.sha1_hex = d.sha1_hex GROUP BY c.state`,
  );
  const catalogQ = db.prepare<[], { revisions: number; newest: string | null }>(
    'SELECT count(*) AS revisions, max(ingested_at) AS newest FROM revisions',
  );
  const updatesCountQ = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM updates WHERE current_revision_id IS NOT NULL');

  return {
    categories(): CategoryRow[] {
      return categoriesQ.all().map((r) => ({ updateId: r.update_id, title: r.title, categoryType: r.category_type }));
    },
    updateIds(): Set<string> {
      return new Set(updateIdsQ.all().map((r) => r.update_id));
    },
    missingFiles(scope: 'all' | 'approved'): WantedFile[] {
      return (scope === 'all' ? missingAllQ : missingApprovedQ).all();
    },
    approvedContentHealth(): ContentHealth {
      const out: ContentHealth = { approvedFiles: 0, present: 0, quarantined: 0, missing: 0 };
      for (const r of approvedHealthQ.all()) {
        out.approvedFiles += r.n;
        if (r.state === 'present') out.present += r.n;
        else if (r.state === 'quarantined') out.quarantined += r.n;
        else out.missing += r.n;
      }
      return out;
    },
    catalogFigures(): { revisions: number; updates: number; newestIngestedAt: string | null } {
      const c = catalogQ.get()!;
      return { revisions: c.revisions, updates: updatesCountQ.get()!.n, newestIngestedAt: c.newest };
    },
  };
}

export type SyncCatalogStore = ReturnType<typeof createSyncCatalogStore>;
