import type { Db } from './database.js';
import { DomainError } from '../core/errors.js';
import { nextCounter } from './server-identity.store.js';
import { createDeploymentHistory } from './deployment-history.js';

// Approvals and declines of many updates and groups as ONE admin action: one transaction, one
// change_seq (clients and downstream replicas see the whole action together), deployment ids
// taken as one block. Same rules as targeting.store's single-row functions: a replaced or
// removed approval leaves a tombstone for downstreams, and the update's deployment state is
// bumped so scanning clients get the change.

export type Action = 'Install' | 'Uninstall';

export interface ExistingApproval {
  updatePk: number;
  groupId: string;
  action: Action;
  deadline: string | null;
  mirrored: boolean;
}

export interface ApprovalWrite {
  updatePk: number;
  groupId: string;
  action: Action;
  deadline: string | null;
}

interface ApprovalRaw { update_pk: number; group_id: string; action: Action; deadline: string | null; deployment_id: number; upstream_deployment_guid: string | null }

export function createApprovalsBulkStore(db: Db) {
  const history = createDeploymentHistory(db);
  const approvalsOfUpdates = db.prepare<[string], ApprovalRaw>(
    `SELECT update_pk, group_id, action, deadline, deployment_id, upstream_deployment_guid FROM approvals
      WHERE update_pk IN (SELECT value FROM json_each(?))`,
  );
  const approvalOf = db.prepare<[number, string], ApprovalRaw>(
    'SELECT update_pk, group_id, action, deadline, deployment_id, upstream_deployment_guid FROM approvals WHERE update_pk = ? AND group_id = ?',
  );
  const declinedOf = db.prepare<[string], { id: number; update_id: string }>(
    'SELECT id, update_id FROM updates WHERE declined = 1 AND id IN (SELECT value FROM json_each(?))',
  );
  const groupExists = db.prepare<[string], { id: string }>('SELECT id FROM target_groups WHERE id = ?');
  const upsert = db.prepare(
    `INSERT INTO approvals (update_pk, group_id, action, deadline, deployment_id, approved_at, approved_by, change_seq)
     VALUES (@updatePk, @groupId, @action, @deadline, @deploymentId, @at, @by, @seq)
     ON CONFLICT (update_pk, group_id) DO UPDATE SET action = excluded.action, deadline = excluded.deadline,
       deployment_id = excluded.deployment_id, approved_at = excluded.approved_at, approved_by = excluded.approved_by,
       change_seq = excluded.change_seq, upstream_deployment_guid = NULL`,
  );
  const remove = db.prepare('DELETE FROM approvals WHERE update_pk = ? AND group_id = ?');
  const touch = db.prepare(
    'UPDATE updates SET deployment_change_seq = ?, deployment_changed_at = ?, declined = COALESCE(?, declined) WHERE id = ?',
  );
  const takeDeploymentIds = db.prepare<[number], { value: number }>(
    "UPDATE counters SET value = value + ? WHERE name = 'deployment_id' RETURNING value",
  );

  return {
    /** Current approvals of these updates (every group). */
    approvalsOf(updatePks: readonly number[]): ExistingApproval[] {
      if (updatePks.length === 0) return [];
      return approvalsOfUpdates.all(JSON.stringify(updatePks)).map((a) => ({
        updatePk: a.update_pk, groupId: a.group_id, action: a.action, deadline: a.deadline, mirrored: a.upstream_deployment_guid !== null,
      }));
    },

    /**
     * Writes the approvals that differ from what is stored (same action and deadline = left as
     * is: no new deployment). Refuses the whole action (Conflict) when an update was declined or
     * a group deleted since the caller planned. Returns how many approvals were written.
     */
    approveMany(writes: readonly ApprovalWrite[], by: string, now: Date): number {
      return db.transaction(() => {
        const pks = [...new Set(writes.map((w) => w.updatePk))];
        const declined = declinedOf.all(JSON.stringify(pks));
        if (declined.length) {
          throw new DomainError('Conflict', 'updates', `declined updates cannot be approved (undecline them first): ${declined.map((d) => d.update_id).join(', ')}`);
        }
        for (const g of new Set(writes.map((w) => w.groupId))) {
          if (!groupExists.get(g)) throw new DomainError('Conflict', 'groups', `group ${g} was deleted meanwhile; nothing was approved`);
        }
        const todo = writes.filter((w) => {
          const prev = approvalOf.get(w.updatePk, w.groupId);
          return !prev || prev.action !== w.action || prev.deadline !== w.deadline || prev.upstream_deployment_guid !== null;
        });
        if (todo.length === 0) return 0;
        const seq = nextCounter(db, 'change_seq');
        const at = now.toISOString();
        let deploymentId = takeDeploymentIds.get(todo.length)!.value - todo.length;
        const touched = new Set<number>();
        for (const w of todo) {
          const prev = approvalOf.get(w.updatePk, w.groupId);
          // Re-approving is a new deployment: downstreams drop the old one and take the new one.
          if (prev) history.bury(prev, seq, now);
          upsert.run({ updatePk: w.updatePk, groupId: w.groupId, action: w.action, deadline: w.deadline, deploymentId: ++deploymentId, at, by, seq });
          touched.add(w.updatePk);
        }
        for (const pk of touched) touch.run(seq, at, null, pk);
        return todo.length;
      }).immediate();
    },

    /** Removes these (update, group) approvals where they exist; returns how many were removed. */
    unapproveMany(pairs: ReadonlyArray<{ updatePk: number; groupId: string }>, now: Date): number {
      return db.transaction(() => {
        const found = pairs.map((p) => approvalOf.get(p.updatePk, p.groupId)).filter((a): a is ApprovalRaw => a !== undefined);
        if (found.length === 0) return 0;
        const seq = nextCounter(db, 'change_seq');
        const at = now.toISOString();
        const touched = new Set<number>();
        for (const a of found) {
          remove.run(a.update_pk, a.group_id);
          history.bury(a, seq, now);
          touched.add(a.update_pk);
        }
        for (const pk of touched) touch.run(seq, at, null, pk);
        return found.length;
      }).immediate();
    },

    /** Declines (removing every approval) or undeclines these updates; returns approvals removed. */
    setDeclinedMany(updatePks: readonly number[], declined: boolean, now: Date): number {
      if (updatePks.length === 0) return 0;
      return db.transaction(() => {
        const seq = nextCounter(db, 'change_seq');
        const at = now.toISOString();
        let removed = 0;
        if (declined) {
          for (const a of approvalsOfUpdates.all(JSON.stringify(updatePks))) {
            remove.run(a.update_pk, a.group_id);
            history.bury(a, seq, now);
            removed++;
          }
        }
        for (const pk of updatePks) touch.run(seq, at, declined ? 1 : 0, pk);
        return removed;
      }).immediate();
    },
  };
}

export type ApprovalsBulkStore = ReturnType<typeof createApprovalsBulkStore>;
