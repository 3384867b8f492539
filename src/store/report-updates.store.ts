import type { Db } from './database.js';
import { readCounter } from './server-identity.store.js';

// The update side of the reports: every reportable update (explicitly deployable software and
// drivers: not categories, detectoids or bundle members) with what a report row shows, read in
// three whole-catalog passes the reports cache until the catalog counters move.

export interface ReportUpdateRow {
  updatePk: number;
  updateId: string;
  revisionId: number;
  updateType: string;
  title: string;
  kb: string[];
  msrcSeverity: string | null;
  arrivedAt: string;
  declined: boolean;
  /** approved for installation in at least one group */
  approved: boolean;
}

export interface CategoryRow {
  id: string;
  title: string;
  type: 'Product' | 'UpdateClassification';
}

interface Raw {
  update_pk: number; update_id: string; revision_id: number; update_type: string; title: string; kb: string;
  msrc_severity: string | null; arrived_at: string; declined: number; approved: number;
}

const REPORTABLE = "s.update_type IN ('Software', 'Driver') AND s.explicitly_deployable = 1";

export function createReportUpdatesStore(db: Db) {
  const updatesQ = db.prepare<[], Raw>(
    `SELECT s.update_pk, s.update_id, s.revision_id, s.update_type, s.title, s.kb, s.msrc_severity, s.arrived_at, u.declined,
            EXISTS (SELECT 1 FROM approvals a WHERE a.update_pk = s.update_pk AND a.action = 'Install') AS approved
       FROM update_summary s JOIN updates u ON u.id = s.update_pk
      WHERE ${REPORTABLE}
      ORDER BY s.update_pk`,
  );
  const categoriesOfQ = db.prepare<[], { update_pk: number; id: string }>(
    `SELECT s.update_pk, rc.category_update_id AS id
       FROM update_summary s JOIN revision_categories rc ON rc.revision_id = s.revision_id
      WHERE ${REPORTABLE}`,
  );
  const categoriesQ = db.prepare<[], { id: string; title: string; type: 'Product' | 'UpdateClassification' }>(
    `SELECT update_id AS id, title, category_type AS type FROM update_summary
      WHERE update_type = 'Category' AND category_type IN ('Product', 'UpdateClassification')
      ORDER BY title COLLATE NOCASE`,
  );
  const maxPkQ = db.prepare<[], { n: number | null }>('SELECT max(id) AS n FROM updates');
  const descriptionQ = db.prepare<[number], { description: string | null }>('SELECT description FROM revisions WHERE id = ?');
  const supersededByQ = db.prepare<[string], { update_id: string }>(
    `SELECT DISTINCT w.update_id FROM revision_supersedes x JOIN update_summary w ON w.revision_id = x.revision_id
      WHERE x.superseded_update_id = ? ORDER BY w.update_id`,
  );

  return {
    /** Changes whenever updates arrive or are declined, approved or revised (see catalog-view). */
    version(): string {
      return `${readCounter(db, 'catalog_generation')}.${readCounter(db, 'change_seq')}`;
    },
    reportable(): ReportUpdateRow[] {
      return updatesQ.all().map((r) => ({
        updatePk: r.update_pk, updateId: r.update_id, revisionId: r.revision_id, updateType: r.update_type, title: r.title,
        kb: r.kb.trim() ? r.kb.trim().split(' ') : [], msrcSeverity: r.msrc_severity, arrivedAt: r.arrived_at,
        declined: r.declined === 1, approved: r.approved === 1,
      }));
    },
    /** (update pk, category id) of every reportable update's current revision. */
    categoryEdges(): Array<{ update_pk: number; id: string }> {
      return categoriesOfQ.all();
    },
    /** Products and classifications of the catalog. */
    categories(): CategoryRow[] {
      return categoriesQ.all();
    },
    maxUpdatePk(): number {
      return maxPkQ.get()?.n ?? 0;
    },
    description(revisionId: number): string | null {
      return descriptionQ.get(revisionId)?.description ?? null;
    },
    /** Updates whose current revision supersedes this one. */
    supersededBy(updateId: string): string[] {
      return supersededByQ.all(updateId).map((r) => r.update_id);
    },
  };
}

export type ReportUpdatesStore = ReturnType<typeof createReportUpdatesStore>;
