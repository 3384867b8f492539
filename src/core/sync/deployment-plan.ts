import type { DeploymentsResult, SyncTargetGroup } from '../server-sync/server-sync-model.js';
import { ALL_COMPUTERS_ID, UNASSIGNED_COMPUTERS_ID } from '../targeting/builtin-groups.js';

// Replica mode: what one GetDeployments answer changes here. The upstream owns groups,
// approvals and declines; this plan mirrors them. Only Install and Uninstall become approvals
// (Scan/PreDeploymentCheck is what every unapproved update gets anyway; Block has no meaning
// for clients of a WSUS). Pure: the caller applies the plan in one transaction.

export type MirroredAction = 'Install' | 'Uninstall';

export interface MirroredApproval {
  updateId: string;
  groupId: string;
  action: MirroredAction;
  /** ISO; null = none */
  deadline: string | null;
  upstreamDeploymentGuid: string;
  approvedBy: string;
  /** ISO: the upstream's GoLiveTime */
  approvedAt: string;
}

export interface DeploymentMergePlan {
  /** the upstream's full group list (replaces ours; the built-ins keep their GUIDs) */
  groups: SyncTargetGroup[];
  /** deployment GUIDs deleted upstream */
  removeDeployments: string[];
  upserts: MirroredApproval[];
  /** full set of declined update ids that exist here */
  declined: string[];
  skipped: { scanOrBlock: number; unknownUpdate: number; unknownGroup: number; declined: number; replaced: number; dead: number };
  acceptedEulas: number;
}

export function planDeploymentMerge(result: DeploymentsResult, knownUpdateIds: ReadonlySet<string>): DeploymentMergePlan {
  const lower = (s: string) => s.toLowerCase();
  const groups = result.groups.map((g) => ({ ...g, id: lower(g.id), parentId: lower(g.parentId) }));
  const groupIds = new Set([...groups.map((g) => g.id), ALL_COMPUTERS_ID, UNASSIGNED_COMPUTERS_ID]);
  const dead = new Set(result.deadDeployments.map(lower));
  const hidden = new Set(result.hiddenUpdates.map(lower));
  const skipped = { scanOrBlock: 0, unknownUpdate: 0, unknownGroup: 0, declined: 0, replaced: 0, dead: 0 };

  const byTarget = new Map<string, MirroredApproval>();
  for (const d of result.deployments) {
    const updateId = lower(d.updateId);
    const groupId = lower(d.targetGroupId);
    const guid = lower(d.deploymentGuid);
    if (dead.has(guid)) { skipped.dead++; continue; }
    if (d.action !== 0 && d.action !== 1) { skipped.scanOrBlock++; continue; }
    if (!knownUpdateIds.has(updateId)) { skipped.unknownUpdate++; continue; }
    if (!groupIds.has(groupId)) { skipped.unknownGroup++; continue; }
    if (hidden.has(updateId)) { skipped.declined++; continue; }
    const approval: MirroredApproval = {
      updateId, groupId, action: d.action === 0 ? 'Install' : 'Uninstall', deadline: d.deadline,
      upstreamDeploymentGuid: guid, approvedBy: d.adminName, approvedAt: d.goLiveTime,
    };
    // One approval per (update, group) here: the most recent upstream deployment wins.
    const key = `${updateId}|${groupId}`;
    const prev = byTarget.get(key);
    if (prev) {
      skipped.replaced++;
      if (prev.approvedAt > approval.approvedAt) continue;
    }
    byTarget.set(key, approval);
  }
  return {
    groups,
    removeDeployments: [...dead].sort(),
    upserts: [...byTarget.values()],
    declined: [...hidden].filter((id) => knownUpdateIds.has(id)).sort(),
    skipped,
    acceptedEulas: result.acceptedEulas.length,
  };
}
