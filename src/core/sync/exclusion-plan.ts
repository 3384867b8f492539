import type { CompiledRules, UpdateFacts } from './exclusion-rules.js';

// Which staged documents a sync leaves out. Bundle members follow their bundles, never their
// own titles (a payload called "... x64 ..." inside a bundle the admin keeps must stay): a
// member is excluded only when every staged bundle naming it is excluded, and a member no
// staged bundle names is judged like any other update. Nested bundles are judged by their
// own facts (rare; WSUS itself does not nest deeper than one level in practice).

export interface ExclusionDecision {
  updateId: string;
  revisionNumber: number;
  title: string;
  reason: string;
}

export interface MemberVerdict {
  excluded: boolean;
  /** names the excluding bundles (empty when kept) */
  reason: string;
}

/** Verdicts for bundle members, from the staged bundles (documents with BundledUpdates). */
export function memberVerdicts(bundles: readonly UpdateFacts[], rules: CompiledRules): Map<string, MemberVerdict> {
  const kept = new Set<string>();
  const excludedBy = new Map<string, string[]>();
  for (const b of bundles) {
    const reason = rules.reason(b);
    for (const child of b.bundled) {
      if (reason === null) kept.add(child);
      else {
        const list = excludedBy.get(child) ?? [];
        list.push(b.title || b.updateId);
        excludedBy.set(child, list);
      }
    }
  }
  const out = new Map<string, MemberVerdict>();
  for (const id of kept) out.set(id, { excluded: false, reason: '' });
  for (const [id, titles] of excludedBy) {
    if (kept.has(id)) continue;
    out.set(id, { excluded: true, reason: `bundled only in excluded update${titles.length > 1 ? 's' : ''}: ${titles.slice(0, 3).join('; ')}` });
  }
  return out;
}

/** The decision for one staged document, given the member verdicts of its staged set. */
export function decide(facts: UpdateFacts, members: ReadonlyMap<string, MemberVerdict>, rules: CompiledRules): ExclusionDecision | null {
  const m = members.get(facts.updateId);
  const reason = m ? (m.excluded ? m.reason : null) : rules.reason(facts);
  return reason === null ? null : { updateId: facts.updateId, revisionNumber: facts.revisionNumber, title: facts.title, reason };
}

/** The whole staged set at once (the service streams the same two steps). */
export function planExclusions(staged: readonly UpdateFacts[], rules: CompiledRules): ExclusionDecision[] {
  if (rules.empty) return [];
  const members = memberVerdicts(staged.filter((f) => f.bundled.length > 0), rules);
  return staged.map((f) => decide(f, members, rules)).filter((d): d is ExclusionDecision => d !== null);
}
