import type { Db } from './database.js';
import { DomainError } from '../core/errors.js';
import type { ApprovalCriteria, DeclineCondition, MaintenanceRule, RuleKind } from '../core/maintenance/rule-model.js';
import { readCounter } from './server-identity.store.js';

// All SQL of the automatic rules (maintenance_rules): criteria are JSON validated by
// core/maintenance/rule-model.ts before they get here.

interface Raw {
  id: number;
  kind: RuleKind;
  name: string;
  enabled: number;
  criteria: string;
  since_seq: number;
  created_at: string;
  updated_at: string;
}

const COLUMNS = 'id, kind, name, enabled, criteria, since_seq, created_at, updated_at';

function toRule(r: Raw): MaintenanceRule {
  const base = { id: r.id, name: r.name, enabled: r.enabled === 1, sinceSeq: r.since_seq, createdAt: r.created_at, updatedAt: r.updated_at };
  return r.kind === 'approval'
    ? { ...base, kind: 'approval', criteria: JSON.parse(r.criteria) as ApprovalCriteria }
    : { ...base, kind: 'decline', criteria: JSON.parse(r.criteria) as DeclineCondition };
}

export function createMaintenanceRulesStore(db: Db) {
  const allQ = db.prepare<[], Raw>(`SELECT ${COLUMNS} FROM maintenance_rules ORDER BY kind, id`);
  const byIdQ = db.prepare<[number], Raw>(`SELECT ${COLUMNS} FROM maintenance_rules WHERE id = ?`);
  const byNameQ = db.prepare<[string], Raw>(`SELECT ${COLUMNS} FROM maintenance_rules WHERE name = ? COLLATE NOCASE`);
  const insertQ = db.prepare(
    'INSERT INTO maintenance_rules (kind, name, enabled, criteria, since_seq, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const updateQ = db.prepare('UPDATE maintenance_rules SET name = ?, enabled = ?, criteria = ?, updated_at = ? WHERE id = ?');
  const deleteQ = db.prepare('DELETE FROM maintenance_rules WHERE id = ?');

  function find(ref: string | number): MaintenanceRule {
    const raw = typeof ref === 'number' || /^\d+$/.test(ref) ? byIdQ.get(Number(ref)) : byNameQ.get(ref.trim());
    if (!raw) {
      const what = `rule ${typeof ref === 'number' ? ref : JSON.stringify(ref)}`;
      throw new DomainError('NotFound', what, `${what} not found (wsus rules list shows them)`);
    }
    return toRule(raw);
  }

  return {
    list(): MaintenanceRule[] {
      return allQ.all().map(toRule);
    },
    /** By id (a number) or name (case-insensitive); NotFound otherwise. */
    get: find,
    create(r: { kind: RuleKind; name: string; enabled: boolean; criteria: ApprovalCriteria | DeclineCondition }, now: Date): MaintenanceRule {
      return db.transaction(() => {
        if (byNameQ.get(r.name)) throw new DomainError('Conflict', 'name', `a rule named "${r.name}" already exists`);
        const at = now.toISOString();
        const id = Number(insertQ.run(r.kind, r.name, r.enabled ? 1 : 0, JSON.stringify(r.criteria), readCounter(db, 'change_seq'), at, at).lastInsertRowid);
        return toRule(byIdQ.get(id)!);
      }).immediate();
    },
    update(ref: string | number, patch: { name?: string; enabled?: boolean; criteria?: ApprovalCriteria | DeclineCondition }, now: Date): MaintenanceRule {
      return db.transaction(() => {
        const cur = find(ref);
        const name = patch.name ?? cur.name;
        const clash = byNameQ.get(name);
        if (clash && clash.id !== cur.id) throw new DomainError('Conflict', 'name', `a rule named "${name}" already exists`);
        updateQ.run(name, (patch.enabled ?? cur.enabled) ? 1 : 0, JSON.stringify(patch.criteria ?? cur.criteria), now.toISOString(), cur.id);
        return toRule(byIdQ.get(cur.id)!);
      }).immediate();
    },
    remove(ref: string | number): MaintenanceRule {
      return db.transaction(() => {
        const cur = find(ref);
        deleteQ.run(cur.id);
        return cur;
      }).immediate();
    },
  };
}

export type MaintenanceRulesStore = ReturnType<typeof createMaintenanceRulesStore>;
