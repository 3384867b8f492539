import type { GroupNode } from './group-tree.js';

// Pure rules for reshaping the group tree: which groups sit below a group, and whether a move
// would make a group its own ancestor.

/** The group and every group below it, deepest first (the order deletes must run in). */
export function subtreeDeepestFirst(groups: readonly GroupNode[], rootId: string): GroupNode[] {
  const children = new Map<string, GroupNode[]>();
  for (const g of groups) {
    if (!g.parentId) continue;
    const list = children.get(g.parentId) ?? [];
    list.push(g);
    children.set(g.parentId, list);
  }
  const root = groups.find((g) => g.id === rootId);
  if (!root) return [];
  const out: GroupNode[] = [];
  const seen = new Set<string>();
  const visit = (g: GroupNode): void => {
    if (seen.has(g.id)) return;
    seen.add(g.id);
    for (const c of children.get(g.id) ?? []) visit(c);
    out.push(g);
  };
  visit(root);
  return out;
}

/** True when putting `groupId` under `newParentId` would close a loop (the parent is the group or below it). */
export function wouldCreateCycle(groups: readonly GroupNode[], groupId: string, newParentId: string): boolean {
  const byId = new Map(groups.map((g) => [g.id, g]));
  let id: string | null | undefined = newParentId;
  for (let hops = 0; id && hops <= groups.length; hops++) {
    if (id === groupId) return true;
    id = byId.get(id)?.parentId;
  }
  return false;
}

/** "All Computers / Ring 1 / Pilot" */
export function groupPath(byId: ReadonlyMap<string, GroupNode>, id: string): string {
  const names: string[] = [];
  for (let g = byId.get(id), n = 0; g && n < 64; g = g.parentId ? byId.get(g.parentId) : undefined, n++) names.unshift(g.name);
  return names.join(' / ');
}
