import { randomUUID } from 'node:crypto';
import type { Db } from './database.js';
import { DomainError, notFound } from '../core/errors.js';
import {
  ALL_COMPUTERS_ID, ALL_COMPUTERS_NAME, UNASSIGNED_COMPUTERS_ID, UNASSIGNED_COMPUTERS_NAME,
} from '../core/targeting/builtin-groups.js';
import type { GroupNode } from '../core/targeting/group-tree.js';
import { nextCounter } from './server-identity.store.js';
import { createDeploymentHistory } from './deployment-history.js';
import { createTargetingMirror } from './targeting-mirror.store.js';

export type ApprovalAction = 'Install' | 'Uninstall';

export interface ApprovalRow {
  updateId: string;
  groupId: string;
  action: ApprovalAction;
  deadline: string | null;
  deploymentId: number;
  approvedAt: string;
}

export function createTargetingStore(db: Db) {
  const insertGroup = db.prepare(
    'INSERT OR IGNORE INTO target_groups (id, name, parent_id, builtin, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  const groupsAll = db.prepare<[], { id: string; name: string; parent_id: string | null }>(
    'SELECT id, name, parent_id FROM target_groups',
  );
  const groupByName = db.prepare<[string], { id: string }>('SELECT id FROM target_groups WHERE name = ? COLLATE NOCASE');
  const updatePkOf = db.prepare<[string], { id: number; declined: number }>('SELECT id, declined FROM updates WHERE update_id = ?');
  // A local approval replacing a mirrored one stops mirroring (upstream_deployment_guid cleared).
  const upsertApproval = db.prepare(
    `INSERT INTO approvals (update_pk, group_id, action, deadline, deployment_id, approved_at, approved_by, change_seq)
     VALUES (@updatePk, @groupId, @action, @deadline, @deploymentId, @at, @by, @seq)
     ON CONFLICT (update_pk, group_id) DO UPDATE SET action = excluded.action, deadline = excluded.deadline,
       deployment_id = excluded.deployment_id, approved_at = excluded.approved_at, approved_by = excluded.approved_by,
       change_seq = excluded.change_seq, upstream_deployment_guid = NULL`,
  );
  const approvalOf = db.prepare<[number, string], { deployment_id: number; upstream_deployment_guid: string | null }>(
    'SELECT deployment_id, upstream_deployment_guid FROM approvals WHERE update_pk = ? AND group_id = ?',
  );
  const approvalsOfUpdate = db.prepare<[number], { deployment_id: number; upstream_deployment_guid: string | null }>(
    'SELECT deployment_id, upstream_deployment_guid FROM approvals WHERE update_pk = ?',
  );
  const deleteApproval = db.prepare('DELETE FROM approvals WHERE update_pk = ? AND group_id = ?');
  const deleteApprovalsOfUpdate = db.prepare('DELETE FROM approvals WHERE update_pk = ?');
  const history = createDeploymentHistory(db);
  const touchUpdate = db.prepare(
    'UPDATE updates SET deployment_change_seq = ?, deployment_changed_at = ?, declined = COALESCE(?, declined) WHERE id = ?',
  );
  const approvalsAll = db.prepare<[], { update_id: string; group_id: string; action: ApprovalAction; deadline: string | null; deployment_id: number; approved_at: string }>(
    `SELECT u.update_id, a.group_id, a.action, a.deadline, a.deployment_id, a.approved_at
       FROM approvals a JOIN updates u ON u.id = a.update_pk`,
  );

  function requireUpdate(updateId: string): { id: number; declined: number } {
    const u = updatePkOf.get(updateId.toLowerCase());
    if (!u) throw notFound(`update ${updateId}`);
    return u;
  }

  // One change_seq per admin action: the approval row, its tombstones and the update's
  // deployment state all carry it, so clients and downstreams see the change together.
  function bump(updatePk: number, seq: number, now: Date, declined: number | null): void {
    touchUpdate.run(seq, now.toISOString(), declined, updatePk);
  }

  return {
    ensureBuiltinGroups(now: Date): void {
      const at = now.toISOString();
      insertGroup.run(ALL_COMPUTERS_ID, ALL_COMPUTERS_NAME, null, 1, at);
      insertGroup.run(UNASSIGNED_COMPUTERS_ID, UNASSIGNED_COMPUTERS_NAME, ALL_COMPUTERS_ID, 1, at);
    },

    groups(): GroupNode[] {
      return groupsAll.all().map((g) => ({ id: g.id, name: g.name, parentId: g.parent_id }));
    },

    groupIdByName(name: string): string | undefined {
      return groupByName.get(name)?.id;
    },

    createGroup(name: string, parentName: string | undefined, now: Date): GroupNode {
      const clean = name.trim();
      if (!clean || clean.length > 256 || clean.includes(';')) {
        throw new DomainError('InvalidInput', 'name', 'a group name must be 1-256 characters without ";"');
      }
      return db.transaction(() => {
        if (groupByName.get(clean)) throw new DomainError('Conflict', 'name', `group "${clean}" already exists`);
        let parentId = ALL_COMPUTERS_ID;
        if (parentName) {
          const p = groupByName.get(parentName);
          if (!p) throw notFound(`group "${parentName}"`);
          if (p.id === UNASSIGNED_COMPUTERS_ID) {
            throw new DomainError('InvalidInput', 'parent', 'groups cannot be created under Unassigned Computers');
          }
          parentId = p.id;
        }
        const id = randomUUID();
        insertGroup.run(id, clean, parentId, 0, now.toISOString());
        // Groups shape deployments, not the catalog: a deployment refresh picks them up.
        nextCounter(db, 'change_seq');
        return { id, name: clean, parentId };
      }).immediate();
    },

    approve(updateId: string, groupName: string, action: ApprovalAction, deadline: string | null, by: string, now: Date): ApprovalRow {
      return db.transaction(() => {
        const u = requireUpdate(updateId);
        if (u.declined) throw new DomainError('Conflict', 'update', `update ${updateId} is declined; undecline it before approving`);
        const g = groupByName.get(groupName);
        if (!g) throw notFound(`group "${groupName}"`);
        const seq = nextCounter(db, 'change_seq');
        // Re-approving is a new deployment: downstreams drop the old one and take the new one.
        const previous = approvalOf.get(u.id, g.id);
        if (previous) history.bury(previous, seq, now);
        const deploymentId = nextCounter(db, 'deployment_id');
        upsertApproval.run({ updatePk: u.id, groupId: g.id, action, deadline, deploymentId, at: now.toISOString(), by, seq });
        bump(u.id, seq, now, null);
        return { updateId: updateId.toLowerCase(), groupId: g.id, action, deadline, deploymentId, approvedAt: now.toISOString() };
      }).immediate();
    },

    unapprove(updateId: string, groupName: string, now: Date): boolean {
      return db.transaction(() => {
        const u = requireUpdate(updateId);
        const g = groupByName.get(groupName);
        if (!g) throw notFound(`group "${groupName}"`);
        const previous = approvalOf.get(u.id, g.id);
        if (!previous) return false;
        deleteApproval.run(u.id, g.id);
        const seq = nextCounter(db, 'change_seq');
        history.bury(previous, seq, now);
        bump(u.id, seq, now, null);
        return true;
      }).immediate();
    },

    /** Declining removes every approval: a declined update is never delivered to any client. */
    setDeclined(updateId: string, declined: boolean, now: Date): void {
      db.transaction(() => {
        const u = requireUpdate(updateId);
        const seq = nextCounter(db, 'change_seq');
        if (declined) {
          for (const a of approvalsOfUpdate.all(u.id)) history.bury(a, seq, now);
          deleteApprovalsOfUpdate.run(u.id);
        }
        bump(u.id, seq, now, declined ? 1 : 0);
      }).immediate();
    },

    approvals(): ApprovalRow[] {
      return approvalsAll.all().map((a) => ({
        updateId: a.update_id, groupId: a.group_id, action: a.action, deadline: a.deadline,
        deploymentId: a.deployment_id, approvedAt: a.approved_at,
      }));
    },

    // What a replica needs to mirror its upstream (GetDeployments).
    ...createTargetingMirror(db, history),
  };
}

export type TargetingStore = ReturnType<typeof createTargetingStore>;
