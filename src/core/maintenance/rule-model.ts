import { DomainError } from '../errors.js';
import { ARCHITECTURES, normalizeRule, type Architecture } from '../sync/exclusion-rules.js';

// Automatic rules as admins define them (WSUS "automatic approval rules", plus decline rules
// WSUS only offers as a cleanup wizard). Stored as JSON criteria in maintenance_rules; this
// file owns their shape and validation, so the store and the API never disagree about it.

export type RuleKind = 'approval' | 'decline';

/** Select by classification AND product AND title (each optional; several values = any of them). */
export interface ApprovalCriteria {
  /** classification category update ids (lower-case GUIDs); empty = any */
  classifications: string[];
  /** product (or product family) category update ids; a family matches its products; empty = any */
  products: string[];
  /** title text (case-insensitive substring) or `/regex/` (case-insensitive); null = any */
  title: string | null;
  /** target group ids (lower-case GUIDs); at least one */
  groups: string[];
  action: 'Install';
  /** deadline this many days after the approval; null = none */
  deadlineDays: number | null;
}

export type DeclineCondition =
  /** superseded by a live update for `days` and not needed by any computer (nor approved) in that time */
  | { condition: 'superseded'; days: number }
  /** withdrawn by Microsoft (PublicationState Expired) */
  | { condition: 'expired' }
  /** title text or `/regex/`, matched like the sync exclusion rules */
  | { condition: 'title'; pattern: string }
  /** targets only this architecture (Processor rules and title), like the sync exclusion rules */
  | { condition: 'architecture'; architecture: Architecture };

export type DeclineConditionKind = DeclineCondition['condition'];
export const DECLINE_CONDITIONS: readonly DeclineConditionKind[] = ['superseded', 'expired', 'title', 'architecture'];

interface RuleBase {
  id: number;
  name: string;
  enabled: boolean;
  /** change_seq when the rule was created: after a sync it only looks at revisions newer than that */
  sinceSeq: number;
  createdAt: string;
  updatedAt: string;
}

export interface ApprovalRule extends RuleBase {
  kind: 'approval';
  criteria: ApprovalCriteria;
}

export interface DeclineRule extends RuleBase {
  kind: 'decline';
  criteria: DeclineCondition;
}

export type MaintenanceRule = ApprovalRule | DeclineRule;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_DAYS = 3650;

function bad(field: string, message: string): DomainError {
  return new DomainError('InvalidInput', field, message);
}

export function validateRuleName(raw: unknown): string {
  const name = typeof raw === 'string' ? raw.trim() : '';
  if (!name || name.length > 200) throw bad('name', 'a rule needs a name of 1-200 characters');
  if (/^\d+$/.test(name)) throw bad('name', 'a rule name must not be a number (numbers are rule ids)');
  return name;
}

function guidList(raw: unknown, field: string): string[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw) || raw.some((x) => typeof x !== 'string' || !GUID.test(x.toLowerCase()))) {
    throw bad(field, `${field} must be a list of GUIDs`);
  }
  return [...new Set((raw as string[]).map((x) => x.toLowerCase()))];
}

function days(raw: unknown, field: string, min: number): number {
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < min || raw > MAX_DAYS) {
    throw bad(field, `${field} must be a whole number of days from ${min} to ${MAX_DAYS} (got ${JSON.stringify(raw)})`);
  }
  return raw;
}

/** Validates a title pattern the way the sync exclusion rules do (a bad /regex/ is refused). */
export function validateTitlePattern(raw: unknown, field = 'title'): string {
  if (typeof raw !== 'string') throw bad(field, `${field} must be text or /regex/`);
  return normalizeRule('title', raw).pattern;
}

/** Canonical approval criteria from untrusted JSON (ids already resolved by the caller). */
export function validateApprovalCriteria(raw: Record<string, unknown>): ApprovalCriteria {
  const groups = guidList(raw.groups, 'groups');
  if (groups.length === 0) throw bad('groups', 'an approval rule needs at least one target group');
  const action = raw.action ?? 'Install';
  if (action !== 'Install') throw bad('action', 'automatic approval rules approve for Install only');
  const title = raw.title === undefined || raw.title === null || raw.title === '' ? null : validateTitlePattern(raw.title);
  return {
    classifications: guidList(raw.classifications, 'classifications'),
    products: guidList(raw.products, 'products'),
    title,
    groups,
    action: 'Install',
    deadlineDays: raw.deadlineDays === undefined || raw.deadlineDays === null ? null : days(raw.deadlineDays, 'deadlineDays', 0),
  };
}

/** Canonical decline condition from untrusted JSON. */
export function validateDeclineCondition(raw: Record<string, unknown>): DeclineCondition {
  switch (raw.condition) {
    case 'superseded':
      return { condition: 'superseded', days: raw.days === undefined ? 30 : days(raw.days, 'days', 0) };
    case 'expired':
      return { condition: 'expired' };
    case 'title':
      return { condition: 'title', pattern: validateTitlePattern(raw.pattern, 'pattern') };
    case 'architecture': {
      const a = typeof raw.architecture === 'string' ? raw.architecture.trim().toLowerCase() : '';
      if (!(ARCHITECTURES as readonly string[]).includes(a)) {
        throw bad('architecture', `architecture must be one of ${ARCHITECTURES.join(', ')} (got ${JSON.stringify(raw.architecture)})`);
      }
      return { condition: 'architecture', architecture: a as Architecture };
    }
    default:
      throw bad('condition', `a decline rule's condition must be one of ${DECLINE_CONDITIONS.join(', ')} (got ${JSON.stringify(raw.condition)})`);
  }
}

/** One line for listings and dry-run reasons. */
export function describeCriteria(rule: Pick<MaintenanceRule, 'kind' | 'criteria'>, names: (id: string) => string = (id) => id): string {
  if (rule.kind === 'decline') {
    const c = rule.criteria as DeclineCondition;
    switch (c.condition) {
      case 'superseded': return `superseded, not needed for ${c.days} days`;
      case 'expired': return 'expired';
      case 'title': return `title matches ${c.pattern}`;
      case 'architecture': return `architecture ${c.architecture} only`;
    }
  }
  const a = rule.criteria as ApprovalCriteria;
  const parts: string[] = [];
  if (a.classifications.length) parts.push(`classification ${a.classifications.map(names).join(' or ')}`);
  if (a.products.length) parts.push(`product ${a.products.map(names).join(' or ')}`);
  if (a.title) parts.push(`title matches ${a.title}`);
  if (!parts.length) parts.push('every update');
  const deadline = a.deadlineDays === null ? '' : `, deadline ${a.deadlineDays} day(s) after approval`;
  return `${parts.join(' and ')} → ${a.action} for ${a.groups.map(names).join(', ')}${deadline}`;
}
