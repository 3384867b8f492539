import { UNASSIGNED_COMPUTERS_ID } from '../../core/targeting/builtin-groups.js';
import { effectiveGroups, type GroupNode, type TargetingMode } from '../../core/targeting/group-tree.js';
import type { ComputersVersion, ReportComputerRow, ReportComputersStore } from '../../store/report-computers.store.js';

// What the reports know about each computer: name, address, OS, contact times and the groups
// it is in (ancestors included: a report on a group covers its subgroups, as approvals on a
// parent apply to its children). Read whole once; afterwards a cheap aggregate tells what
// moved: new or deleted computers reload everything, contact times reload the rows touched
// since, and a change_seq bump (moves, group renames) re-reads only the group assignments.

export interface ComputerFact {
  clientId: string;
  name: string;
  nameLower: string;
  address: string | null;
  os: string | null;
  registeredAt: string;
  lastSyncAt: string | null;
  lastReportAt: string | null;
  /** the latest of registration, scan and report */
  lastContactAt: string;
  assignedGroupId: string | null;
  requestedGroups: string;
  /** effective group ids: All Computers, the direct groups and their ancestors */
  memberOf: string[];
  /** the direct groups' names, as a row shows them */
  groupNames: string[];
}

export interface ComputerFacts {
  version: number;
  list: ComputerFact[];
  byId: Map<string, ComputerFact>;
  groups: Map<string, GroupNode>;
}

const max = (...xs: Array<string | null>): string => xs.reduce<string>((m, x) => (x !== null && x > m ? x : m), '');

export function computerFactsCache(store: ReportComputersStore, mode: TargetingMode) {
  let facts: ComputerFacts | null = null;
  let seen: ComputersVersion | null = null;
  let groups = new Map<string, GroupNode>();
  let groupsByName = new Map<string, GroupNode>();

  function loadGroups(): void {
    const list = store.groups();
    groups = new Map(list.map((g) => [g.id, g]));
    groupsByName = new Map(list.map((g) => [g.name.toLowerCase(), g]));
  }

  function membership(assignedGroupId: string | null, requestedGroups: string): { memberOf: string[]; groupNames: string[] } {
    const memberOf = effectiveGroups(groups, groupsByName, mode, assignedGroupId, requestedGroups);
    const direct: string[] = [];
    if (mode === 'client') {
      for (const raw of requestedGroups.split(';')) {
        const g = groupsByName.get(raw.trim().toLowerCase());
        if (g && !direct.includes(g.id)) direct.push(g.id);
      }
    } else if (assignedGroupId && groups.has(assignedGroupId)) {
      direct.push(assignedGroupId);
    }
    if (direct.length === 0) direct.push(UNASSIGNED_COMPUTERS_ID);
    return { memberOf, groupNames: direct.map((id) => groups.get(id)?.name ?? id) };
  }

  function fact(r: ReportComputerRow): ComputerFact {
    return {
      clientId: r.clientId, name: r.name, nameLower: r.name.toLowerCase(), address: r.address,
      os: r.osDescription ?? (r.osVersion ? `Windows ${r.osVersion}` : null),
      registeredAt: r.registeredAt, lastSyncAt: r.lastSyncAt, lastReportAt: r.lastReportAt,
      lastContactAt: max(r.registeredAt, r.lastSyncAt, r.lastReportAt),
      assignedGroupId: r.assignedGroupId, requestedGroups: r.requestedGroups,
      ...membership(r.assignedGroupId, r.requestedGroups),
    };
  }

  function full(version: number): ComputerFacts {
    loadGroups();
    const byId = new Map<string, ComputerFact>();
    for (const r of store.all()) byId.set(r.clientId, fact(r));
    return { version, list: [...byId.values()], byId, groups };
  }

  return {
    current(): ComputerFacts {
      const v = store.version();
      if (!facts || !seen || v.count !== seen.count || v.maxRowid !== seen.maxRowid) {
        facts = full((facts?.version ?? 0) + 1);
        seen = v;
        return facts;
      }
      let changed = false;
      const byId = facts.byId;
      if (v.changeSeq !== seen.changeSeq) {
        loadGroups();
        changed = true;
        for (const a of store.assignments()) {
          const f = byId.get(a.clientId);
          if (!f) continue;
          f.assignedGroupId = a.assignedGroupId;
          f.requestedGroups = a.requestedGroups;
          Object.assign(f, membership(a.assignedGroupId, a.requestedGroups));
        }
      }
      if (v.registeredAt !== seen.registeredAt || v.syncAt !== seen.syncAt || v.reportAt !== seen.reportAt) {
        const touched = store.touchedSince(seen);
        // A computer we do not know with the count unchanged: one was deleted and another took its rowid.
        if (touched.some((r) => !byId.has(r.clientId))) {
          facts = full(facts.version + 1);
          seen = v;
          return facts;
        }
        for (const r of touched) byId.set(r.clientId, fact(r));
        changed ||= touched.length > 0;
      }
      seen = v;
      if (changed) facts = { version: facts.version + 1, list: [...byId.values()], byId, groups };
      return facts;
    },
  };
}

export type ComputerFactsCache = ReturnType<typeof computerFactsCache>;
