import type { Db } from './database.js';
import { readCounter } from './server-identity.store.js';

// GetDeployments reads: groups, approvals and tombstones between two change_seq watermarks,
// declined updates and accepted EULAs. One read transaction, so the answer is consistent.

export interface DeploymentRow {
  updateId: string;
  /** the highest revision a downstream synced up to the sync anchor can have (else the current one) */
  revisionNumber: number;
  groupId: string;
  action: 'Install' | 'Uninstall';
  deadline: string | null;
  deploymentId: number;
  upstreamDeploymentGuid: string | null;
  approvedAt: string;
  approvedBy: string;
}

export interface GroupRow {
  id: string;
  name: string;
  parentId: string | null;
  builtin: boolean;
}

export interface DeploymentsSnapshot {
  watermark: number;
  groups: GroupRow[];
  deployments: DeploymentRow[];
  deadGuids: string[];
  declinedUpdateIds: string[];
  /** documents of Install-approved revisions that name a EULA (few: EULAs are rare) */
  eulaDocuments: string[];
}

export function createUpstreamDeploymentsStore(db: Db) {
  const groups = db.prepare<[], { id: string; name: string; parent_id: string | null; builtin: number }>(
    'SELECT id, name, parent_id, builtin FROM target_groups ORDER BY builtin DESC, created_at, id',
  );
  const deployments = db.prepare<{ lower: number; upper: number }, DeploymentRow>(
    `SELECT u.update_id AS updateId,
            COALESCE((SELECT max(r2.revision_number) FROM revisions r2 WHERE r2.update_pk = a.update_pk AND r2.change_seq <= @upper),
                     cr.revision_number) AS revisionNumber,
            a.group_id AS groupId, a.action AS action, a.deadline AS deadline, a.deployment_id AS deploymentId,
            a.upstream_deployment_guid AS upstreamDeploymentGuid, a.approved_at AS approvedAt, a.approved_by AS approvedBy
       FROM approvals a JOIN updates u ON u.id = a.update_pk JOIN revisions cr ON cr.id = u.current_revision_id
      WHERE a.change_seq > @lower AND a.change_seq <= @upper
      ORDER BY a.change_seq, a.deployment_id`,
  );
  const tombstones = db.prepare<{ lower: number; upper: number }, { deployment_guid: string }>(
    'SELECT deployment_guid FROM deployment_tombstones WHERE change_seq > @lower AND change_seq <= @upper ORDER BY change_seq',
  );
  const declined = db.prepare<[], { update_id: string }>('SELECT update_id FROM updates WHERE declined = 1 ORDER BY update_id');
  const eulaDocuments = db.prepare<[], { document: string }>(
    `SELECT r.document FROM updates u JOIN revisions r ON r.id = u.current_revision_id
      WHERE u.id IN (SELECT update_pk FROM approvals WHERE action = 'Install') AND instr(r.document, 'EulaID') > 0`,
  );

  return {
    /** Deployments with lower < change_seq <= upper; `upper` is also the bound for revisions. */
    snapshot(lower: number, upper: number): DeploymentsSnapshot {
      return db.transaction(() => ({
        watermark: readCounter(db, 'change_seq'),
        groups: groups.all().map((g) => ({ id: g.id, name: g.name, parentId: g.parent_id, builtin: g.builtin === 1 })),
        deployments: deployments.all({ lower, upper }),
        deadGuids: tombstones.all({ lower, upper }).map((t) => t.deployment_guid),
        declinedUpdateIds: declined.all().map((d) => d.update_id),
        eulaDocuments: eulaDocuments.all().map((d) => d.document),
      }))();
    },
  };
}

export type UpstreamDeploymentsStore = ReturnType<typeof createUpstreamDeploymentsStore>;
