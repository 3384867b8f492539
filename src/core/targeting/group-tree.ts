import { ALL_COMPUTERS_ID, UNASSIGNED_COMPUTERS_ID } from './builtin-groups.js';

export interface GroupNode {
  id: string;
  name: string;
  parentId: string | null;
}

export type TargetingMode = 'server' | 'client';

/**
 * Resolves which groups a computer belongs to, ancestors included, because approvals given to a
 * parent group apply to every child group. Pure: the caller passes the group table.
 */
export function effectiveGroups(
  groups: ReadonlyMap<string, GroupNode>,
  byName: ReadonlyMap<string, GroupNode>,
  mode: TargetingMode,
  assignedGroupId: string | null,
  requestedGroupNames: string,
): string[] {
  const direct: string[] = [];
  if (mode === 'client') {
    for (const raw of requestedGroupNames.split(';')) {
      const g = byName.get(raw.trim().toLowerCase());
      if (g) direct.push(g.id);
    }
  } else if (assignedGroupId && groups.has(assignedGroupId)) {
    direct.push(assignedGroupId);
  }
  if (direct.length === 0) direct.push(UNASSIGNED_COMPUTERS_ID);
  const out = new Set<string>([ALL_COMPUTERS_ID]);
  for (let id of direct) {
    // Bounded walk: a corrupted parent loop must not hang a request.
    for (let hops = 0; hops < 64 && id && !out.has(id); hops++) {
      out.add(id);
      const parent = groups.get(id)?.parentId;
      if (!parent) break;
      id = parent;
    }
  }
  return [...out].sort();
}
