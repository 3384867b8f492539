import type { Db } from './database.js';
import { DomainError } from '../core/errors.js';
import { ALL_COMPUTERS_ID } from '../core/targeting/builtin-groups.js';
import { ROOT_PARENT_GROUP, type SyncTargetGroup } from '../core/server-sync/server-sync-model.js';
import { nextCounter } from './server-identity.store.js';
import type { DeploymentHistory } from './deployment-history.js';

// A replica's targeting follows its upstream (GetDeployments): the upstream's groups replace
// ours, its deployments become approvals that remember the upstream deployment GUID, and its
// declined set becomes ours. Every write bumps change_seq like an admin action does, so
// clients pick the change up in their next scan and our own downstreams in GetDeployments.

export interface MirroredApproval {
  updateId: string;
  groupId: string;
  action: 'Install' | 'Uninstall';
  /** ISO; null (or the wire's 9999-12-31 "no deadline") = none */
  deadline: string | null;
  upstreamDeploymentGuid: string;
  approvedBy: string;
  /** ISO (the upstream's GoLiveTime) */
  approvedAt: string;
}

/** unknown-update: not (yet) in our catalog; declined here; unknown-group: call replaceGroupsFromUpstream first */
export type MirrorOutcome = 'applied' | 'unchanged' | 'unknown-update' | 'unknown-group' | 'declined';

export interface GroupReplaceCounts { added: number; updated: number; removed: number; approvalsRemoved: number }
export interface DeclinedSetCounts { declined: number; undeclined: number; unknown: number }

interface GroupRow { id: string; name: string; parent_id: string | null; builtin: number }
interface ApprovalRow { update_pk: number; group_id: string; deployment_id: number; upstream_deployment_guid: string | null }

export function createTargetingMirror(db: Db, history: DeploymentHistory) {
  const groupsAll = db.prepare<[], GroupRow>('SELECT id, name, parent_id, builtin FROM target_groups');
  const insertGroup = db.prepare('INSERT INTO target_groups (id, name, parent_id, builtin, created_at) VALUES (?, ?, ?, ?, ?)');
  const renameGroup = db.prepare('UPDATE target_groups SET name = ? WHERE id = ?');
  const setGroup = db.prepare('UPDATE target_groups SET name = ?, parent_id = ? WHERE id = ?');
  const deleteGroup = db.prepare('DELETE FROM target_groups WHERE id = ?');
  const groupExists = db.prepare<[string], { id: string }>('SELECT id FROM target_groups WHERE id = ?');
  // Computers of a group that no longer exists become unassigned, as on WSUS.
  const unassignComputers = db.prepare('UPDATE computers SET assigned_group_id = NULL WHERE assigned_group_id = ?');
  const approvalsOfGroup = db.prepare<[string], ApprovalRow>(
    'SELECT update_pk, group_id, deployment_id, upstream_deployment_guid FROM approvals WHERE group_id = ?',
  );
  const approvalsOfUpdate = db.prepare<[number], ApprovalRow>(
    'SELECT update_pk, group_id, deployment_id, upstream_deployment_guid FROM approvals WHERE update_pk = ?',
  );
  const approvalOf = db.prepare<[number, string], ApprovalRow>(
    'SELECT update_pk, group_id, deployment_id, upstream_deployment_guid FROM approvals WHERE update_pk = ? AND group_id = ?',
  );
  const approvalByGuid = db.prepare<[string], ApprovalRow>(
    'SELECT update_pk, group_id, deployment_id, upstream_deployment_guid FROM approvals WHERE upstream_deployment_guid = ?',
  );
  const deleteApproval = db.prepare('DELETE FROM approvals WHERE update_pk = ? AND group_id = ?');
  const upsertApproval = db.prepare(
    `INSERT INTO approvals (update_pk, group_id, action, deadline, deployment_id, approved_at, approved_by, change_seq, upstream_deployment_guid)
     VALUES (@updatePk, @groupId, @action, @deadline, @deploymentId, @at, @by, @seq, @guid)
     ON CONFLICT (update_pk, group_id) DO UPDATE SET action = excluded.action, deadline = excluded.deadline,
       deployment_id = excluded.deployment_id, approved_at = excluded.approved_at, approved_by = excluded.approved_by,
       change_seq = excluded.change_seq, upstream_deployment_guid = excluded.upstream_deployment_guid`,
  );
  const updateOf = db.prepare<[string], { id: number; declined: number }>('SELECT id, declined FROM updates WHERE update_id = ?');
  const declinedAll = db.prepare<[], { id: number; update_id: string }>('SELECT id, update_id FROM updates WHERE declined = 1');
  const touchUpdate = db.prepare(
    'UPDATE updates SET deployment_change_seq = ?, deployment_changed_at = ?, declined = COALESCE(?, declined) WHERE id = ?',
  );

  /** One change_seq per mirror call, taken only when something actually changes. */
  function lazySeq(): () => number {
    let seq: number | undefined;
    return () => (seq ??= nextCounter(db, 'change_seq'));
  }

  function removeApproval(a: ApprovalRow, seq: number, now: Date): void {
    deleteApproval.run(a.update_pk, a.group_id);
    history.bury(a, seq, now);
    touchUpdate.run(seq, now.toISOString(), null, a.update_pk);
  }

  function applyApproval(a: MirroredApproval, seq: () => number, now: Date): MirrorOutcome {
    const u = updateOf.get(a.updateId.toLowerCase());
    if (!u) return 'unknown-update';
    if (u.declined) return 'declined';
    const groupId = a.groupId.toLowerCase();
    if (!groupExists.get(groupId)) return 'unknown-group';
    const guid = a.upstreamDeploymentGuid.toLowerCase();
    const previous = approvalOf.get(u.id, groupId);
    if (previous?.upstream_deployment_guid === guid) return 'unchanged';
    const s = seq();
    if (previous) history.bury(previous, s, now);
    history.revive(guid);
    upsertApproval.run({
      updatePk: u.id, groupId, action: a.action,
      deadline: a.deadline === null || a.deadline.startsWith('9999-') ? null : a.deadline,
      deploymentId: nextCounter(db, 'deployment_id'), at: a.approvedAt, by: a.approvedBy, seq: s, guid,
    });
    touchUpdate.run(s, now.toISOString(), null, u.id);
    return 'applied';
  }

  return {
    /**
     * Makes our groups exactly the upstream's (same GUIDs). Groups that are not upstream's lose
     * their approvals and computers; built-in groups are kept. Call before applying deployments.
     */
    replaceGroupsFromUpstream(groups: readonly SyncTargetGroup[], now: Date): GroupReplaceCounts {
      return db.transaction(() => {
        // Parents may arrive after their children, and a moved group may point at a parent
        // that is removed in this same call: check references once, at commit.
        db.pragma('defer_foreign_keys = ON');
        const seq = lazySeq();
        const at = now.toISOString();
        const counts: GroupReplaceCounts = { added: 0, updated: 0, removed: 0, approvalsRemoved: 0 };
        const existing = new Map(groupsAll.all().map((g) => [g.id, g]));
        const incoming = new Map(groups.map((g) => [g.id.toLowerCase(), g]));
        for (const g of existing.values()) {
          if (g.builtin || incoming.has(g.id)) continue;
          for (const a of approvalsOfGroup.all(g.id)) {
            removeApproval(a, seq(), now);
            counts.approvalsRemoved++;
          }
          unassignComputers.run(g.id);
          deleteGroup.run(g.id);
          counts.removed++;
          seq();
        }
        const parentOf = (g: SyncTargetGroup): string | null => {
          const p = g.parentId.toLowerCase();
          if (p === ROOT_PARENT_GROUP) return null;
          return incoming.has(p) || existing.get(p)?.builtin ? p : ALL_COMPUTERS_ID;
        };
        const changed = [...incoming].filter(([id, g]) => {
          const e = existing.get(id);
          return e && !e.builtin && (e.name !== g.name || e.parent_id !== parentOf(g));
        });
        // Renames can swap names between groups: park them on unique names first.
        for (const [id] of changed) renameGroup.run(`~upstream-rename-${id}`, id);
        for (const [id, g] of changed) {
          setGroup.run(g.name, parentOf(g), id);
          counts.updated++;
        }
        for (const [id, g] of incoming) {
          if (existing.has(id)) continue;
          try {
            insertGroup.run(id, g.name, parentOf(g), g.isBuiltin ? 1 : 0, at);
          } catch (e) {
            throw new DomainError('Conflict', 'groups', `upstream group "${g.name}" (${id}) clashes with a group of this server: ${(e as Error).message}`);
          }
          counts.added++;
        }
        if (counts.added || counts.updated) seq();
        return counts;
      }).immediate();
    },

    /** Applies one upstream deployment to the (update, group) it targets. Idempotent per upstream GUID. */
    upsertMirroredApproval(a: MirroredApproval, now: Date): MirrorOutcome {
      return db.transaction(() => applyApproval(a, lazySeq(), now)).immediate();
    },

    /** Many deployments in one transaction with one change_seq; returns how each fared. */
    upsertMirroredApprovals(list: readonly MirroredApproval[], now: Date): Record<MirrorOutcome, number> {
      return db.transaction(() => {
        const seq = lazySeq();
        const counts: Record<MirrorOutcome, number> = { applied: 0, unchanged: 0, 'unknown-update': 0, 'unknown-group': 0, declined: 0 };
        for (const a of list) counts[applyApproval(a, seq, now)]++;
        return counts;
      }).immediate();
    },

    /** A DeadDeployment: removes the approval that mirrors it; false when none does. */
    removeMirroredApproval(upstreamDeploymentGuid: string, now: Date): boolean {
      return db.transaction(() => {
        const a = approvalByGuid.get(upstreamDeploymentGuid.toLowerCase());
        if (!a) return false;
        removeApproval(a, nextCounter(db, 'change_seq'), now);
        return true;
      }).immediate();
    },

    /**
     * Declined = exactly `updateIds` (the upstream's HiddenUpdates). Newly declined updates lose
     * their approvals; only updates whose state changes are bumped. Ids not in our catalog are
     * counted as unknown (they are declined when a later call finds them imported).
     */
    setDeclinedSet(updateIds: readonly string[], now: Date): DeclinedSetCounts {
      return db.transaction(() => {
        const seq = lazySeq();
        const at = now.toISOString();
        const counts: DeclinedSetCounts = { declined: 0, undeclined: 0, unknown: 0 };
        const wanted = new Set(updateIds.map((id) => id.toLowerCase()));
        for (const u of declinedAll.all()) {
          if (wanted.has(u.update_id)) continue;
          touchUpdate.run(seq(), at, 0, u.id);
          counts.undeclined++;
        }
        for (const id of wanted) {
          const u = updateOf.get(id);
          if (!u) {
            counts.unknown++;
            continue;
          }
          if (u.declined) continue;
          for (const a of approvalsOfUpdate.all(u.id)) removeApproval(a, seq(), now);
          touchUpdate.run(seq(), at, 1, u.id);
          counts.declined++;
        }
        return counts;
      }).immediate();
    },
  };
}
