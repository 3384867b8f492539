import { invalidParameters } from '../../core/errors.js';
import { formatAnchor } from '../../core/server-sync/anchor.js';
import { deploymentGuid } from '../../core/server-sync/derived-guid.js';
import { ROOT_PARENT_GROUP, type DeploymentsResult } from '../../core/server-sync/server-sync-model.js';
import { createUpstreamDeploymentsStore } from '../../store/upstream-deployments.store.js';
import { readCounter } from '../../store/server-identity.store.js';
import { anchorCounter, type UpstreamRoleDeps } from './upstream-role.deps.js';
import type { DssSession } from './upstream-role.types.js';

// GetDeployments for replica downstreams (MS-WSUSSS 3.1.4.10): the full group list, the
// approvals changed and deleted between the deployment anchor and the sync anchor, declined
// updates and accepted EULAs.

const EULA_ID_RE = /\bEulaID\s*=\s*["']([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})["']/;

export function createUpstreamDeployments(deps: UpstreamRoleDeps) {
  const store = createUpstreamDeploymentsStore(deps.db);
  const serverId = deps.identity.serverId;

  return {
    /**
     * As the spec says, deployments are those changed after the deployment anchor and up to
     * the sync anchor (the downstream's last GetRevisionIdList), so a downstream only hears of
     * approvals made before the metadata it already holds; each names the highest revision
     * that existed at the sync anchor. The answer's anchor is the sync anchor's watermark.
     */
    deployments(_s: DssSession, deploymentAnchor: string | null, syncAnchor: string | null): DeploymentsResult {
      if (!syncAnchor) throw invalidParameters('syncAnchor');
      const watermark = readCounter(deps.db, 'change_seq');
      const upper = anchorCounter(syncAnchor, 'syncAnchor', watermark);
      const lower = deploymentAnchor ? anchorCounter(deploymentAnchor, 'deploymentAnchor', watermark) : -1;
      const snap = store.snapshot(lower, upper);
      // Our approvals carry the EULA acceptance (the admin accepts it by approving, as in the
      // WSUS console). AcceptedEulas are EULA ids (Properties/@EulaID), as the spec's EULAs table.
      const eulas = new Set<string>();
      for (const doc of snap.eulaDocuments) {
        const m = EULA_ID_RE.exec(doc);
        if (m) eulas.add(m[1]!.toLowerCase());
      }
      return {
        anchor: formatAnchor(Math.max(upper, lower, 0), deps.clock()),
        groups: snap.groups.map((g) => ({ id: g.id, parentId: g.parentId ?? ROOT_PARENT_GROUP, name: g.name, isBuiltin: g.builtin })),
        deployments: snap.deployments.map((d) => ({
          updateId: d.updateId,
          revisionNumber: d.revisionNumber,
          action: d.action === 'Install' ? 0 : 1,
          adminName: d.approvedBy,
          deadline: d.deadline,
          isAssigned: true,
          goLiveTime: d.approvedAt,
          deploymentGuid: d.upstreamDeploymentGuid ?? deploymentGuid(serverId, d.deploymentId),
          targetGroupId: d.groupId,
          downloadPriority: 1,
        })),
        deadDeployments: snap.deadGuids,
        hiddenUpdates: snap.declinedUpdateIds,
        acceptedEulas: [...eulas],
      };
    },
  };
}
