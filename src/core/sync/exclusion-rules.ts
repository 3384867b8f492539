import { DomainError } from '../errors.js';

// Sync-time exclusion rules (what WSUS's product/classification filter cannot say): titles,
// KB numbers, architectures and language packs. Excluded updates never reach the catalog.
// Pure: rules in, facts of one document in, a reason (for sync_excluded) or null out.

export type ExclusionKind = 'title' | 'kb' | 'architecture' | 'language-pack';
export type Architecture = 'arm64' | 'x86' | 'x64' | 'ia64';
export const ARCHITECTURES: readonly Architecture[] = ['arm64', 'x86', 'x64', 'ia64'];

export interface ExclusionRule {
  id: number;
  kind: ExclusionKind;
  pattern: string;
}

/** What the rules look at, read once from a document (see update-facts.ts). */
export interface UpdateFacts {
  updateId: string;
  revisionNumber: number;
  updateType: string;
  title: string;
  kbArticleIds: string[];
  /** update ids of the BundledUpdates members */
  bundled: string[];
  /** architectures named by non-negated b:Processor applicability rules */
  processorArchitectures: Architecture[];
}

/** The stored pattern for `language-pack` rules (the table wants one). */
export const LANGUAGE_PACK_PATTERN = '*';

/** Validates and canonicalizes a rule as typed by an admin; throws InvalidInput. */
export function normalizeRule(kind: ExclusionKind, raw: string): { kind: ExclusionKind; pattern: string } {
  const v = raw.trim();
  switch (kind) {
    case 'title':
      if (!v) throw new DomainError('InvalidInput', 'title', 'a title pattern must not be empty');
      titleMatcher(v); // throws on a bad regular expression
      return { kind, pattern: v };
    case 'kb': {
      const m = /^(?:kb)?(\d{1,10})$/i.exec(v);
      if (!m) throw new DomainError('InvalidInput', 'kb', `a KB rule needs a KB number like 5034441 or KB5034441 (got "${raw}")`);
      return { kind, pattern: String(Number(m[1])) };
    }
    case 'architecture': {
      const a = v.toLowerCase();
      if (!(ARCHITECTURES as readonly string[]).includes(a)) {
        throw new DomainError('InvalidInput', 'architecture', `architecture must be one of ${ARCHITECTURES.join(', ')} (got "${raw}")`);
      }
      return { kind, pattern: a };
    }
    case 'language-pack':
      return { kind, pattern: LANGUAGE_PACK_PATTERN };
  }
}

/** `/regex/` (case-insensitive) or a case-insensitive substring. */
function titleMatcher(pattern: string): (title: string) => boolean {
  const re = /^\/(.+)\/i?$/.exec(pattern);
  if (re) {
    let compiled: RegExp;
    try {
      compiled = new RegExp(re[1]!, 'i');
    } catch (e) {
      throw new DomainError('InvalidInput', 'title', `bad regular expression ${pattern}: ${(e as Error).message}`);
    }
    return (t) => compiled.test(t);
  }
  const needle = pattern.toLowerCase();
  return (t) => t.toLowerCase().includes(needle);
}

const TITLE_ARCH: ReadonlyArray<[Architecture, RegExp]> = [
  ['arm64', /\barm64\b/i],
  ['x64', /\bx64\b|\bamd64\b/i],
  ['x86', /\bx86\b|\b32-bit\b/i],
  ['ia64', /\bia64\b|\bitanium\b/i],
];
const LANGUAGE_PACK = /\blanguage (interface )?pack\b|\bLIP\b/i;

/** Architectures an update targets, from its title and its Processor rules. */
export function architecturesOf(facts: UpdateFacts): Set<Architecture> {
  const out = new Set<Architecture>(facts.processorArchitectures);
  for (const [arch, re] of TITLE_ARCH) if (re.test(facts.title)) out.add(arch);
  return out;
}

export interface CompiledRules {
  readonly empty: boolean;
  reason(facts: UpdateFacts): string | null;
}

export function compileRules(rules: readonly ExclusionRule[]): CompiledRules {
  const titles = rules.filter((r) => r.kind === 'title').map((r) => ({ r, match: titleMatcher(r.pattern) }));
  const kbs = new Map(rules.filter((r) => r.kind === 'kb').map((r) => [r.pattern, r]));
  const archs = new Map(rules.filter((r) => r.kind === 'architecture').map((r) => [r.pattern as Architecture, r]));
  const languagePacks = rules.find((r) => r.kind === 'language-pack');
  return {
    empty: rules.length === 0,
    reason(facts) {
      // Categories and detectoids are the skeleton every update hangs from: never excluded.
      if (facts.updateType !== 'Software' && facts.updateType !== 'Driver') return null;
      for (const t of titles) if (t.match(facts.title)) return `rule ${t.r.id}: title matches ${t.r.pattern}`;
      for (const kb of facts.kbArticleIds) {
        const r = kbs.get(String(Number(kb.replace(/^kb/i, ''))));
        if (r) return `rule ${r.id}: KB${r.pattern}`;
      }
      if (archs.size) {
        // An update for several architectures stays while any of them is wanted.
        const targeted = [...architecturesOf(facts)];
        if (targeted.length && targeted.every((a) => archs.has(a))) {
          return `rule ${targeted.map((a) => archs.get(a)!.id).join(', ')}: architecture ${targeted.join(', ')}`;
        }
      }
      if (languagePacks && LANGUAGE_PACK.test(facts.title)) return `rule ${languagePacks.id}: language pack`;
      return null;
    },
  };
}
