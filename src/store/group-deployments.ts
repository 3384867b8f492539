import type { Db } from './database.js';

// When a computer changes groups (moved, its group deleted, moved or renamed), the approvals it
// inherits change although no approval row did. Clients only get ChangedUpdates for updates
// whose deployment state moved past their cookie's watermark, so the updates approved for the
// groups a computer entered or left are bumped with the action's change_seq: their clients
// re-read those deployments on the next scan (other clients get the same answer again).

export function createGroupDeploymentTouch(db: Db) {
  const touch = db.prepare(
    `UPDATE updates SET deployment_change_seq = @seq, deployment_changed_at = @at
      WHERE id IN (SELECT update_pk FROM approvals WHERE group_id IN (SELECT value FROM json_each(@groups)))`,
  );
  /** Call inside the writer's transaction; returns how many updates were bumped. */
  return (groupIds: Iterable<string>, seq: number, now: Date): number => {
    const groups = [...new Set(groupIds)];
    if (groups.length === 0) return 0;
    return touch.run({ seq, at: now.toISOString(), groups: JSON.stringify(groups) }).changes;
  };
}
