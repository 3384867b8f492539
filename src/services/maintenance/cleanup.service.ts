import { neededRevisionIds, selectUnusedRevisions, unneededDigests } from '../../core/maintenance/cleanup-plan.js';
import { createMaintenanceStore } from '../../store/maintenance.store.js';
import { readContentRevisions, readFileReferences, readPinned } from './catalog-reads.js';
import { immediate, type RulesEngine } from './rules-engine.js';
import {
  CLEANUP_STEPS, MAX_LISTED, type CleanupCounts, type CleanupRunOptions, type CleanupStep, type DeclineStepCounts, type MaintenanceDeps,
} from './maintenance-types.js';

// WSUS's Server Cleanup Wizard, made incremental: each step plans from a fresh read, then
// changes at most `maintenance.batchSize` rows per transaction and yields between batches, so
// client scans never wait behind it. Nothing is kept between runs: a run that dies (kill -9)
// leaves every committed batch done, and the next run plans again from what is left — that is
// how it resumes. A dry run plans every step and changes nothing.
//
// Steps, in this order (see cleanup-plan.ts for the exact rules):
//   superseded, expired  — decline what the enabled decline rules of that condition say
//   unused-revisions     — delete old revisions nothing can be offered or references
//   obsolete-computers   — delete computers silent for maintenance.obsoleteComputerDays (and their events)
//   unneeded-content     — files of declined/expired updates and old revisions, plus orphans,
//                          deleted by the content store after its grace period

const DAY_MS = 86_400_000;

export function orderSteps(only: readonly CleanupStep[] | undefined): CleanupStep[] {
  return CLEANUP_STEPS.filter((s) => !only || only.includes(s));
}

export function createCleanupService(deps: MaintenanceDeps, rules: RulesEngine) {
  const store = createMaintenanceStore(deps.db);
  const pause = deps.yieldToEventLoop ?? immediate;
  const batchSize = deps.config.maintenance.batchSize;
  const replica = deps.config.sync.mode === 'replica';

  function checkAbort(signal: AbortSignal | undefined): void {
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('cleanup interrupted');
  }

  async function declineStep(step: 'superseded' | 'expired', o: CleanupRunOptions, assumeDeclined: Set<string>): Promise<DeclineStepCounts> {
    if (replica) return { declined: 0, items: [], failed: 0, skipped: 'replica: declines come from the upstream' };
    const r = await rules.apply({
      trigger: o.trigger, dryRun: o.dryRun, scope: 'all', kinds: ['decline'], conditions: [step],
      ...(o.onProgress ? { onProgress: o.onProgress } : {}), ...(o.signal ? { signal: o.signal } : {}),
    }, assumeDeclined);
    for (const d of r.declined.items) assumeDeclined.add(d.updateId);
    const counts: DeclineStepCounts = { declined: r.declined.count, items: r.declined.items, failed: r.declined.failed.length };
    if (!r.rules.length) counts.skipped = `no enabled decline rule for ${step} updates (wsus rules list)`;
    return counts;
  }

  async function unusedRevisions(o: CleanupRunOptions): Promise<NonNullable<CleanupCounts['unused-revisions']>> {
    const planMaxId = store.maxRevisionId();
    const planned = selectUnusedRevisions(store.oldRevisions(), await readPinned(store, pause), deps.clock(), deps.config.maintenance.unusedRevisionDays);
    const counts = {
      candidates: planned.length, removed: 0, batches: 0,
      items: planned.slice(0, MAX_LISTED).map((r) => ({ updateId: r.updateId, revisionNumber: r.revisionNumber })),
    };
    if (o.dryRun) return counts;
    for (let i = 0; i < planned.length; i += batchSize) {
      checkAbort(o.signal);
      // A bundle synchronized since the plan may pin one of these revisions: look at new bundles only.
      const pinnedSince = await readPinned(store, pause, planMaxId);
      const batch = planned.slice(i, i + batchSize).filter((r) => !pinnedSince.has(`${r.updateId}:${r.revisionNumber}`));
      counts.removed += store.deleteRevisions(batch.map((r) => r.id));
      counts.batches++;
      deps.onChanged?.();
      o.onProgress?.({ phase: 'cleanup: unused revisions', done: Math.min(i + batchSize, planned.length), total: planned.length });
      await pause();
    }
    if (counts.removed) deps.log.info('unused revisions removed', { removed: counts.removed });
    return counts;
  }

  async function obsoleteComputers(o: CleanupRunOptions): Promise<NonNullable<CleanupCounts['obsolete-computers']>> {
    const before = new Date(deps.clock().getTime() - deps.config.maintenance.obsoleteComputerDays * DAY_MS);
    const total = store.obsoleteComputerCount(before);
    const counts = { cutoff: before.toISOString(), candidates: total, removed: 0, events: 0, items: store.obsoleteComputers(before, MAX_LISTED) };
    if (o.dryRun) return counts;
    for (;;) {
      checkAbort(o.signal);
      const batch = store.obsoleteComputers(before, batchSize);
      if (!batch.length) break;
      const gone = store.deleteComputers(batch.map((c) => c.clientId), before);
      counts.removed += gone.length;
      deps.onChanged?.();
      for (const id of gone) {
        for (let n = store.deleteEventsOf(id, batchSize * 10); n > 0; n = store.deleteEventsOf(id, batchSize * 10)) {
          counts.events += n;
          await pause();
        }
      }
      o.onProgress?.({ phase: 'cleanup: obsolete computers', done: counts.removed, total });
      await pause();
      if (gone.length < batch.length) break; // the rest made contact meanwhile
    }
    // A run killed between deleting computers and deleting their events left those events
    // behind, and nothing else would find them: they go now (this is how that run resumes).
    for (let after: string | null = ''; after !== null;) {
      checkAbort(o.signal);
      const page = store.eventsWithoutComputer(after, batchSize * 10);
      for (const id of page.ids) {
        for (let n = store.deleteEventsOf(id, batchSize * 10); n > 0; n = store.deleteEventsOf(id, batchSize * 10)) {
          counts.events += n;
          await pause();
        }
      }
      after = page.next;
      await pause();
    }
    if (counts.removed) deps.log.info('obsolete computers removed', { removed: counts.removed, events: counts.events, cutoff: counts.cutoff });
    return counts;
  }

  async function unneededContent(o: CleanupRunOptions, assumeDeclined: ReadonlySet<string>): Promise<NonNullable<CleanupCounts['unneeded-content']>> {
    const base = { unneededFiles: 0, marked: 0, deleted: 0, reclaimedBytes: 0, graceHours: 0 };
    if (!deps.content) return { ...base, skipped: 'no content store in this process' };
    let unneeded = new Set<string>();
    let skipped: string | undefined;
    // Content mode "all" downloads every referenced file again on the next sync: only orphans go.
    if (deps.config.sync.content === 'all') skipped = 'sync.content is "all": files of declined updates are kept (only orphans are removed)';
    else {
      const needed = neededRevisionIds(await readContentRevisions(store, pause), o.dryRun ? assumeDeclined : new Set());
      unneeded = unneededDigests(await readFileReferences(store, pause), needed);
    }
    await pause();
    checkAbort(o.signal);
    const r = await deps.content.cleanup({ dryRun: o.dryRun, unneeded });
    return {
      unneededFiles: unneeded.size, marked: r.markedOrphaned.length, deleted: r.deleted.length, reclaimedBytes: r.reclaimedBytes, graceHours: r.graceHours,
      ...(skipped ? { skipped } : {}),
    };
  }

  /** Runs the steps (no lock, no history: the job wraps this). */
  async function run(o: CleanupRunOptions, onStep?: (counts: CleanupCounts) => void): Promise<{ counts: CleanupCounts; failed: boolean }> {
    const counts: CleanupCounts = {};
    const assumeDeclined = new Set<string>();
    let failed = false;
    for (const step of orderSteps(o.only)) {
      checkAbort(o.signal);
      try {
        switch (step) {
          case 'superseded':
          case 'expired':
            counts[step] = await declineStep(step, o, assumeDeclined);
            break;
          case 'unused-revisions':
            counts[step] = await unusedRevisions(o);
            break;
          case 'obsolete-computers':
            counts[step] = await obsoleteComputers(o);
            break;
          case 'unneeded-content':
            counts[step] = await unneededContent(o, assumeDeclined);
            break;
        }
      } catch (e) {
        if (o.signal?.aborted) throw e;
        failed = true;
        (counts.errors ??= {})[step] = (e as Error).message || String(e);
        deps.log.error('cleanup step failed', { step, error: (e as Error).message });
      }
      o.onProgress?.({ phase: `cleanup: ${step}`, done: 1, total: 1 });
      onStep?.(counts);
    }
    return { counts, failed };
  }

  return { run };
}

export type CleanupService = ReturnType<typeof createCleanupService>;
