import { identityKey, uniqueIdentities } from '../../core/sync/batching.js';
import type { RevisionFilter } from '../../core/server-sync/server-sync-model.js';
import type { StagingPhase } from '../../store/sync-staging.store.js';
import { fetchIntoStaging } from './fetch-revisions.js';
import { mergeStaged } from './merge-staged.js';
import { planStagedExclusions } from './plan-exclusions.js';
import { throwIfAborted, type RunContext } from './run-context.js';
import type { MetadataPhaseCounts } from './sync-types.js';

// One metadata phase (categories: GetConfig=true; updates: the selection filter):
// list → fetch what is neither in the catalog, nor staged, nor excluded → decide exclusions →
// merge → save the anchor. An interrupted run re-lists with the same (unsaved) anchor and
// finds its work in staging and in the catalog, so nothing is fetched twice.

export function emptyPhaseCounts(): MetadataPhaseCounts {
  return { listed: 0, alreadyPresent: 0, alreadyStaged: 0, fetched: 0, requests: 0, reRequested: 0, merged: 0, unchanged: 0, excluded: 0, bad: 0, ms: 0 };
}

export async function runMetadataPhase(
  ctx: RunContext, phase: StagingPhase, filter: RevisionFilter, counts: MetadataPhaseCounts,
  commitExtra?: () => void,
): Promise<void> {
  const t0 = performance.now();
  // A merge that was planned but not finished (the process died) completes first, with the
  // decisions it was planned with.
  if (ctx.state.isPlanned(phase)) await mergeStaged(ctx, phase, counts);

  const list = await ctx.session.revisionIdList(filter);
  throwIfAborted(ctx.signal);
  const ids = uniqueIdentities(list.revisions);
  counts.listed = ids.length;
  const inCatalog = ctx.staging.revisionsInCatalog(ids);
  const staged = ctx.staging.stagedKeys(phase);
  const excluded = ctx.store.excludedKeys();
  const toFetch = ids.filter((id) => {
    const k = identityKey(id);
    // Excluded revisions count as present: the sync already decided about them.
    if (inCatalog.has(k) || excluded.has(k)) { counts.alreadyPresent++; return false; }
    if (staged.has(k)) { counts.alreadyStaged++; return false; }
    return true;
  });
  await fetchIntoStaging(ctx, phase, toFetch, counts);
  await planStagedExclusions(ctx, phase);
  await mergeStaged(ctx, phase, counts);
  ctx.db.transaction(() => {
    ctx.state.saveAnchor(phase, list.anchor, ctx.clock());
    commitExtra?.();
  }).immediate();
  counts.ms = Math.round(performance.now() - t0);
  ctx.log.info('sync phase finished', { phase, ...counts });
}
