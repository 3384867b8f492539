import type { ServerConfig } from '../../config/config.js';
import { DomainError } from '../../core/errors.js';
import { ALL_COMPUTERS_ID, UNASSIGNED_COMPUTERS_ID } from '../../core/targeting/builtin-groups.js';
import { groupPath, subtreeDeepestFirst, wouldCreateCycle } from '../../core/targeting/group-moves.js';
import type { Logger } from '../../logger.js';
import type { GroupRow, GroupsAdminStore } from '../../store/groups-admin.store.js';
import type { TargetingStore } from '../../store/targeting.store.js';
import { assertLocalChangesAllowed } from '../sync/replica-guard.js';
import { ancestorsOf, findGroup, lineOf } from './group-refs.js';

// Computer groups: create, rename, move (nesting), delete, list. The two built-in groups are
// fixed; a group can never end up below itself; a replica takes its groups from upstream.

interface Deps {
  config: Pick<ServerConfig, 'sync' | 'targetingMode'>;
  store: GroupsAdminStore;
  targeting: TargetingStore;
  clock: () => Date;
  log: Logger;
  changed: () => void;
  /** client-side targeting: the TargetGroup string of every computer */
  requestedGroups: () => string[];
}

function validName(raw: unknown): string {
  const name = typeof raw === 'string' ? raw.trim() : '';
  // Control characters cannot travel in XML 1.0 (GetDeployments to replicas) nor display anywhere.
  // eslint-disable-next-line no-control-regex
  if (!name || name.length > 256 || name.includes(';') || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new DomainError('InvalidInput', 'name', 'a group name must be 1-256 characters without ";" or control characters');
  }
  return name;
}

export function createGroupsAdminService(deps: Deps) {
  const { store, clock, log } = deps;

  function requireGroup(groups: readonly GroupRow[], ref: unknown, what = 'group'): GroupRow {
    if (typeof ref !== 'string' || !ref.trim()) throw new DomainError('InvalidInput', what, `${what}: give a group name or id`);
    const g = findGroup(groups, ref);
    if (!g) throw new DomainError('NotFound', what, `group "${ref}" not found (see wsus groups list)`);
    return g;
  }

  function requireChangeable(g: GroupRow, verb: string): void {
    if (g.builtin) throw new DomainError('Conflict', 'group', `"${g.name}" is a built-in group and cannot be ${verb}`);
  }

  return {
    list() {
      const groups = store.all();
      const byId = new Map(groups.map((g) => [g.id, { id: g.id, name: g.name, parentId: g.parentId }]));
      const counts = store.counts();
      // Client-side targeting: members are the computers naming the group.
      const requested = new Map<string, number>();
      if (deps.config.targetingMode === 'client') {
        for (const r of deps.requestedGroups()) {
          for (const name of new Set(r.split(';').map((s) => s.trim().toLowerCase()).filter(Boolean))) requested.set(name, (requested.get(name) ?? 0) + 1);
        }
      }
      const never = counts.get(null)?.computers ?? 0;
      return {
        targetingMode: deps.config.targetingMode,
        groups: groups.map((g) => ({
          id: g.id, name: g.name, parentId: g.parentId, path: groupPath(byId, g.id), builtin: g.builtin,
          computers: deps.config.targetingMode === 'client'
            ? requested.get(g.name.toLowerCase()) ?? 0
            : (counts.get(g.id)?.computers ?? 0) + (g.id === UNASSIGNED_COMPUTERS_ID ? never : 0),
          approvals: counts.get(g.id)?.approvals ?? 0,
          children: groups.filter((c) => c.parentId === g.id).length,
          createdAt: g.createdAt,
        })),
      };
    },

    create(input: { name?: unknown; parent?: unknown }) {
      assertLocalChangesAllowed(deps.config);
      const name = validName(input.name);
      let parentName: string | undefined;
      if (input.parent !== undefined && input.parent !== null && input.parent !== '') {
        parentName = requireGroup(store.all(), input.parent, 'parent').name;
      }
      const g = deps.targeting.createGroup(name, parentName, clock());
      deps.changed();
      log.info('group created', { id: g.id, name: g.name, parentId: g.parentId });
      return { id: g.id, name: g.name, parentId: g.parentId };
    },

    rename(ref: string, input: { name?: unknown }) {
      assertLocalChangesAllowed(deps.config);
      const groups = store.all();
      const g = requireGroup(groups, ref);
      requireChangeable(g, 'renamed');
      const name = validName(input.name);
      if (name === g.name) return { id: g.id, name, previousName: g.name, changed: false };
      // Client-side targeting matches names: computers naming the old or new name change groups.
      const affected = [...subtreeDeepestFirst(groups, g.id).map((x) => x.id), ...ancestorsOf(groups, g.id), UNASSIGNED_COMPUTERS_ID];
      store.rename(g.id, name, affected, clock());
      deps.changed();
      log.info('group renamed', { id: g.id, from: g.name, to: name });
      return { id: g.id, name, previousName: g.name, changed: true };
    },

    move(ref: string, input: { parent?: unknown }) {
      assertLocalChangesAllowed(deps.config);
      const groups = store.all();
      const g = requireGroup(groups, ref);
      requireChangeable(g, 'moved');
      const parent = requireGroup(groups, input.parent, 'parent');
      if (parent.id === UNASSIGNED_COMPUTERS_ID) throw new DomainError('InvalidInput', 'parent', 'groups cannot be placed under Unassigned Computers');
      if (wouldCreateCycle(groups, g.id, parent.id)) {
        throw new DomainError('InvalidInput', 'parent', `circular nesting refused: "${parent.name}" is "${g.name}" itself or one of its subgroups`);
      }
      if (g.parentId === parent.id) return { id: g.id, name: g.name, parentId: parent.id, changed: false };
      // Computers below the group gain the new ancestors' approvals and lose the old ones'.
      const before = ancestorsOf(groups, g.id);
      const after = lineOf(groups, parent.id);
      const affected = [...before.filter((x) => !after.includes(x)), ...after.filter((x) => !before.includes(x))];
      store.move(g.id, parent.id, affected, clock());
      deps.changed();
      log.info('group moved', { id: g.id, name: g.name, from: g.parentId, to: parent.id });
      return { id: g.id, name: g.name, parentId: parent.id, previousParentId: g.parentId, changed: true };
    },

    delete(ref: string, input: { recursive?: unknown; whatIf?: unknown }) {
      assertLocalChangesAllowed(deps.config);
      const groups = store.all();
      const g = requireGroup(groups, ref);
      requireChangeable(g, 'deleted');
      const whatIf = input.whatIf === true;
      const subtree = subtreeDeepestFirst(groups, g.id);
      const below = subtree.filter((x) => x.id !== g.id);
      if (below.length && input.recursive !== true) {
        throw new DomainError('Conflict', 'group', `"${g.name}" has subgroups (${below.map((x) => x.name).join(', ')}): delete them first or pass recursive (--recursive) to delete them too`);
      }
      const computers = subtree.flatMap((x) => store.computersOf(x.id).map((c) => ({ ...c, group: x.name })));
      const approvals = subtree.reduce((n, x) => n + store.approvalCountOf(x.id), 0);
      const plan = {
        whatIf,
        groups: subtree.map((x) => ({ id: x.id, name: x.name })),
        computersToUnassigned: computers,
        approvalsRemoved: approvals,
        note: deps.config.targetingMode === 'client'
          ? 'client-side targeting: computers naming a deleted group fall back to Unassigned Computers until their TargetGroup policy changes'
          : computers.length ? `${computers.length} computer(s) move to Unassigned Computers` : null,
      };
      if (whatIf) return plan;
      // Computers leaving for Unassigned lose the approvals of the group's ancestors.
      const affected = [...ancestorsOf(groups, g.id).filter((id) => id !== ALL_COMPUTERS_ID), UNASSIGNED_COMPUTERS_ID];
      const r = store.deleteGroups(subtree.map((x) => x.id), affected, clock());
      deps.changed();
      log.info('group deleted', { id: g.id, name: g.name, groups: subtree.length, approvalsRemoved: r.approvalsRemoved, computersUnassigned: r.computersUnassigned });
      return { ...plan, approvalsRemoved: r.approvalsRemoved };
    },
  };
}

export type GroupsAdminService = ReturnType<typeof createGroupsAdminService>;
