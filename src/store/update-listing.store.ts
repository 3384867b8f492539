import type { Db } from './database.js';

// Reads behind `wsus updates list|show` and the update references of approvals. Everything is
// answered from update_summary and the relationship edge tables (kept by triggers at ingest, see
// migrations) plus small per-page look-ups, never from revision documents, so a listing over
// 50,000 revisions stays in the tens of milliseconds.

export type UpdateStateName = 'approved' | 'unapproved' | 'declined' | 'superseded' | 'expired';
export interface StateFilter { state: UpdateStateName; negate: boolean }
export type UpdateSort = 'arrival' | 'created' | 'title';

export interface UpdateListQuery {
  /** any of these classification GUIDs */
  classificationIds?: readonly string[];
  /** any of these product GUIDs */
  productIds?: readonly string[];
  /** title substring, or a KB number */
  text?: string;
  kb?: string | null;
  /** all of these */
  states?: readonly StateFilter[];
  /** only these update ids (e.g. the needed-by filter) */
  onlyUpdateIds?: readonly string[];
  arrivedAfter?: string;
  arrivedBefore?: string;
  createdAfter?: string;
  createdBefore?: string;
  /** bundle members (not explicitly deployable) and categories/detectoids too */
  includeAll?: boolean;
  sort: UpdateSort;
  limit: number;
  offset: number;
}

export interface SummaryRow {
  updatePk: number;
  updateId: string;
  revisionId: number;
  updateType: string;
  categoryType: string | null;
  title: string;
  kb: string[];
  msrcSeverity: string | null;
  creationDate: string | null;
  publicationState: string;
  explicitlyDeployable: boolean;
  arrivedAt: string;
  declined: boolean;
}

export interface PageFacts {
  approvals: number;
  superseded: boolean;
  classifications: string[];
  products: string[];
}

interface SummaryRaw {
  update_pk: number; update_id: string; revision_id: number; update_type: string; category_type: string | null; title: string;
  kb: string; msrc_severity: string | null; creation_date: string | null; publication_state: string;
  explicitly_deployable: number; arrived_at: string; declined: number;
}

const SUMMARY_COLUMNS = `s.update_pk, s.update_id, s.revision_id, s.update_type, s.category_type, s.title, s.kb, s.msrc_severity,
  s.creation_date, s.publication_state, s.explicitly_deployable, s.arrived_at, u.declined`;

export function toSummaryRow(r: SummaryRaw): SummaryRow {
  return {
    updatePk: r.update_pk, updateId: r.update_id, revisionId: r.revision_id, updateType: r.update_type, categoryType: r.category_type,
    title: r.title, kb: r.kb.trim() ? r.kb.trim().split(' ') : [], msrcSeverity: r.msrc_severity, creationDate: r.creation_date,
    publicationState: r.publication_state, explicitlyDeployable: r.explicitly_deployable === 1, arrivedAt: r.arrived_at, declined: r.declined === 1,
  };
}

const STATE_SQL: Record<UpdateStateName, string> = {
  approved: 'EXISTS (SELECT 1 FROM approvals a WHERE a.update_pk = s.update_pk)',
  unapproved: '(u.declined = 0 AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.update_pk = s.update_pk))',
  declined: 'u.declined = 1',
  // superseded by the current revision of any update in the catalog
  superseded: `EXISTS (SELECT 1 FROM revision_supersedes x JOIN update_summary w ON w.revision_id = x.revision_id
                        WHERE x.superseded_update_id = s.update_id)`,
  expired: `s.publication_state = 'Expired'`,
};

const ORDER_SQL: Record<UpdateSort, string> = {
  arrival: 's.arrived_at DESC, s.update_pk DESC',
  created: 's.creation_date DESC, s.update_pk DESC',
  title: 's.title COLLATE NOCASE, s.update_pk',
};

/** LIKE pattern for a substring, with the wildcards of the text itself escaped. */
export function likeSubstring(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function createUpdateListingStore(db: Db) {
  // The list query has a few dozen shapes (which filters are present): each is prepared once.
  const listStatements = new Map<string, ReturnType<Db['prepare']>>();
  const prepared = (sql: string): ReturnType<Db['prepare']> => {
    let st = listStatements.get(sql);
    if (!st) {
      st = db.prepare(sql);
      if (listStatements.size > 256) listStatements.clear();
      listStatements.set(sql, st);
    }
    return st;
  };

  const byUpdateId = db.prepare<[string], SummaryRaw>(
    `SELECT ${SUMMARY_COLUMNS} FROM updates u JOIN update_summary s ON s.update_pk = u.id WHERE u.update_id = ?`,
  );
  const byPks = db.prepare<[string], SummaryRaw>(
    `SELECT ${SUMMARY_COLUMNS} FROM update_summary s JOIN updates u ON u.id = s.update_pk WHERE s.update_pk IN (SELECT value FROM json_each(?))`,
  );
  const byTitle = db.prepare<[string], SummaryRaw>(
    `SELECT ${SUMMARY_COLUMNS} FROM update_summary s JOIN updates u ON u.id = s.update_pk
      WHERE s.title = ? COLLATE NOCASE AND s.update_type IN ('Software', 'Driver') AND s.explicitly_deployable = 1
      ORDER BY s.update_pk LIMIT 50`,
  );
  const byKb = db.prepare<[string], SummaryRaw>(
    `SELECT ${SUMMARY_COLUMNS} FROM update_summary s JOIN updates u ON u.id = s.update_pk
      WHERE s.kb LIKE ? AND s.update_type IN ('Software', 'Driver') AND s.explicitly_deployable = 1
      ORDER BY s.update_pk LIMIT 50`,
  );
  const kbIndex = db.prepare<[], { kb: string; update_pk: number }>(
    `SELECT kb, update_pk FROM update_summary WHERE kb != '' AND update_type IN ('Software', 'Driver') AND explicitly_deployable = 1`,
  );
  const categoryById = db.prepare<[string, string], { update_id: string; title: string }>(
    `SELECT s.update_id, s.title FROM updates u JOIN update_summary s ON s.update_pk = u.id
      WHERE u.update_id = ? AND s.update_type = 'Category' AND s.category_type = ?`,
  );
  const categoryByTitle = db.prepare<[string, string], { update_id: string; title: string }>(
    `SELECT update_id, title FROM update_summary WHERE title = ? COLLATE NOCASE AND update_type = 'Category' AND category_type = ?`,
  );
  const categoriesOfPage = db.prepare<[string], { revision_id: number; category_type: string; title: string }>(
    `SELECT rc.revision_id, c.category_type, c.title
       FROM revision_categories rc JOIN updates cu ON cu.update_id = rc.category_update_id JOIN update_summary c ON c.update_pk = cu.id
      WHERE rc.revision_id IN (SELECT value FROM json_each(?)) AND c.category_type IN ('Product', 'UpdateClassification')
      ORDER BY c.title`,
  );
  const approvalsOfPage = db.prepare<[string], { update_pk: number; n: number }>(
    'SELECT update_pk, count(*) AS n FROM approvals WHERE update_pk IN (SELECT value FROM json_each(?)) GROUP BY update_pk',
  );
  const supersededOfPage = db.prepare<[string], { update_id: string }>(
    `SELECT DISTINCT x.superseded_update_id AS update_id FROM revision_supersedes x JOIN update_summary w ON w.revision_id = x.revision_id
      WHERE x.superseded_update_id IN (SELECT value FROM json_each(?))`,
  );

  // show
  const revisionsOf = db.prepare<[number], { id: number; revision_number: number; publication_state: string; creation_date: string | null; ingested_at: string; title: string }>(
    'SELECT id, revision_number, publication_state, creation_date, ingested_at, title FROM revisions WHERE update_pk = ? ORDER BY revision_number',
  );
  const descriptionOf = db.prepare<[number], { description: string | null }>('SELECT description FROM revisions WHERE id = ?');
  const supersededBy = db.prepare<[string], { update_id: string; title: string }>(
    `SELECT w.update_id, w.title FROM revision_supersedes x JOIN update_summary w ON w.revision_id = x.revision_id
      WHERE x.superseded_update_id = ? ORDER BY w.arrived_at, w.update_id`,
  );
  const supersedes = db.prepare<[number], { update_id: string; title: string | null }>(
    `SELECT x.superseded_update_id AS update_id, t.title FROM revision_supersedes x
       LEFT JOIN updates tu ON tu.update_id = x.superseded_update_id LEFT JOIN update_summary t ON t.update_pk = tu.id
      WHERE x.revision_id = ? ORDER BY x.superseded_update_id`,
  );
  const members = db.prepare<[number], { update_id: string; title: string | null; revision_id: number | null }>(
    `SELECT b.member_update_id AS update_id, t.title, t.revision_id FROM revision_bundles b
       LEFT JOIN updates tu ON tu.update_id = b.member_update_id LEFT JOIN update_summary t ON t.update_pk = tu.id
      WHERE b.revision_id = ? ORDER BY t.title, b.member_update_id`,
  );
  const bundledIn = db.prepare<[string], { update_id: string; title: string }>(
    `SELECT w.update_id, w.title FROM revision_bundles b JOIN update_summary w ON w.revision_id = b.revision_id
      WHERE b.member_update_id = ? ORDER BY w.title`,
  );
  const categoriesOf = db.prepare<[number], { update_id: string; title: string | null; category_type: string | null }>(
    `SELECT rc.category_update_id AS update_id, c.title, c.category_type FROM revision_categories rc
       LEFT JOIN updates cu ON cu.update_id = rc.category_update_id LEFT JOIN update_summary c ON c.update_pk = cu.id
      WHERE rc.revision_id = ? ORDER BY c.category_type, c.title`,
  );
  const filesOf = db.prepare<[string], {
    revision_id: number; file_name: string; size: number; sha1_hex: string; sha256: string | null; is_eula: number; mu_url: string | null;
    state: string | null; error: string | null;
  }>(
    `SELECT f.revision_id, f.file_name, f.size, f.sha1_hex, f.sha256, f.is_eula, f.mu_url, c.state, c.error
       FROM files f LEFT JOIN content c ON c.sha1_hex = f.sha1_hex
      WHERE f.revision_id IN (SELECT value FROM json_each(?)) ORDER BY f.revision_id, f.file_name`,
  );
  const approvalsOf = db.prepare<[number], {
    group_id: string; group_name: string | null; action: string; deadline: string | null; approved_at: string; approved_by: string;
    deployment_id: number; upstream_deployment_guid: string | null;
  }>(
    `SELECT a.group_id, g.name AS group_name, a.action, a.deadline, a.approved_at, a.approved_by, a.deployment_id, a.upstream_deployment_guid
       FROM approvals a LEFT JOIN target_groups g ON g.id = a.group_id WHERE a.update_pk = ? ORDER BY g.name`,
  );

  return {
    list(q: UpdateListQuery): { rows: SummaryRow[]; total: number } {
      const where: string[] = [];
      const params: Record<string, unknown> = { limit: q.limit, offset: q.offset };
      if (!q.includeAll) where.push(`s.update_type IN ('Software', 'Driver') AND s.explicitly_deployable = 1`);
      if (q.classificationIds?.length) {
        params.classifications = JSON.stringify(q.classificationIds);
        where.push(`EXISTS (SELECT 1 FROM revision_categories rc WHERE rc.revision_id = s.revision_id
                      AND rc.category_update_id IN (SELECT value FROM json_each(@classifications)))`);
      }
      if (q.productIds?.length) {
        params.products = JSON.stringify(q.productIds);
        where.push(`EXISTS (SELECT 1 FROM revision_categories rp WHERE rp.revision_id = s.revision_id
                      AND rp.category_update_id IN (SELECT value FROM json_each(@products)))`);
      }
      if (q.text) {
        params.like = likeSubstring(q.text);
        if (q.kb) {
          params.kbLike = `% ${q.kb} %`;
          where.push(`(s.title LIKE @like ESCAPE '\\' OR s.kb LIKE @kbLike)`);
        } else {
          where.push(`s.title LIKE @like ESCAPE '\\'`);
        }
      }
      for (const f of q.states ?? []) where.push(f.negate ? `NOT ${STATE_SQL[f.state]}` : STATE_SQL[f.state]);
      if (q.onlyUpdateIds) {
        params.only = JSON.stringify(q.onlyUpdateIds);
        where.push('s.update_id IN (SELECT value FROM json_each(@only))');
      }
      if (q.arrivedAfter) { params.arrivedAfter = q.arrivedAfter; where.push('s.arrived_at >= @arrivedAfter'); }
      if (q.arrivedBefore) { params.arrivedBefore = q.arrivedBefore; where.push('s.arrived_at < @arrivedBefore'); }
      if (q.createdAfter) { params.createdAfter = q.createdAfter; where.push('s.creation_date >= @createdAfter'); }
      if (q.createdBefore) { params.createdBefore = q.createdBefore; where.push('s.creation_date < @createdBefore'); }
      const sql = `SELECT ${SUMMARY_COLUMNS}, count(*) OVER () AS total
                     FROM update_summary s JOIN updates u ON u.id = s.update_pk
                    ${where.length ? `WHERE ${where.join('\n AND ')}` : ''}
                    ORDER BY ${ORDER_SQL[q.sort]} LIMIT @limit OFFSET @offset`;
      const raw = prepared(sql).all(params) as Array<SummaryRaw & { total: number }>;
      let total = raw[0]?.total ?? 0;
      // An offset past the end returns no row, hence no window count: count separately.
      if (raw.length === 0 && q.offset > 0) {
        const countSql = `SELECT count(*) FROM update_summary s JOIN updates u ON u.id = s.update_pk ${where.length ? `WHERE ${where.join('\n AND ')}` : ''}`;
        const { limit: _l, offset: _o, ...countParams } = params;
        total = prepared(countSql).pluck().get(countParams) as number;
      }
      return { rows: raw.map(toSummaryRow), total };
    },

    /** Approval counts, superseded flags and category titles for one page of rows. */
    pageFacts(rows: readonly SummaryRow[]): Map<number, PageFacts> {
      const out = new Map<number, PageFacts>(rows.map((r) => [r.updatePk, { approvals: 0, superseded: false, classifications: [], products: [] }]));
      if (rows.length === 0) return out;
      const byRevision = new Map(rows.map((r) => [r.revisionId, out.get(r.updatePk)!]));
      for (const c of categoriesOfPage.all(JSON.stringify(rows.map((r) => r.revisionId)))) {
        const f = byRevision.get(c.revision_id);
        if (!f) continue;
        (c.category_type === 'Product' ? f.products : f.classifications).push(c.title);
      }
      for (const a of approvalsOfPage.all(JSON.stringify(rows.map((r) => r.updatePk)))) out.get(a.update_pk)!.approvals = a.n;
      const superseded = new Set(supersededOfPage.all(JSON.stringify(rows.map((r) => r.updateId))).map((s) => s.update_id));
      for (const r of rows) out.get(r.updatePk)!.superseded = superseded.has(r.updateId);
      return out;
    },

    byUpdateId(updateId: string): SummaryRow | undefined {
      const r = byUpdateId.get(updateId.toLowerCase());
      return r ? toSummaryRow(r) : undefined;
    },
    byPks(pks: readonly number[]): SummaryRow[] {
      return pks.length ? byPks.all(JSON.stringify(pks)).map(toSummaryRow) : [];
    },
    /** Approvable updates (software and drivers a bundle does not hide) with this exact title, ignoring case. */
    byTitle(title: string): SummaryRow[] {
      return byTitle.all(title).map(toSummaryRow);
    },
    /** Approvable updates that name this KB article. */
    byKb(kb: string): SummaryRow[] {
      return byKb.all(`% ${kb} %`).map(toSummaryRow);
    },
    /** KB number → approvable update pks, for resolving many KB references at once. */
    kbIndex(): Map<string, number[]> {
      const index = new Map<string, number[]>();
      for (const r of kbIndex.all()) {
        for (const kb of r.kb.trim().split(' ')) {
          const list = index.get(kb) ?? [];
          list.push(r.update_pk);
          index.set(kb, list);
        }
      }
      return index;
    },
    /** A product or classification by GUID or exact title (ignoring case); several when titles repeat. */
    categories(type: 'Product' | 'UpdateClassification', ref: string, isId: boolean): Array<{ updateId: string; title: string }> {
      const rows = isId ? [categoryById.get(ref.toLowerCase(), type)].filter((r) => r !== undefined) : categoryByTitle.all(ref, type);
      return rows.map((r) => ({ updateId: r!.update_id, title: r!.title }));
    },

    detail(row: SummaryRow) {
      const categories = categoriesOf.all(row.revisionId);
      const memberRows = members.all(row.revisionId);
      const fileRevisionIds = [row.revisionId, ...memberRows.map((m) => m.revision_id).filter((id): id is number => id !== null)];
      const ownerOfRevision = new Map<number, string>([[row.revisionId, row.updateId], ...memberRows.filter((m) => m.revision_id !== null).map((m) => [m.revision_id!, m.update_id] as [number, string])]);
      return {
        description: descriptionOf.get(row.revisionId)?.description ?? null,
        revisions: revisionsOf.all(row.updatePk).map((r) => ({
          revisionId: r.id, revisionNumber: r.revision_number, publicationState: r.publication_state,
          creationDate: r.creation_date, ingestedAt: r.ingested_at, current: r.id === row.revisionId, title: r.title,
        })),
        classifications: categories.filter((c) => c.category_type === 'UpdateClassification').map((c) => ({ id: c.update_id, title: c.title })),
        products: categories.filter((c) => c.category_type === 'Product').map((c) => ({ id: c.update_id, title: c.title })),
        otherCategories: categories.filter((c) => c.category_type !== 'Product' && c.category_type !== 'UpdateClassification')
          .map((c) => ({ id: c.update_id, title: c.title, type: c.category_type })),
        supersededBy: supersededBy.all(row.updateId).map((s) => ({ updateId: s.update_id, title: s.title })),
        supersedes: supersedes.all(row.revisionId).map((s) => ({ updateId: s.update_id, title: s.title })),
        bundleMembers: memberRows.map((m) => ({ updateId: m.update_id, title: m.title })),
        bundledIn: bundledIn.all(row.updateId).map((b) => ({ updateId: b.update_id, title: b.title })),
        files: filesOf.all(JSON.stringify(fileRevisionIds)).map((f) => ({
          updateId: ownerOfRevision.get(f.revision_id) ?? row.updateId,
          fileName: f.file_name, size: f.size, sha1: f.sha1_hex, sha256: f.sha256, isEula: f.is_eula === 1, microsoftUrl: f.mu_url,
          content: (f.state ?? 'missing') as 'present' | 'quarantined' | 'missing', contentError: f.error,
        })),
        approvals: approvalsOf.all(row.updatePk).map((a) => ({
          groupId: a.group_id, groupName: a.group_name, action: a.action, deadline: a.deadline, approvedAt: a.approved_at,
          approvedBy: a.approved_by, deploymentId: a.deployment_id, mirroredFrom: a.upstream_deployment_guid,
        })),
      };
    },
  };
}

export type UpdateListingStore = ReturnType<typeof createUpdateListingStore>;
