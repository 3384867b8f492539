import { planDeploymentMerge } from '../../core/sync/deployment-plan.js';
import type { RunContext } from './run-context.js';

// Replica mode: GetDeployments(deploymentAnchor, syncAnchor) → pure plan → the targeting
// store's mirror functions, all in one transaction with the deployment anchor.

export async function runDeploymentsPhase(ctx: RunContext): Promise<void> {
  const t0 = performance.now();
  const syncAnchor = ctx.state.anchor('updates');
  if (syncAnchor === null) {
    ctx.note('deployments phase skipped: no updates synchronized yet (GetDeployments needs the updates anchor)');
    return;
  }
  if (!ctx.replica) throw new Error('replica mode needs the targeting mirror (deps.replica)');
  const replica = ctx.replica;
  const result = await ctx.session.deployments(ctx.state.anchor('deployments'), syncAnchor);
  const plan = planDeploymentMerge(result, ctx.catalogReads.updateIds());
  let removed = 0;
  let outcomes: Record<string, number> = {};
  ctx.db.transaction(() => {
    const now = ctx.clock();
    replica.replaceGroupsFromUpstream(plan.groups, now);
    for (const guid of plan.removeDeployments) if (replica.removeMirroredApproval(guid, now)) removed++;
    // Declines first: an update the upstream undeclined can take its approvals in this same pass.
    replica.setDeclinedSet(plan.declined, now);
    outcomes = replica.upsertMirroredApprovals(plan.upserts, now);
    ctx.state.saveAnchor('deployments', result.anchor, now);
  }).immediate();
  ctx.catalogChanged();
  const { applied = 0, unchanged = 0, ...refused } = outcomes;
  ctx.counts.deployments = {
    groups: plan.groups.length, approvals: applied + unchanged, removed, declined: plan.declined.length,
    skipped: { ...plan.skipped, ...refused, acceptedEulasIgnored: plan.acceptedEulas },
    ms: Math.round(performance.now() - t0),
  };
  ctx.log.info('sync phase finished', { phase: 'deployments', ...ctx.counts.deployments });
}
