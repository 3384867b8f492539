import { chunk, identityKey, missingAfter } from '../../core/sync/batching.js';
import type { UpdateIdentity } from '../../core/server-sync/server-sync-model.js';
import type { StagedDocument, StagingPhase } from '../../store/sync-staging.store.js';
import { forEachBounded } from './bounded.js';
import { throwIfAborted, type RunContext } from './run-context.js';
import { SyncError } from './sync-error.js';
import type { MetadataPhaseCounts } from './sync-types.js';

// GetUpdateData in batches of MaxNumberOfUpdatesPerRequest with `concurrency` calls in
// flight; each answer is staged in its own transaction as it arrives, so a crash loses at
// most the batches in flight. A real WSUS may answer with fewer documents than asked: the
// missing ones are asked again in the next round, and a revision that never comes back ends
// the sync with an error naming it rather than a silent hole in the catalog.

export const MAX_REQUESTS_PER_REVISION = 4;

export async function fetchIntoStaging(
  ctx: RunContext, phase: StagingPhase, ids: readonly UpdateIdentity[], counts: MetadataPhaseCounts,
): Promise<void> {
  let pending = [...ids];
  const total = ids.length;
  let done = 0;
  for (let round = 1; pending.length > 0; round++) {
    if (round > MAX_REQUESTS_PER_REVISION) {
      const sample = pending.slice(0, 5).map(identityKey).join(', ');
      throw new SyncError(phase, `GetUpdateData: the upstream did not return ${pending.length} revision(s) after ${MAX_REQUESTS_PER_REVISION} requests each (e.g. ${sample})`);
    }
    if (round > 1) counts.reRequested += pending.length;
    const missing: UpdateIdentity[] = [];
    await forEachBounded(chunk(pending, ctx.maxPerRequest), ctx.sync.concurrency, async (batch) => {
      throwIfAborted(ctx.signal);
      counts.requests++;
      const data = await ctx.session.updateData(batch);
      throwIfAborted(ctx.signal);
      const asked = new Set(batch.map(identityKey));
      const muUrls = new Map(data.fileUrls.map((u) => [u.digest, u.muUrl]));
      const docs: StagedDocument[] = [];
      for (const u of data.updates) {
        const identity = { updateId: u.identity.updateId.toLowerCase(), revisionNumber: u.identity.revisionNumber };
        // Unrequested extras are ignored: they were not listed, so they belong to no phase here.
        if (!asked.has(identityKey(identity))) continue;
        docs.push({ identity, xml: u.xml, fileUrls: u.fileDigests.map((digest) => ({ digest, muUrl: muUrls.get(digest) ?? null })) });
      }
      ctx.staging.stage(phase, docs);
      counts.fetched += docs.length;
      done += docs.length;
      missing.push(...missingAfter(batch, docs.map((d) => d.identity)));
      ctx.progress({ phase, step: 'fetch', done, total });
    });
    if (missing.length) ctx.log.info('upstream left revisions out of GetUpdateData answers; asking again', { phase, missing: missing.length, round });
    pending = missing;
  }
}
