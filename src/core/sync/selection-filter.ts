import type { IdAndDelta, LanguageAndDelta, RevisionFilter, SyncLanguage } from '../server-sync/server-sync-model.js';

// Turns the admin's selection into the GetConfig=false revision filter (MS-WSUSSS
// GetRevisionIdList). Rules:
// - Products and classifications come from the selection. When the upstream is another WSUS
//   (ours or Microsoft's) and a side is empty, that side is everything the upstream offered in
//   the categories phase: a downstream takes its products from its upstream, as WSUS
//   replicas do. From Microsoft Update an empty side means "categories only": nobody wants
//   the whole Microsoft catalog by accident.
// - Delta=false for every entry that was not part of the last successful updates phase, so a
//   newly selected product brings all its revisions, not only those newer than the anchor.
// - Languages: the selected short names as LCIDs from the upstream's language list; none
//   selected = element absent = all languages.

export interface SelectionSnapshot {
  products: string[];
  classifications: string[];
  /** short names */
  languages: string[];
}

export interface FilterInput {
  selected: SelectionSnapshot;
  offered: { products: string[]; classifications: string[] };
  isMicrosoftUpdate: boolean;
  /** the effective selection of the last successful updates phase; null before the first */
  lastSynced: SelectionSnapshot | null;
  /** every language the upstream announced so far */
  languageList: readonly SyncLanguage[];
  anchor: string | null;
}

export type UpdatesFilterPlan =
  | { kind: 'skip'; reason: string; notes: string[] }
  | { kind: 'sync'; filter: RevisionFilter; effective: SelectionSnapshot; notes: string[] };

const sorted = (ids: Iterable<string>): string[] => [...new Set(ids)].sort();

function withDelta(ids: readonly string[], last: readonly string[] | undefined): IdAndDelta[] {
  const before = new Set(last ?? []);
  return ids.map((id) => ({ id, delta: before.has(id) }));
}

export function planUpdatesFilter(input: FilterInput): UpdatesFilterPlan {
  const notes: string[] = [];
  const side = (kind: 'products' | 'classifications'): string[] => {
    const chosen = input.selected[kind];
    if (chosen.length || input.isMicrosoftUpdate) return sorted(chosen);
    if (input.offered[kind].length) notes.push(`no ${kind} selected: taking all ${input.offered[kind].length} the upstream offers`);
    return sorted(input.offered[kind]);
  };
  const products = side('products');
  const classifications = side('classifications');
  if (!products.length || !classifications.length) {
    const missing = [!products.length && 'products', !classifications.length && 'classifications'].filter(Boolean).join(' and ');
    const reason = input.isMicrosoftUpdate
      ? `no ${missing} selected: synchronized categories only (select with wsus products select / wsus classifications select)`
      : `the upstream offers no ${missing}: synchronized categories only`;
    return { kind: 'skip', reason, notes };
  }

  const byShort = new Map(input.languageList.filter((l) => l.id !== 0).map((l) => [l.short.toLowerCase(), l.id]));
  const languages: string[] = [];
  for (const short of sorted(input.selected.languages.map((l) => l.toLowerCase()))) {
    if (byShort.has(short)) languages.push(short);
    else notes.push(`language "${short}" is not offered by the upstream: ignored`);
  }
  const lastLanguages = new Set(input.lastSynced?.languages ?? []);
  const languageFilter: LanguageAndDelta[] | null = languages.length
    ? languages.map((l) => ({ id: byShort.get(l)!, delta: lastLanguages.has(l) }))
    : null;

  return {
    kind: 'sync',
    filter: {
      anchor: input.anchor,
      getConfig: false,
      get63LanguageOnly: false,
      categories: withDelta(products, input.lastSynced?.products),
      classifications: withDelta(classifications, input.lastSynced?.classifications),
      languages: languageFilter,
    },
    effective: { products, classifications, languages },
    notes,
  };
}

/** The GetConfig=true filter of the categories phase (category filters are ignored there). */
export function categoriesFilter(anchor: string | null): RevisionFilter {
  return { anchor, getConfig: true, get63LanguageOnly: false, categories: null, classifications: null, languages: null };
}

/** Merges a GetConfigData language list (only the changed ones after the first) into the known list. */
export function mergeLanguageList(known: readonly SyncLanguage[], received: readonly SyncLanguage[]): SyncLanguage[] {
  const byId = new Map(known.map((l) => [l.id, l]));
  for (const l of received) byId.set(l.id, l);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}
