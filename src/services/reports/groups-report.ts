import { emptyCounts, summarize, type StateCounts } from '../../core/reporting/update-state.js';
import type { ClassificationStatusRow, GroupStatusRow, Page, ReportFilters } from '../../core/reporting/report-types.js';
import { UNASSIGNED_COMPUTERS_ID } from '../../core/targeting/builtin-groups.js';
import type { GroupNode } from '../../core/targeting/group-tree.js';
import { byText, page, resolveFilters, updateMask, within, type Resolved } from './report-filters.js';
import { computerSums, updateSums } from './report-sums.js';
import { addCounts, required, updateCounts } from './status-aggregates.js';
import type { ReportView } from './status-index.js';

// `report groups` (every group, All Computers and Unassigned Computers included, each with its
// subgroups' computers) and `report classifications` (per classification over the computers
// in scope).

/** Groups in tree order: a parent before its children, Unassigned Computers first among siblings. */
export function groupTree(groups: ReadonlyMap<string, GroupNode>, rootId?: string): GroupNode[] {
  const children = new Map<string | null, GroupNode[]>();
  for (const g of groups.values()) {
    const p = g.parentId && groups.has(g.parentId) ? g.parentId : null;
    const list = children.get(p) ?? [];
    list.push(g);
    children.set(p, list);
  }
  const order = (a: GroupNode, b: GroupNode): number =>
    (a.id === UNASSIGNED_COMPUTERS_ID ? -1 : b.id === UNASSIGNED_COMPUTERS_ID ? 1 : byText(a.name.toLowerCase(), b.name.toLowerCase()));
  const out: GroupNode[] = [];
  const seen = new Set<string>();
  const walk = (g: GroupNode): void => {
    if (seen.has(g.id)) return;
    seen.add(g.id);
    out.push(g);
    for (const c of (children.get(g.id) ?? []).sort(order)) walk(c);
  };
  const roots = rootId ? [groups.get(rootId)!] : (children.get(null) ?? []).sort(order);
  for (const r of roots) walk(r);
  return out;
}

export function groupRows(view: ReportView, r: Resolved): GroupStatusRow[] {
  return view.memo(`groups.${r.key}`, () => {
    const nodes = groupTree(view.computers.groups, r.group?.id);
    const rows = new Map<string, GroupStatusRow & { cells: StateCounts }>();
    for (const g of nodes) {
      rows.set(g.id, {
        groupId: g.id, name: g.name, parentId: g.parentId, computers: 0, reporting: 0, needing: 0, failing: 0, compliant: 0,
        counts: summarize(emptyCounts()), cells: emptyCounts(),
      });
    }
    const s = computerSums(view, { ...r, group: null });
    for (const c of s.computers) {
      const counts = s.counts.get(c.clientId)!;
      const e = view.entries.get(c.clientId);
      const reporting = e !== undefined && e.statusAt === e.statusAt;
      const needing = required(counts) > 0;
      const failing = counts[5] > 0;
      for (const id of c.memberOf) {
        const row = rows.get(id);
        if (!row) continue;
        row.computers++;
        if (reporting) row.reporting++;
        if (needing) row.needing++;
        if (failing) row.failing++;
        if (reporting && !needing && !failing) row.compliant++;
        addCounts(row.cells, counts);
      }
    }
    return [...rows.values()].map(({ cells, ...row }) => ({ ...row, counts: summarize(cells) }));
  });
}

export function groupsReport(view: ReportView, filters: ReportFilters, defaultLimit = 1000): Page<GroupStatusRow> {
  const r = resolveFilters(view, filters, defaultLimit);
  return page(groupRows(view, r), r);
}

export function classificationRows(view: ReportView, r: Resolved): ClassificationStatusRow[] {
  return view.memo(`classifications.${r.key}`, () => {
    const f = view.updates;
    const s = updateSums(view, r.group);
    const mask = updateMask(view, r);
    const rows = new Map<string | null, { updates: number; cells: StateCounts }>();
    for (let i = 0; i < f.n; i++) {
      if (!mask[i]) continue;
      if ((r.since || r.until) && !within(r, f.arrivedMs[i]!)) continue;
      const c = updateCounts(f, s.sums, i, s.size, s.times);
      const ids = f.classificationIds[i]!.length ? f.classificationIds[i]! : [null];
      for (const id of ids) {
        if (r.classificationIds && (id === null || !r.classificationIds.has(id))) continue;
        let row = rows.get(id);
        if (!row) rows.set(id, row = { updates: 0, cells: emptyCounts() });
        row.updates++;
        addCounts(row.cells, c);
      }
    }
    const name = (id: string | null): string => (id === null ? '(no classification)' : f.categoryTitle.get(id) ?? id);
    return [...rows.entries()]
      .sort(([a], [b]) => (a === null ? 1 : b === null ? -1 : byText(name(a).toLowerCase(), name(b).toLowerCase())))
      .map(([id, row]) => ({ classificationId: id, name: name(id), updates: row.updates, counts: summarize(row.cells) }));
  });
}

export function classificationsReport(view: ReportView, filters: ReportFilters, defaultLimit = 1000): Page<ClassificationStatusRow> {
  const r = resolveFilters(view, filters, defaultLimit);
  return page(classificationRows(view, r), r);
}
