import { DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH } from '../../core/catalog/parse-update.js';
import { parseXmlTree } from '../../core/catalog/xml-tree.js';
import { factsFromTree } from '../../core/sync/update-facts.js';
import {
  categoryExpander, planApprovals, planDeclines, type PlannedApproval, type PlannedDecline, type UpdateCandidate,
} from '../../core/maintenance/rule-matching.js';
import type { ApprovalRule, DeclineRule } from '../../core/maintenance/rule-model.js';
import { createMaintenanceStore } from '../../store/maintenance.store.js';
import { createMaintenanceRulesStore } from '../../store/maintenance-rules.store.js';
import { createMaintenanceRunsStore } from '../../store/maintenance-runs.store.js';
import { readRuleCandidates } from './catalog-reads.js';
import { statusIndexFor } from '../reports/status-index.js';
import { MAX_LISTED, type MaintenanceDeps, type RulesRunOptions, type RulesRunResult } from './maintenance-types.js';

// Applies the automatic rules: reads candidates once, plans with the pure matchers, and writes
// through the targeting store (approve / setDeclined: tombstones, change_seq, exactly what an
// admin's own approve or decline does) in bounded batches, each its own transaction, yielding
// to the event loop between batches so scans never wait for a whole run. A dry run plans and
// returns without writing. Declines go first, and an update declined by a run is never
// approved by it.

/** After-sync runs look at revisions with a change_seq above this (maintenance_state). */
export const RULES_WATERMARK_KEY = 'rules.afterSyncWatermark';

export const immediate = (): Promise<void> => new Promise((r) => setImmediate(r));

function processorArchitectures(xml: string | undefined): UpdateCandidate['processorArchitectures'] {
  if (!xml) return [];
  try {
    return factsFromTree(parseXmlTree(xml, { maxBytes: DEFAULT_MAX_BYTES, maxDepth: DEFAULT_MAX_DEPTH })).processorArchitectures;
  } catch {
    return [];
  }
}

export function createRulesEngine(deps: MaintenanceDeps) {
  const store = createMaintenanceStore(deps.db);
  const rulesStore = createMaintenanceRulesStore(deps.db);
  const runs = createMaintenanceRunsStore(deps.db);
  const pause = deps.yieldToEventLoop ?? immediate;
  const batchSize = deps.config.maintenance.batchSize;

  function checkAbort(signal: AbortSignal | undefined): void {
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('maintenance interrupted');
  }

  /**
   * The work of one run, without lock or history (the cleanup's decline steps call this too).
   * `assumeDeclined`: updates an earlier step of the same dry run would have declined.
   */
  async function apply(o: RulesRunOptions, assumeDeclined?: Set<string>): Promise<Omit<RulesRunResult, 'runId'>> {
    const t0 = Date.now();
    const now = deps.clock();
    const startSeq = store.changeSeq();
    const notes: string[] = [];
    const all = rulesStore.list().filter((r) => r.enabled && (!o.ruleIds || o.ruleIds.includes(r.id)) && (!o.kinds || o.kinds.includes(r.kind)));
    const declineRules = all.filter((r): r is DeclineRule => r.kind === 'decline' && (!o.conditions || o.conditions.includes(r.criteria.condition)));
    const approvalRules = o.conditions ? [] : all.filter((r): r is ApprovalRule => r.kind === 'approval');
    const minSeq = o.scope === 'new' ? Number(runs.state(RULES_WATERMARK_KEY) ?? '0') : undefined;
    const result: Omit<RulesRunResult, 'runId'> = {
      trigger: o.trigger, dryRun: o.dryRun, scope: o.scope,
      rules: [...declineRules, ...approvalRules].map((r) => ({ id: r.id, name: r.name, kind: r.kind })),
      declined: { count: 0, items: [], failed: [] },
      approved: { count: 0, items: [], failed: [] },
      notes, durationMs: 0,
    };
    if (!declineRules.length && !approvalRules.length) {
      notes.push('no enabled rule applies');
      result.durationMs = Date.now() - t0;
      return result;
    }

    const candidates = await readRuleCandidates(store, pause);
    checkAbort(o.signal);
    const inScope = (c: UpdateCandidate, sinceSeq: number): boolean => minSeq === undefined || c.changeSeq > Math.max(minSeq, sinceSeq);
    // "Needed" and Processor rules cost a query or a parse per update: only where a rule looks.
    // Needed now: a computer's status says it requires the update (status index); otherwise the
    // last time anything said so (the newest client event about it, a downstream's rollup).
    if (declineRules.some((r) => r.criteria.condition === 'superseded')) {
      const requiredNow = statusIndexFor(deps.db).requiredCounts();
      let looked = 0;
      for (const c of candidates) {
        if (c.declined || c.supersededSince === null) continue;
        c.lastNeededAt = requiredNow.has(c.updateId) ? now.toISOString() : store.lastNeededAt(c.updateId, now);
        if (++looked % 500 === 0) await pause();
      }
    }
    const archRules = declineRules.filter((r) => r.criteria.condition === 'architecture');
    if (archRules.length) {
      const minSince = Math.min(...archRules.map((r) => r.sinceSeq));
      let read = 0;
      for (const c of candidates) {
        if (c.declined || !inScope(c, minSince)) continue;
        c.processorArchitectures = processorArchitectures(store.documentOf(c.revisionId));
        if (++read % 200 === 0) {
          o.onProgress?.({ phase: 'rules: read applicability rules', done: read, total: candidates.length });
          await pause();
          checkAbort(o.signal);
        }
      }
    }

    // A dry run of several steps assumes the declines of the steps before it.
    const declines = planDeclines(declineRules, candidates, now, minSeq === undefined ? {} : { minSeq })
      .filter((d) => !assumeDeclined?.has(d.updateId));
    const declinedIds = new Set(declines.map((d) => d.updateId));
    const groups = new Map(deps.targeting.groups().map((g) => [g.id, g.name]));
    const plan = planApprovals(approvalRules, candidates, {
      now, expand: categoryExpander(store.categoryParents()), groupName: (id) => groups.get(id),
      skip: new Set([...declinedIds, ...(assumeDeclined ?? [])]), ...(minSeq === undefined ? {} : { minSeq }),
    });
    for (const m of plan.missingGroups) notes.push(`rule ${m.ruleId}: target group ${m.groupId} no longer exists (skipped)`);
    result.declined.count = declines.length;
    result.declined.items = declines.slice(0, MAX_LISTED);
    result.approved.count = plan.approvals.length;
    result.approved.items = plan.approvals.slice(0, MAX_LISTED);

    if (!o.dryRun) {
      await writeDeclines(declines, result, o);
      await writeApprovals(plan.approvals, result, o);
      if (o.scope === 'new') runs.setState(RULES_WATERMARK_KEY, String(startSeq));
    }
    if (result.declined.count || result.approved.count || result.declined.failed.length || result.approved.failed.length) {
      deps.log.info(o.dryRun ? 'rules dry run' : 'rules applied', {
        trigger: o.trigger, scope: o.scope, declined: result.declined.count, approved: result.approved.count,
        failed: result.declined.failed.length + result.approved.failed.length,
      });
    }
    result.durationMs = Date.now() - t0;
    return result;
  }

  async function inBatches<T>(items: readonly T[], phase: string, o: RulesRunOptions, each: (item: T, now: Date) => void): Promise<void> {
    for (let i = 0; i < items.length; i += batchSize) {
      checkAbort(o.signal);
      const batch = items.slice(i, i + batchSize);
      const now = deps.clock();
      deps.db.transaction(() => {
        for (const item of batch) each(item, now);
      }).immediate();
      deps.onChanged?.();
      o.onProgress?.({ phase, done: Math.min(i + batchSize, items.length), total: items.length });
      await pause();
    }
  }

  async function writeDeclines(declines: readonly PlannedDecline[], result: Omit<RulesRunResult, 'runId'>, o: RulesRunOptions): Promise<void> {
    await inBatches(declines, 'rules: decline', o, (d, now) => {
      try {
        deps.targeting.setDeclined(d.updateId, true, now);
      } catch (e) {
        result.declined.count--;
        result.declined.failed.push({ updateId: d.updateId, error: (e as Error).message });
      }
    });
  }

  async function writeApprovals(approvals: readonly PlannedApproval[], result: Omit<RulesRunResult, 'runId'>, o: RulesRunOptions): Promise<void> {
    await inBatches(approvals, 'rules: approve', o, (a, now) => {
      try {
        deps.targeting.approve(a.updateId, a.groupName, a.action, a.deadline, `rule:${a.ruleName}`, now);
      } catch (e) {
        result.approved.count--;
        result.approved.failed.push({ updateId: a.updateId, groupId: a.groupId, error: (e as Error).message });
      }
    });
  }

  return { apply };
}

export type RulesEngine = ReturnType<typeof createRulesEngine>;
