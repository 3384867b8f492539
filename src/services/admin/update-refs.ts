import { DomainError } from '../../core/errors.js';
import { classifyUpdateRef } from '../../core/admin/update-refs.js';
import type { SummaryRow, UpdateListingStore } from '../../store/update-listing.store.js';

// Turns what an administrator typed (GUIDs, KB numbers, exact titles) into catalog updates.
// Every reference must name exactly one update: unknown ones are NotFound and ambiguous ones
// (a KB shipped for three architectures, a title used twice) InvalidInput listing the
// candidates, all reported at once so one correction fixes the command.

export const MAX_REFS = 10_000;

export interface RefProblems {
  notFound: string[];
  ambiguous: Array<{ ref: string; candidates: Array<{ updateId: string; title: string }> }>;
}

export function resolveUpdateRefs(store: UpdateListingStore, refs: readonly string[]): { rows: SummaryRow[]; problems: RefProblems } {
  const problems: RefProblems = { notFound: [], ambiguous: [] };
  const rows = new Map<number, SummaryRow>();
  const kbRefs = refs.map(classifyUpdateRef).filter((r) => r.kind === 'kb');
  // Many KB references: one pass over the KB column instead of one scan per reference.
  const kbIndex = kbRefs.length > 20 ? store.kbIndex() : null;
  for (const raw of refs) {
    const ref = classifyUpdateRef(raw);
    let found: SummaryRow[];
    if (ref.kind === 'id') {
      const r = store.byUpdateId(ref.updateId);
      found = r ? [r] : [];
    } else if (ref.kind === 'kb') {
      found = kbIndex ? store.byPks(kbIndex.get(ref.kb) ?? []) : store.byKb(ref.kb);
    } else {
      found = store.byTitle(ref.title);
    }
    if (found.length === 0) problems.notFound.push(raw);
    else if (found.length > 1) problems.ambiguous.push({ ref: raw, candidates: found.map((f) => ({ updateId: f.updateId, title: f.title })) });
    else rows.set(found[0]!.updatePk, found[0]!);
  }
  return { rows: [...rows.values()], problems };
}

export function ambiguityMessage(a: RefProblems['ambiguous']): string {
  return a.map((x) => `"${x.ref}" matches ${x.candidates.length} updates (name one by its id): `
    + x.candidates.slice(0, 10).map((c) => `${c.updateId} ${c.title}`).join('; ')
    + (x.candidates.length > 10 ? `; … ${x.candidates.length - 10} more` : '')).join('\n');
}

/** Throws NotFound (unknown updates or groups) or InvalidInput (ambiguous references). */
export function throwRefProblems(problems: RefProblems, unknownGroups: readonly string[] = []): void {
  const missing = [
    ...problems.notFound.map((r) => `update "${r}"`),
    ...unknownGroups.map((g) => `group "${g}"`),
  ];
  if (missing.length) {
    const extra = problems.ambiguous.length ? `\n${ambiguityMessage(problems.ambiguous)}` : '';
    throw new DomainError('NotFound', missing.join(', '), `not found: ${missing.join(', ')}${extra}`);
  }
  if (problems.ambiguous.length) throw new DomainError('InvalidInput', 'updates', ambiguityMessage(problems.ambiguous));
}

export function requireRefList(value: unknown, name: string, what: string): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((v) => typeof v === 'string' && v.trim() !== '')) {
    throw new DomainError('InvalidInput', name, `${name}: give at least one ${what}`);
  }
  if (list.length > MAX_REFS) throw new DomainError('InvalidInput', name, `${name}: at most ${MAX_REFS} per request`);
  return [...new Set((list as string[]).map((s) => s.trim()))];
}
