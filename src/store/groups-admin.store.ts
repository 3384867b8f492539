import type { Db } from './database.js';
import { DomainError } from '../core/errors.js';
import { nextCounter } from './server-identity.store.js';
import { createDeploymentHistory } from './deployment-history.js';
import { createGroupDeploymentTouch } from './group-deployments.js';

// Group tree changes behind `wsus groups rename|move|delete|list` (create stays in
// targeting.store). Every change bumps change_seq: group names and parents shape what
// clients are offered (client-side targeting by name, inherited approvals) and downstream
// replicas take the whole tree in GetDeployments.

export interface GroupRow {
  id: string;
  name: string;
  parentId: string | null;
  builtin: boolean;
  createdAt: string;
}

export interface GroupCounts { computers: number; approvals: number }

export function createGroupsAdminStore(db: Db) {
  const all = db.prepare<[], { id: string; name: string; parent_id: string | null; builtin: number; created_at: string }>(
    'SELECT id, name, parent_id, builtin, created_at FROM target_groups ORDER BY builtin DESC, name COLLATE NOCASE',
  );
  const computerCounts = db.prepare<[], { group_id: string | null; n: number }>(
    'SELECT assigned_group_id AS group_id, count(*) AS n FROM computers GROUP BY assigned_group_id',
  );
  const approvalCounts = db.prepare<[], { group_id: string; n: number }>('SELECT group_id, count(*) AS n FROM approvals GROUP BY group_id');
  const byName = db.prepare<[string, string], { id: string }>('SELECT id FROM target_groups WHERE name = ? COLLATE NOCASE AND id != ?');
  const rename = db.prepare('UPDATE target_groups SET name = ? WHERE id = ?');
  const reparent = db.prepare('UPDATE target_groups SET parent_id = ? WHERE id = ?');
  const computersOf = db.prepare<[string], { client_id: string; dns_name: string }>(
    'SELECT client_id, dns_name FROM computers WHERE assigned_group_id = ? ORDER BY dns_name COLLATE NOCASE',
  );
  const approvalsOfGroup = db.prepare<[string], { update_pk: number; group_id: string; deployment_id: number; upstream_deployment_guid: string | null }>(
    'SELECT update_pk, group_id, deployment_id, upstream_deployment_guid FROM approvals WHERE group_id = ?',
  );
  const deleteApproval = db.prepare('DELETE FROM approvals WHERE update_pk = ? AND group_id = ?');
  const touchUpdate = db.prepare('UPDATE updates SET deployment_change_seq = ?, deployment_changed_at = ? WHERE id = ?');
  const unassign = db.prepare('UPDATE computers SET assigned_group_id = NULL WHERE assigned_group_id = ?');
  const deleteGroup = db.prepare('DELETE FROM target_groups WHERE id = ?');
  const history = createDeploymentHistory(db);
  const touchGroups = createGroupDeploymentTouch(db);

  return {
    all(): GroupRow[] {
      return all.all().map((g) => ({ id: g.id, name: g.name, parentId: g.parent_id, builtin: g.builtin === 1, createdAt: g.created_at }));
    },
    /** Direct members (server-side assignment) and approvals per group; key null = never assigned. */
    counts(): Map<string | null, GroupCounts> {
      const out = new Map<string | null, GroupCounts>();
      const at = (id: string | null): GroupCounts => {
        let c = out.get(id);
        if (!c) out.set(id, c = { computers: 0, approvals: 0 });
        return c;
      };
      for (const r of computerCounts.all()) at(r.group_id).computers = r.n;
      for (const r of approvalCounts.all()) at(r.group_id).approvals = r.n;
      return out;
    },
    computersOf(groupId: string): Array<{ clientId: string; dnsName: string }> {
      return computersOf.all(groupId).map((c) => ({ clientId: c.client_id, dnsName: c.dns_name }));
    },
    approvalCountOf(groupId: string): number {
      return approvalsOfGroup.all(groupId).length;
    },

    /** `affected`: groups whose approvals some computers gain or lose through the change (see group-deployments). */
    rename(id: string, name: string, affected: readonly string[], now: Date): void {
      db.transaction(() => {
        if (byName.get(name, id)) throw new DomainError('Conflict', 'name', `group "${name}" already exists`);
        rename.run(name, id);
        touchGroups(affected, nextCounter(db, 'change_seq'), now);
      }).immediate();
    },

    move(id: string, parentId: string, affected: readonly string[], now: Date): void {
      db.transaction(() => {
        reparent.run(parentId, id);
        touchGroups(affected, nextCounter(db, 'change_seq'), now);
      }).immediate();
    },

    /**
     * Deletes these groups (pass them deepest first): their approvals are removed (tombstoned
     * for downstreams) and their computers become unassigned. Returns what was removed.
     */
    deleteGroups(ids: readonly string[], affected: readonly string[], now: Date): { approvalsRemoved: number; computersUnassigned: number } {
      return db.transaction(() => {
        const seq = nextCounter(db, 'change_seq');
        const at = now.toISOString();
        let approvalsRemoved = 0;
        let computersUnassigned = 0;
        const touched = new Set<number>();
        for (const id of ids) {
          for (const a of approvalsOfGroup.all(id)) {
            deleteApproval.run(a.update_pk, a.group_id);
            history.bury(a, seq, now);
            touched.add(a.update_pk);
            approvalsRemoved++;
          }
          computersUnassigned += unassign.run(id).changes;
          deleteGroup.run(id);
        }
        for (const pk of touched) touchUpdate.run(seq, at, pk);
        if (computersUnassigned > 0) touchGroups(affected, seq, now);
        return { approvalsRemoved, computersUnassigned };
      }).immediate();
    },
  };
}

export type GroupsAdminStore = ReturnType<typeof createGroupsAdminStore>;
