import type { CatalogSnapshot } from './catalog-snapshot.js';

// FilterCategoryIds narrows a scan to the named categories: the categories themselves, the
// category chain above them (the client must install those first), everything classified
// under them, and everything those items depend on (prerequisites, bundle children).

export function relatedEntries(s: CatalogSnapshot, categoryIds: readonly string[]): Uint8Array {
  const key = [...new Set(categoryIds.map((c) => c.toLowerCase()))].sort().join(',');
  const cached = s.filterCache.get(key);
  if (cached) return cached;

  const related = new Uint8Array(s.entries.length);
  const queue: number[] = [];
  const push = (i: number): void => {
    if (!related[i]) {
      related[i] = 1;
      queue.push(i);
    }
  };
  const seeds: number[] = [];
  for (const id of key.split(',')) {
    const i = s.byUpdateId.get(id);
    if (i !== undefined) seeds.push(i);
  }
  // Downwards: sub-categories and the updates classified under the seeds.
  const down = new Uint8Array(s.entries.length);
  const stack = [...seeds];
  for (const i of seeds) down[i] = 1;
  while (stack.length) {
    const i = stack.pop()!;
    push(i);
    for (const c of s.categoryChildren[i]!) {
      if (!down[c]) {
        down[c] = 1;
        stack.push(c);
      }
    }
  }
  // Then the dependency closure of everything selected.
  while (queue.length) {
    const e = s.entries[queue.pop()!]!;
    for (const clause of e.clauses) for (const m of clause) push(m);
    for (const c of e.bundleChildren) push(c);
  }
  // Bounded memo: a client cannot grow it without limit by inventing filters.
  if (s.filterCache.size >= 256) s.filterCache.clear();
  s.filterCache.set(key, related);
  return related;
}
