import type { Db } from './database.js';
import { deploymentGuid } from '../core/server-sync/derived-guid.js';
import { loadServerIdentity } from './server-identity.store.js';

// What downstream replicas need to follow our approvals: every approval row carries the
// change_seq of its last change, and every approval that is replaced or removed leaves a
// tombstone with the GUID downstreams knew it by (GetDeployments DeadDeployments).

export interface ApprovalIdentity {
  deployment_id: number;
  /** set when the approval mirrors an upstream's deployment: downstreams of ours see that GUID */
  upstream_deployment_guid: string | null;
}

export function createDeploymentHistory(db: Db) {
  const insertTombstone = db.prepare(
    'INSERT OR REPLACE INTO deployment_tombstones (deployment_guid, change_seq, died_at) VALUES (?, ?, ?)',
  );
  const forget = db.prepare('DELETE FROM deployment_tombstones WHERE deployment_guid = ?');
  let serverId: string | undefined;

  function guidOf(a: ApprovalIdentity): string {
    if (a.upstream_deployment_guid) return a.upstream_deployment_guid;
    // Read lazily: the identity exists in every real database, and a store built before
    // loadServerIdentity ran still gets the same id.
    serverId ??= loadServerIdentity(db, new Date()).serverId;
    return deploymentGuid(serverId, a.deployment_id);
  }

  return {
    guidOf,
    /** Records that the deployment downstreams knew as this approval is gone (call in the writer's transaction). */
    bury(a: ApprovalIdentity, changeSeq: number, now: Date): void {
      insertTombstone.run(guidOf(a), changeSeq, now.toISOString());
    },
    /** A GUID that lives again (a mirror re-applying an upstream deployment) must not stay dead. */
    revive(guid: string): void {
      forget.run(guid);
    },
  };
}

export type DeploymentHistory = ReturnType<typeof createDeploymentHistory>;
