import type { CategoryRow, ReportUpdatesStore } from '../../store/report-updates.store.js';

// What the reports know about each reportable update, as parallel arrays indexed by a dense
// update index (0..n-1, by update pk), with pk → index in a typed array so the status loops
// never touch a string. Reloaded when the catalog counters move (imports, declines, approvals);
// `shape` changes only when something the status aggregates depend on changed (which updates,
// their arrival, declined), so an approval does not throw the aggregates away.

export interface UpdateFacts {
  /** changes on every reload */
  version: number;
  /** changes when the reportable set, an arrival time or a declined flag changed */
  shape: number;
  n: number;
  pk: Int32Array;
  updateId: string[];
  revisionId: Int32Array;
  type: string[];
  title: string[];
  titleLower: string[];
  kb: string[][];
  msrcSeverity: Array<string | null>;
  arrivedAt: string[];
  arrivedMs: Float64Array;
  declined: Uint8Array;
  approved: Uint8Array;
  classificationIds: string[][];
  /** the first classification's title */
  classification: Array<string | null>;
  productIds: string[][];
  products: string[][];
  /** update pk → dense index, -1 when not reportable */
  pkIndex: Int32Array;
  byUpdateId: Map<string, number>;
  categories: CategoryRow[];
  categoryTitle: Map<string, string>;
  /** arrival times of the updates not declined, ascending */
  liveArrivals: Float64Array;
}

export function updateFactsCache(store: ReportUpdatesStore) {
  let facts: UpdateFacts | null = null;
  let seenVersion = '';
  let shapeCounter = 0;

  function load(version: number): UpdateFacts {
    const rows = store.reportable();
    const n = rows.length;
    const categories = store.categories();
    const categoryTitle = new Map(categories.map((c) => [c.id, c.title]));
    const categoryType = new Map(categories.map((c) => [c.id, c.type]));
    const pkIndex = new Int32Array(store.maxUpdatePk() + 1).fill(-1);
    const f: UpdateFacts = {
      version, shape: 0, n,
      pk: new Int32Array(n), updateId: [], revisionId: new Int32Array(n), type: [], title: [], titleLower: [], kb: [], msrcSeverity: [],
      arrivedAt: [], arrivedMs: new Float64Array(n), declined: new Uint8Array(n), approved: new Uint8Array(n),
      classificationIds: [], classification: [], productIds: [], products: [],
      pkIndex, byUpdateId: new Map(), categories, categoryTitle, liveArrivals: new Float64Array(0),
    };
    rows.forEach((r, i) => {
      f.pk[i] = r.updatePk;
      if (r.updatePk < pkIndex.length) pkIndex[r.updatePk] = i;
      f.updateId.push(r.updateId);
      f.revisionId[i] = r.revisionId;
      f.type.push(r.updateType);
      f.title.push(r.title);
      f.titleLower.push(r.title.toLowerCase());
      f.kb.push(r.kb);
      f.msrcSeverity.push(r.msrcSeverity);
      f.arrivedAt.push(r.arrivedAt);
      f.arrivedMs[i] = Date.parse(r.arrivedAt);
      f.declined[i] = r.declined ? 1 : 0;
      f.approved[i] = r.approved ? 1 : 0;
      f.classificationIds.push([]);
      f.productIds.push([]);
      f.byUpdateId.set(r.updateId, i);
    });
    for (const e of store.categoryEdges()) {
      const i = e.update_pk < pkIndex.length ? pkIndex[e.update_pk]! : -1;
      const type = categoryType.get(e.id);
      if (i < 0 || !type) continue;
      (type === 'Product' ? f.productIds : f.classificationIds)[i]!.push(e.id);
    }
    const byTitle = (a: string, b: string): number => (categoryTitle.get(a) ?? a).localeCompare(categoryTitle.get(b) ?? b);
    for (let i = 0; i < n; i++) {
      f.classificationIds[i]!.sort(byTitle);
      f.productIds[i]!.sort(byTitle);
      const c = f.classificationIds[i]![0];
      f.classification.push(c === undefined ? null : categoryTitle.get(c) ?? null);
      f.products.push(f.productIds[i]!.map((id) => categoryTitle.get(id) ?? id));
    }
    const live: number[] = [];
    for (let i = 0; i < n; i++) if (!f.declined[i]) live.push(f.arrivedMs[i]!);
    f.liveArrivals = Float64Array.from(live).sort();
    return f;
  }

  function sameShape(a: UpdateFacts, b: UpdateFacts): boolean {
    if (a.n !== b.n || a.pkIndex.length !== b.pkIndex.length) return false;
    for (let i = 0; i < a.n; i++) {
      if (a.pk[i] !== b.pk[i] || a.arrivedMs[i] !== b.arrivedMs[i] || a.declined[i] !== b.declined[i]) return false;
    }
    return true;
  }

  return {
    current(): UpdateFacts {
      const v = store.version();
      if (facts && v === seenVersion) return facts;
      const next = load((facts?.version ?? 0) + 1);
      next.shape = facts && sameShape(facts, next) ? facts.shape : ++shapeCounter;
      facts = next;
      seenVersion = v;
      return facts;
    },
  };
}

export type UpdateFactsCache = ReturnType<typeof updateFactsCache>;

/** How many values of an ascending array are below `x` (NaN: none). */
export function countBelow(sorted: Float64Array, x: number): number {
  if (!(x === x)) return 0;
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How many values of an ascending array are above `x` (NaN: none). */
export function countAbove(sorted: Float64Array, x: number): number {
  if (!(x === x)) return 0;
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return sorted.length - lo;
}
