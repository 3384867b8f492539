import { compileRules, type Architecture, type CompiledRules, type UpdateFacts } from '../sync/exclusion-rules.js';
import type { ApprovalRule, DeclineRule } from './rule-model.js';

// Which updates the enabled rules approve or decline. Pure: candidates (facts read once from
// the store), rules and the clock in; planned changes out. The service applies them through
// the targeting store (tombstones, change_seq) — nothing here writes.
//
// Only explicitly deployable software and drivers are candidates: bundle members follow their
// bundles (declining or approving a member alone would break the bundle it belongs to), and
// categories and detectoids are never approved or declined.

const DAY_MS = 86_400_000;

export interface UpdateCandidate {
  updateId: string;
  title: string;
  updateType: string;
  explicitlyDeployable: boolean;
  declined: boolean;
  expired: boolean;
  /** category update ids among the current revision's IsCategory prerequisites */
  categories: readonly string[];
  kbArticleIds: readonly string[];
  /** update ids of the BundledUpdates members */
  bundled: readonly string[];
  /** change_seq of the current revision (after a sync only newer ones are looked at) */
  changeSeq: number;
  /** groups the update is approved for (any action) */
  approvedGroups: ReadonlySet<string>;
  /** the newest approval's time (ISO), null when not approved */
  lastApprovedAt: string | null;
  /** when a live update (not declined, not expired) first superseded it (ISO); null when none does */
  supersededSince: string | null;
  /** the latest sign that a computer needed it (ISO); null when none */
  lastNeededAt: string | null;
  /** from the document's Processor rules; only read when an architecture rule is enabled */
  processorArchitectures?: readonly Architecture[];
}

export interface PlannedApproval {
  updateId: string;
  title: string;
  ruleId: number;
  ruleName: string;
  groupId: string;
  groupName: string;
  action: 'Install';
  deadline: string | null;
}

export interface PlannedDecline {
  updateId: string;
  title: string;
  ruleId: number;
  ruleName: string;
  reason: string;
}

export function isRuleCandidate(c: Pick<UpdateCandidate, 'updateType' | 'explicitlyDeployable'>): boolean {
  return (c.updateType === 'Software' || c.updateType === 'Driver') && c.explicitlyDeployable;
}

/**
 * Category ancestry (product → product family → company) from each category's own parents:
 * a rule naming a product family matches the family's products. Cycles are cut.
 */
export function categoryExpander(parents: ReadonlyMap<string, readonly string[]>): (ids: readonly string[]) => Set<string> {
  const memo = new Map<string, Set<string>>();
  const up = (id: string, path: Set<string>): Set<string> => {
    const hit = memo.get(id);
    if (hit) return hit;
    const out = new Set<string>([id]);
    if (!path.has(id)) {
      path.add(id);
      for (const p of parents.get(id) ?? []) for (const a of up(p, path)) out.add(a);
      path.delete(id);
    }
    memo.set(id, out);
    return out;
  };
  return (ids) => {
    const all = new Set<string>();
    for (const id of ids) for (const a of up(id, new Set())) all.add(a);
    return all;
  };
}

/** `/regex/` (case-insensitive) or a case-insensitive substring; patterns were validated when saved. */
const compiledTitles = new Map<string, (title: string) => boolean>();

export function titleMatches(pattern: string, title: string): boolean {
  let m = compiledTitles.get(pattern);
  if (!m) {
    const re = /^\/(.+)\/i?$/.exec(pattern);
    const compiled = re ? new RegExp(re[1]!, 'i') : null;
    const needle = pattern.toLowerCase();
    m = compiled ? (t) => compiled.test(t) : (t) => t.toLowerCase().includes(needle);
    if (compiledTitles.size > 1000) compiledTitles.clear();
    compiledTitles.set(pattern, m);
  }
  return m(title);
}

export function approvalRuleMatches(rule: ApprovalRule, c: UpdateCandidate, expand: (ids: readonly string[]) => Set<string>): boolean {
  const k = rule.criteria;
  if (k.classifications.length && !c.categories.some((id) => k.classifications.includes(id))) return false;
  if (k.products.length) {
    const cats = expand(c.categories);
    if (!k.products.some((p) => cats.has(p))) return false;
  }
  if (k.title !== null && !titleMatches(k.title, c.title)) return false;
  return true;
}

export interface ApprovalPlan {
  approvals: PlannedApproval[];
  /** rule target groups that no longer exist (deleted after the rule was made) */
  missingGroups: Array<{ ruleId: number; groupId: string }>;
}

/**
 * One approval per (update, group) not approved yet, by the first enabled rule (lowest id) that
 * matches. Declined and expired updates are never approved; neither are updates `skip` names
 * (those the same run declines).
 */
export function planApprovals(
  rules: readonly ApprovalRule[],
  candidates: Iterable<UpdateCandidate>,
  o: { now: Date; expand: (ids: readonly string[]) => Set<string>; groupName: (id: string) => string | undefined; skip?: ReadonlySet<string>; minSeq?: number },
): ApprovalPlan {
  const active = rules.filter((r) => r.enabled).sort((a, b) => a.id - b.id);
  const missingGroups: ApprovalPlan['missingGroups'] = [];
  for (const r of active) for (const g of r.criteria.groups) if (o.groupName(g) === undefined) missingGroups.push({ ruleId: r.id, groupId: g });
  const approvals: PlannedApproval[] = [];
  if (!active.length) return { approvals, missingGroups };
  for (const c of candidates) {
    if (!isRuleCandidate(c) || c.declined || c.expired || o.skip?.has(c.updateId)) continue;
    const taken = new Set<string>();
    for (const r of active) {
      // After a sync a rule looks only at revisions that arrived after it was made.
      if (o.minSeq !== undefined && c.changeSeq <= Math.max(o.minSeq, r.sinceSeq)) continue;
      if (!approvalRuleMatches(r, c, o.expand)) continue;
      for (const g of r.criteria.groups) {
        const groupName = o.groupName(g);
        if (taken.has(g) || c.approvedGroups.has(g) || groupName === undefined) continue;
        taken.add(g);
        approvals.push({
          updateId: c.updateId, title: c.title, ruleId: r.id, ruleName: r.name, groupId: g, groupName, action: r.criteria.action,
          deadline: r.criteria.deadlineDays === null ? null : new Date(o.now.getTime() + r.criteria.deadlineDays * DAY_MS).toISOString(),
        });
      }
    }
  }
  return { approvals, missingGroups };
}

function ageDays(iso: string | null, now: Date): number {
  return iso === null ? Infinity : (now.getTime() - Date.parse(iso)) / DAY_MS;
}

function factsOf(c: UpdateCandidate): UpdateFacts {
  return {
    updateId: c.updateId, revisionNumber: 0, updateType: c.updateType, title: c.title, kbArticleIds: [...c.kbArticleIds],
    bundled: [...c.bundled], processorArchitectures: [...(c.processorArchitectures ?? [])],
  };
}

const compiledDeclines = new WeakMap<DeclineRule, CompiledRules>();

function patternRules(rule: DeclineRule): CompiledRules {
  let c = compiledDeclines.get(rule);
  if (!c) {
    const k = rule.criteria;
    c = compileRules(k.condition === 'title' ? [{ id: rule.id, kind: 'title', pattern: k.pattern }]
      : k.condition === 'architecture' ? [{ id: rule.id, kind: 'architecture', pattern: k.architecture }] : []);
    compiledDeclines.set(rule, c);
  }
  return c;
}

/** Why `rule` declines `c`, or null. */
export function declineReason(rule: DeclineRule, c: UpdateCandidate, now: Date): string | null {
  const k = rule.criteria;
  switch (k.condition) {
    case 'expired':
      return c.expired ? 'expired' : null;
    case 'superseded': {
      if (c.supersededSince === null) return null;
      const superseded = ageDays(c.supersededSince, now);
      const needed = ageDays(c.lastNeededAt, now);
      const approved = ageDays(c.lastApprovedAt, now);
      if (superseded < k.days || needed < k.days || approved < k.days) return null;
      return `superseded since ${c.supersededSince.slice(0, 10)}, ${c.lastNeededAt ? `last needed ${c.lastNeededAt.slice(0, 10)}` : 'never reported needed'}`;
    }
    case 'title':
      return patternRules(rule).reason(factsOf(c)) === null ? null : `title matches ${k.pattern}`;
    case 'architecture':
      return patternRules(rule).reason(factsOf(c)) === null ? null : `targets ${k.architecture} only`;
  }
}

/**
 * One decline per update, by the first enabled rule (lowest id) that matches. With `minSeq`
 * (after a sync) a rule looks only at revisions newer than both `minSeq` and the rule itself —
 * except "superseded", which is about time passing, not about new revisions.
 */
export function planDeclines(rules: readonly DeclineRule[], candidates: Iterable<UpdateCandidate>, now: Date, o: { minSeq?: number } = {}): PlannedDecline[] {
  const active = rules.filter((r) => r.enabled).sort((a, b) => a.id - b.id);
  const out: PlannedDecline[] = [];
  if (!active.length) return out;
  for (const c of candidates) {
    if (!isRuleCandidate(c) || c.declined) continue;
    for (const r of active) {
      if (o.minSeq !== undefined && r.criteria.condition !== 'superseded' && c.changeSeq <= Math.max(o.minSeq, r.sinceSeq)) continue;
      const reason = declineReason(r, c, now);
      if (reason !== null) {
        out.push({ updateId: c.updateId, title: c.title, ruleId: r.id, ruleName: r.name, reason });
        break;
      }
    }
  }
  return out;
}
