import type { Db } from './database.js';
import { DomainError } from '../core/errors.js';
import type { ExclusionKind, ExclusionRule } from '../core/sync/exclusion-rules.js';
import type { ExclusionDecision } from '../core/sync/exclusion-plan.js';

// All SQL of the downstream role's own state: key/value sync state (anchors, cookie, last
// synced selection…), the admin's selection and exclusion rules, the record of excluded
// updates. Staging, runs and catalog look-ups live in the sibling sync-*.store.ts files.

export type SelectionKind = 'product' | 'classification' | 'language';

export interface ExcludedRow {
  updateId: string;
  revisionNumber: number;
  title: string;
  reason: string;
  excludedAt: string;
}

export function createSyncStore(db: Db) {
  const getQ = db.prepare<[string], { value: string }>('SELECT value FROM sync_state WHERE key = ?');
  const putQ = db.prepare('INSERT INTO sync_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  const delQ = db.prepare('DELETE FROM sync_state WHERE key = ?');
  const prefixQ = db.prepare<[string], { key: string; value: string }>("SELECT key, value FROM sync_state WHERE key LIKE ? ESCAPE '\\'");

  const selectionQ = db.prepare<[SelectionKind], { id: string }>('SELECT id FROM sync_selection WHERE kind = ? ORDER BY id');
  const selectAddQ = db.prepare('INSERT OR IGNORE INTO sync_selection (kind, id) VALUES (?, ?)');
  const selectDelQ = db.prepare('DELETE FROM sync_selection WHERE kind = ? AND id = ?');

  const rulesQ = db.prepare<[], { id: number; kind: ExclusionKind; pattern: string; created_at: string }>(
    'SELECT id, kind, pattern, created_at FROM sync_exclusions ORDER BY id',
  );
  const ruleByKeyQ = db.prepare<[string, string], { id: number }>('SELECT id FROM sync_exclusions WHERE kind = ? AND pattern = ?');
  const ruleAddQ = db.prepare('INSERT INTO sync_exclusions (kind, pattern, created_at) VALUES (?, ?, ?)');
  const ruleGetQ = db.prepare<[number], { id: number; kind: ExclusionKind; pattern: string }>('SELECT id, kind, pattern FROM sync_exclusions WHERE id = ?');
  const ruleDelQ = db.prepare('DELETE FROM sync_exclusions WHERE id = ?');

  const excludeQ = db.prepare(
    `INSERT INTO sync_excluded (update_id, revision_number, title, reason, excluded_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (update_id) DO UPDATE SET revision_number = excluded.revision_number, title = excluded.title,
       reason = excluded.reason, excluded_at = excluded.excluded_at`,
  );
  const unexcludeQ = db.prepare('DELETE FROM sync_excluded WHERE update_id = ? AND revision_number <= ?');
  const excludedAllQ = db.prepare<[], { update_id: string; revision_number: number }>('SELECT update_id, revision_number FROM sync_excluded');
  const excludedPageQ = db.prepare<[number], { update_id: string; revision_number: number; title: string; reason: string; excluded_at: string }>(
    'SELECT update_id, revision_number, title, reason, excluded_at FROM sync_excluded ORDER BY excluded_at DESC, update_id LIMIT ?',
  );
  const excludedCountQ = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM sync_excluded');

  return {
    get(key: string): string | undefined {
      return getQ.get(key)?.value;
    },
    set(key: string, value: string): void {
      putQ.run(key, value);
    },
    delete(key: string): void {
      delQ.run(key);
    },
    getJson<T>(key: string): T | undefined {
      const v = getQ.get(key)?.value;
      return v === undefined ? undefined : (JSON.parse(v) as T);
    },
    setJson(key: string, value: unknown): void {
      putQ.run(key, JSON.stringify(value));
    },
    /** Every key starting with `prefix` (literal; `%` and `_` are escaped). */
    withPrefix(prefix: string): Map<string, string> {
      const like = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      return new Map(prefixQ.all(like).map((r) => [r.key, r.value]));
    },

    selection(kind: SelectionKind): string[] {
      return selectionQ.all(kind).map((r) => r.id);
    },
    /** Returns the ids that were not selected before. */
    select(kind: SelectionKind, ids: readonly string[]): string[] {
      return db.transaction(() => ids.filter((id) => selectAddQ.run(kind, id).changes > 0)).immediate();
    },
    deselect(kind: SelectionKind, ids: readonly string[]): string[] {
      return db.transaction(() => ids.filter((id) => selectDelQ.run(kind, id).changes > 0)).immediate();
    },

    rules(): Array<ExclusionRule & { createdAt: string }> {
      return rulesQ.all().map((r) => ({ id: r.id, kind: r.kind, pattern: r.pattern, createdAt: r.created_at }));
    },
    addRule(kind: ExclusionKind, pattern: string, now: Date): ExclusionRule {
      return db.transaction(() => {
        const existing = ruleByKeyQ.get(kind, pattern);
        if (existing) throw new DomainError('Conflict', 'rule', `exclusion rule ${existing.id} already excludes ${kind} ${pattern}`);
        const id = Number(ruleAddQ.run(kind, pattern, now.toISOString()).lastInsertRowid);
        return { id, kind, pattern };
      }).immediate();
    },
    removeRule(id: number): ExclusionRule | undefined {
      return db.transaction(() => {
        const r = ruleGetQ.get(id);
        if (r) ruleDelQ.run(id);
        return r;
      }).immediate();
    },

    /** Call inside the caller's transaction. */
    recordExcluded(d: ExclusionDecision, now: Date): void {
      excludeQ.run(d.updateId, d.revisionNumber, d.title, d.reason, now.toISOString());
    },
    /** A kept revision clears an older exclusion of the same update (call inside a transaction). */
    clearExcluded(updateId: string, revisionNumber: number): void {
      unexcludeQ.run(updateId, revisionNumber);
    },
    clearAllExcluded(): number {
      return db.prepare('DELETE FROM sync_excluded').run().changes;
    },
    excludedKeys(): Set<string> {
      return new Set(excludedAllQ.all().map((r) => `${r.update_id}:${r.revision_number}`));
    },
    excluded(limit: number): ExcludedRow[] {
      return excludedPageQ.all(limit).map((r) => ({
        updateId: r.update_id, revisionNumber: r.revision_number, title: r.title, reason: r.reason, excludedAt: r.excluded_at,
      }));
    },
    excludedCount(): number {
      return excludedCountQ.get()!.n;
    },
  };
}

export type SyncStore = ReturnType<typeof createSyncStore>;
