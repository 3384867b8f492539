import { DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH } from '../../core/catalog/parse-update.js';
import { parseXmlTree } from '../../core/catalog/xml-tree.js';
import { identityKey } from '../../core/sync/batching.js';
import { compileRules, type UpdateFacts } from '../../core/sync/exclusion-rules.js';
import { decide, memberVerdicts, type ExclusionDecision } from '../../core/sync/exclusion-plan.js';
import { factsFromTree } from '../../core/sync/update-facts.js';
import type { UpdateIdentity } from '../../core/server-sync/server-sync-model.js';
import type { StagingPhase } from '../../store/sync-staging.store.js';
import { yieldToEventLoop } from './merge-staged.js';
import type { RunContext } from './run-context.js';

// Decides, once per staged set, which documents stay out of the catalog, and records the
// decisions (sync_excluded + a "planned" mark) in one transaction before anything is merged:
// a merge interrupted halfway resumes with the same decisions even though the bundles it
// already merged have left staging. Without rules nothing is read. With rules, bundles are
// read first (only documents mentioning BundledUpdates), then every other document except
// the members a kept bundle already vouches for.

function factsOf(xml: string): UpdateFacts | undefined {
  try {
    return factsFromTree(parseXmlTree(xml, { maxBytes: DEFAULT_MAX_BYTES, maxDepth: DEFAULT_MAX_DEPTH }));
  } catch {
    return undefined; // a bad document is reported once, by the merge
  }
}

/** Returns how many staged documents were newly excluded. */
export async function planStagedExclusions(ctx: RunContext, phase: StagingPhase): Promise<number> {
  if (ctx.state.isPlanned(phase)) return 0;
  const rules = compileRules(ctx.store.rules());
  const decisions: ExclusionDecision[] = [];
  const staged = ctx.staging.stagedIdentities(phase);
  if (!rules.empty && phase === 'updates') {
    const bundles = new Map<string, UpdateFacts>();
    let read = 0;
    for (const id of ctx.staging.bundleCandidates(phase)) {
      const f = factsOf(ctx.staging.document(phase, id) ?? '');
      if (f && f.bundled.length) bundles.set(identityKey(f), f);
      if (++read % 500 === 0) await yieldToEventLoop();
    }
    const members = memberVerdicts([...bundles.values()], rules);
    let done = 0;
    for (const id of staged) {
      const known = bundles.get(identityKey(id));
      const verdict = known ? undefined : members.get(id.updateId);
      if (verdict && !verdict.excluded) continue; // a member of a kept bundle: nothing to read
      const facts = known ?? factsOf(ctx.staging.document(phase, id) ?? '');
      if (facts) {
        const d = decide(facts, members, rules);
        if (d) decisions.push(d);
      }
      if (++done % 500 === 0) {
        ctx.progress({ phase, step: 'plan', done, total: staged.length });
        await yieldToEventLoop();
      }
    }
  }
  const excluded = new Set(decisions.map(identityKey));
  const now = ctx.clock();
  ctx.db.transaction(() => {
    for (const d of decisions) ctx.store.recordExcluded(d, now);
    // A kept revision lifts an older revision's exclusion (its title changed, or a rule went).
    for (const id of staged as UpdateIdentity[]) if (!excluded.has(identityKey(id))) ctx.store.clearExcluded(id.updateId, id.revisionNumber);
    ctx.state.setPlanned(phase, true);
  }).immediate();
  // Thousands of lines for one arm64 rule would drown the log: per update at debug level only.
  for (const d of decisions) ctx.log.debug('update excluded by sync rules', { updateId: d.updateId, revision: d.revisionNumber, title: d.title, reason: d.reason });
  return decisions.length;
}
