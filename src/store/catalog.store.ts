import type { Db } from './database.js';
import type { ParsedUpdate, PrerequisiteClause, UpdateIdentity, DriverInfo } from '../core/catalog/update-model.js';
import { escapeText } from '../protocol/xml/escape.js';
import { nextCounter } from './server-identity.store.js';

export type InsertOutcome = 'added' | 'unchanged';

/** One row per update with its current (highest) revision: what the scan snapshot is built from. */
export interface CurrentRevisionRow {
  updatePk: number;
  updateId: string;
  updateType: string;
  isLeaf: boolean;
  declined: boolean;
  deploymentChangeSeq: number;
  deploymentChangedAt: string;
  revisionId: number;
  revisionNumber: number;
  categoryType: string | null;
  publicationState: string;
  explicitlyDeployable: boolean;
  prerequisites: PrerequisiteClause[];
  bundledUpdates: UpdateIdentity[];
  driver: DriverInfo | null;
  implicitDeploymentId: number;
  changeSeq: number;
  ingestedAt: string;
}

export interface FileRow {
  revisionId: number;
  sha1Hex: string;
  sha1: string;
  sha256: string | null;
  fileName: string;
  size: number;
  isEula: boolean;
  muUrl: string | null;
}

export function sha1Base64ToHex(b64: string): string {
  return Buffer.from(b64, 'base64').toString('hex').toUpperCase();
}

export function createCatalogStore(db: Db) {
  const findUpdate = db.prepare<[string], { id: number; current_revision_id: number | null; cur_rev: number | null }>(
    `SELECT u.id, u.current_revision_id, r.revision_number AS cur_rev
       FROM updates u LEFT JOIN revisions r ON r.id = u.current_revision_id WHERE u.update_id = ?`,
  );
  const insertUpdate = db.prepare(
    `INSERT INTO updates (update_id, update_type, deployment_change_seq, deployment_changed_at) VALUES (?, ?, ?, ?)`,
  );
  const findRevision = db.prepare<[number, number], { id: number }>(
    'SELECT id FROM revisions WHERE update_pk = ? AND revision_number = ?',
  );
  const insertRevision = db.prepare(
    `INSERT INTO revisions (update_pk, revision_number, update_type, category_type, publication_state, title, description,
       kb_article_ids, msrc_severity, creation_date, handler, explicitly_deployable, prerequisites, bundled_updates,
       superseded_update_ids, driver, core_escaped, extended_escaped, document, implicit_deployment_id, change_seq, ingested_at)
     VALUES (@updatePk, @revisionNumber, @updateType, @categoryType, @publicationState, @title, @description,
       @kb, @msrc, @creationDate, @handler, @explicitlyDeployable, @prerequisites, @bundled, @superseded, @driver,
       @core, @extended, @document, @implicitDeploymentId, @changeSeq, @ingestedAt)`,
  );
  const setCurrent = db.prepare(
    'UPDATE updates SET current_revision_id = ?, update_type = ?, deployment_change_seq = ?, deployment_changed_at = ? WHERE id = ?',
  );
  const insertLocalized = db.prepare('INSERT INTO revision_localized (revision_id, language, xml_escaped) VALUES (?, ?, ?)');
  const insertEula = db.prepare('INSERT INTO revision_eula (revision_id, language, xml_escaped) VALUES (?, ?, ?)');
  const insertFile = db.prepare(
    `INSERT OR IGNORE INTO files (revision_id, sha1_hex, sha1, sha256, file_name, size, modified, patching_type, is_eula, mu_url)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertCategory = db.prepare('INSERT OR IGNORE INTO revision_categories (revision_id, category_update_id) VALUES (?, ?)');

  // IsLeaf is a property of the whole catalog: recomputed after each import batch, and a flip
  // counts as a deployment change so cached clients get it in ChangedUpdates.
  const recomputeLeaves = db.prepare(
    `WITH targets AS (
       SELECT DISTINCT lower(m.value) AS t
         FROM updates u JOIN revisions r ON r.id = u.current_revision_id,
              json_each(r.prerequisites) c, json_each(c.value, '$.updateIds') m)
     UPDATE updates SET is_leaf = (update_id NOT IN (SELECT t FROM targets)),
                        deployment_change_seq = @seq, deployment_changed_at = @at
      WHERE is_leaf != (update_id NOT IN (SELECT t FROM targets))`,
  );

  const currentRows = db.prepare(
    `SELECT u.id AS updatePk, u.update_id AS updateId, u.update_type AS updateType, u.is_leaf AS isLeaf,
            u.declined AS declined, u.deployment_change_seq AS deploymentChangeSeq,
            u.deployment_changed_at AS deploymentChangedAt,
            r.id AS revisionId, r.revision_number AS revisionNumber, r.category_type AS categoryType,
            r.publication_state AS publicationState, r.explicitly_deployable AS explicitlyDeployable,
            r.prerequisites AS prerequisites, r.bundled_updates AS bundledUpdates, r.driver AS driver,
            r.implicit_deployment_id AS implicitDeploymentId, r.change_seq AS changeSeq, r.ingested_at AS ingestedAt
       FROM updates u JOIN revisions r ON r.id = u.current_revision_id`,
  );
  const deploymentRows = db.prepare<[], { update_id: string; declined: number; deployment_change_seq: number; deployment_changed_at: string }>(
    'SELECT update_id, declined, deployment_change_seq, deployment_changed_at FROM updates',
  );
  const allRevisionIds = db.prepare<[], { id: number; updateId: string }>(
    'SELECT r.id AS id, u.update_id AS updateId FROM revisions r JOIN updates u ON u.id = r.update_pk',
  );
  const coreById = db.prepare<[number], { core_escaped: string }>('SELECT core_escaped FROM revisions WHERE id = ?');
  const extendedById = db.prepare<[number], { extended_escaped: string }>('SELECT extended_escaped FROM revisions WHERE id = ?');
  const localizedById = db.prepare<[number], { language: string; xml_escaped: string }>(
    'SELECT language, xml_escaped FROM revision_localized WHERE revision_id = ?',
  );
  const eulaById = db.prepare<[number], { language: string; xml_escaped: string }>(
    'SELECT language, xml_escaped FROM revision_eula WHERE revision_id = ?',
  );
  const filesById = db.prepare<[number], FileRowRaw>(
    'SELECT revision_id, sha1_hex, sha1, sha256, file_name, size, is_eula, mu_url FROM files WHERE revision_id = ?',
  );
  const filesByDigest = db.prepare<[string], FileRowRaw>(
    'SELECT revision_id, sha1_hex, sha1, sha256, file_name, size, is_eula, mu_url FROM files WHERE sha1_hex = ?',
  );
  const updateByRevisionId = db.prepare<[number], { update_id: string; revision_number: number; title: string }>(
    'SELECT u.update_id, r.revision_number, r.title FROM revisions r JOIN updates u ON u.id = r.update_pk WHERE r.id = ?',
  );

  return {
    /** Stores one parsed revision; the caller wraps a batch in a transaction and then calls finishBatch. */
    insert(parsed: ParsedUpdate, document: string, now: Date): { outcome: InsertOutcome; revisionId: number } {
      const at = now.toISOString();
      const { updateId, revisionNumber } = parsed.identity;
      let upd = findUpdate.get(updateId);
      if (!upd) {
        insertUpdate.run(updateId, parsed.updateType, 0, at);
        upd = findUpdate.get(updateId)!;
      }
      const existing = findRevision.get(upd.id, revisionNumber);
      if (existing) return { outcome: 'unchanged', revisionId: existing.id };
      const seq = nextCounter(db, 'change_seq');
      const info = insertRevision.run({
        updatePk: upd.id,
        revisionNumber,
        updateType: parsed.updateType,
        categoryType: parsed.categoryType ?? null,
        publicationState: parsed.publicationState,
        title: parsed.title,
        description: parsed.description ?? null,
        kb: JSON.stringify(parsed.kbArticleIds),
        msrc: parsed.msrcSeverity ?? null,
        creationDate: parsed.creationDate ?? null,
        handler: parsed.handler ?? null,
        explicitlyDeployable: parsed.explicitlyDeployable ? 1 : 0,
        prerequisites: JSON.stringify(parsed.prerequisites),
        bundled: JSON.stringify(parsed.bundledUpdates),
        superseded: JSON.stringify(parsed.supersededUpdateIds),
        driver: parsed.driver ? JSON.stringify(parsed.driver) : null,
        core: escapeText(parsed.fragments.core),
        extended: escapeText(parsed.fragments.extended),
        document,
        implicitDeploymentId: nextCounter(db, 'deployment_id'),
        changeSeq: seq,
        ingestedAt: at,
      });
      const revisionId = Number(info.lastInsertRowid);
      for (const [lang, xml] of Object.entries(parsed.fragments.localized)) {
        insertLocalized.run(revisionId, lang.toLowerCase(), escapeText(xml));
      }
      for (const [lang, xml] of Object.entries(parsed.fragments.eula)) {
        insertEula.run(revisionId, lang.toLowerCase(), escapeText(xml));
      }
      for (const f of parsed.files) {
        insertFile.run(revisionId, sha1Base64ToHex(f.sha1), f.sha1, f.sha256 ?? null, f.fileName, f.size,
          f.modified ?? null, f.patchingType ?? null, f.isEula ? 1 : 0, f.muUrl ?? null);
      }
      for (const clause of parsed.prerequisites) {
        if (clause.isCategory) for (const id of clause.updateIds) insertCategory.run(revisionId, id);
      }
      if (upd.cur_rev === null || revisionNumber > upd.cur_rev) {
        setCurrent.run(revisionId, parsed.updateType, seq, at, upd.id);
      }
      return { outcome: 'added', revisionId };
    },

    /** Recomputes IsLeaf and bumps the catalog generation so running servers reload. */
    finishBatch(now: Date): void {
      recomputeLeaves.run({ seq: nextCounter(db, 'change_seq'), at: now.toISOString() });
      nextCounter(db, 'catalog_generation');
    },

    currentRevisions(): CurrentRevisionRow[] {
      return (currentRows.all() as Array<Record<string, unknown>>).map((r) => ({
        ...(r as unknown as CurrentRevisionRow),
        isLeaf: r.isLeaf === 1,
        declined: r.declined === 1,
        explicitlyDeployable: r.explicitlyDeployable === 1,
        prerequisites: JSON.parse(r.prerequisites as string) as PrerequisiteClause[],
        bundledUpdates: JSON.parse(r.bundledUpdates as string) as UpdateIdentity[],
        driver: r.driver ? (JSON.parse(r.driver as string) as DriverInfo) : null,
      }));
    },

    /** Per update: what approvals and declines change (cheap; no revision rows are read). */
    deploymentStates(): Map<string, { declined: boolean; changeSeq: number; changedAt: string }> {
      return new Map(deploymentRows.all().map((r) => [r.update_id, {
        declined: r.declined === 1, changeSeq: r.deployment_change_seq, changedAt: r.deployment_changed_at,
      }]));
    },

    allRevisionIds(): Array<{ id: number; updateId: string }> {
      return allRevisionIds.all();
    },

    coreEscaped(revisionId: number): string | undefined {
      return coreById.get(revisionId)?.core_escaped;
    },
    extendedEscaped(revisionId: number): string | undefined {
      return extendedById.get(revisionId)?.extended_escaped;
    },
    localizedEscaped(revisionId: number): Map<string, string> {
      return new Map(localizedById.all(revisionId).map((r) => [r.language, r.xml_escaped]));
    },
    eulaEscaped(revisionId: number): Map<string, string> {
      return new Map(eulaById.all(revisionId).map((r) => [r.language, r.xml_escaped]));
    },
    files(revisionId: number): FileRow[] {
      return filesById.all(revisionId).map(toFileRow);
    },
    filesByDigest(sha1Hex: string): FileRow[] {
      return filesByDigest.all(sha1Hex).map(toFileRow);
    },
    identityOf(revisionId: number): { updateId: string; revisionNumber: number; title: string } | undefined {
      const r = updateByRevisionId.get(revisionId);
      return r ? { updateId: r.update_id, revisionNumber: r.revision_number, title: r.title } : undefined;
    },
  };
}

interface FileRowRaw {
  revision_id: number;
  sha1_hex: string;
  sha1: string;
  sha256: string | null;
  file_name: string;
  size: number;
  is_eula: number;
  mu_url: string | null;
}

function toFileRow(r: FileRowRaw): FileRow {
  return {
    revisionId: r.revision_id,
    sha1Hex: r.sha1_hex,
    sha1: r.sha1,
    sha256: r.sha256,
    fileName: r.file_name,
    size: r.size,
    isEula: r.is_eula === 1,
    muUrl: r.mu_url,
  };
}

export type CatalogStore = ReturnType<typeof createCatalogStore>;
