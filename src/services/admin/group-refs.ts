import { isGuid } from '../../core/admin/update-refs.js';
import type { GroupRow } from '../../store/groups-admin.store.js';

// Groups are named by name (case-insensitive, as WSUS does) or by GUID.

export function findGroup(groups: readonly GroupRow[], ref: string): GroupRow | undefined {
  const r = ref.trim();
  if (isGuid(r)) return groups.find((g) => g.id === r.toLowerCase());
  const lower = r.toLowerCase();
  return groups.find((g) => g.name.toLowerCase() === lower);
}

export function resolveGroups(groups: readonly GroupRow[], refs: readonly string[]): { found: GroupRow[]; unknown: string[] } {
  const found = new Map<string, GroupRow>();
  const unknown: string[] = [];
  for (const ref of refs) {
    const g = findGroup(groups, ref);
    if (g) found.set(g.id, g);
    else unknown.push(ref);
  }
  return { found: [...found.values()], unknown };
}

/** The group's ancestors, nearest first (not the group itself). */
export function ancestorsOf(groups: readonly GroupRow[], id: string): string[] {
  const byId = new Map(groups.map((g) => [g.id, g]));
  const out: string[] = [];
  for (let p = byId.get(id)?.parentId, n = 0; p && n < 64; p = byId.get(p)?.parentId, n++) out.push(p);
  return out;
}

/** The group and its ancestors. */
export function lineOf(groups: readonly GroupRow[], id: string | null): string[] {
  return id ? [id, ...ancestorsOf(groups, id)] : [];
}

export function symmetricDifference(a: readonly string[], b: readonly string[]): string[] {
  const sa = new Set(a);
  const sb = new Set(b);
  return [...a.filter((x) => !sb.has(x)), ...b.filter((x) => !sa.has(x))];
}
