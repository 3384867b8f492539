import { ALL_COMPUTERS_ID, UNASSIGNED_COMPUTERS_ID } from '../targeting/builtin-groups.js';
import type { GroupNode } from '../targeting/group-tree.js';

// targeting.json in a package made with --approvals: the source server's computer groups,
// approvals and declines, complete (not a delta). Pure: read and check the document, and plan
// what an import changes on this server.
//
// Import semantics (documented in docs/admin-transfer.md):
// - groups: matched by GUID, else by name (a group an admin created on both sides), else
//   created with the source's GUID; a matched group is renamed/moved to the source's when free;
// - approvals: added or changed to the source's action and deadline; approvals an earlier import
//   from the same source made (approved_by `import:<source id>`) that the source no longer has
//   are removed; approvals made locally are kept unless the source approves the same pair;
// - declines: the source's declined updates are declined; updates an earlier import from the
//   same source declined and the source has undeclined are undeclined.

export interface PackageGroup { id: string; name: string; parentId: string | null }
export interface PackageApproval { updateId: string; groupId: string; action: 'Install' | 'Uninstall'; deadline: string | null }
export interface TargetingDocument {
  groups: PackageGroup[];
  approvals: PackageApproval[];
  declined: string[];
}

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
const BUILTIN = new Set([ALL_COMPUTERS_ID, UNASSIGNED_COMPUTERS_ID]);

export class TargetingDocumentError extends Error {
  constructor(message: string) {
    super(`targeting.json: ${message}`);
    this.name = 'TargetingDocumentError';
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function keys(o: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new TargetingDocumentError(`unexpected field ${k} in ${what}`);
}

function guid(v: unknown, what: string): string {
  if (typeof v !== 'string' || !GUID_RE.test(v)) throw new TargetingDocumentError(`${what} must be a lower-case GUID`);
  return v;
}

/** Parses and checks the document; groups come back parents first. */
export function parseTargetingDocument(text: string): TargetingDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TargetingDocumentError(`not JSON: ${(e as Error).message}`);
  }
  if (!isObject(raw)) throw new TargetingDocumentError('must be an object');
  keys(raw, ['groups', 'approvals', 'declined'], 'the document');
  if (!Array.isArray(raw.groups) || !Array.isArray(raw.approvals) || !Array.isArray(raw.declined)) {
    throw new TargetingDocumentError('groups, approvals and declined must be lists');
  }
  const groups: PackageGroup[] = raw.groups.map((g, i) => {
    if (!isObject(g)) throw new TargetingDocumentError(`groups[${i}] must be an object`);
    keys(g, ['id', 'name', 'parentId'], `groups[${i}]`);
    const id = guid(g.id, `groups[${i}].id`);
    if (BUILTIN.has(id)) throw new TargetingDocumentError(`groups[${i}] is a built-in group (they are never exported)`);
    if (typeof g.name !== 'string' || !g.name.trim() || g.name.length > 256 || g.name.includes(';')) {
      throw new TargetingDocumentError(`groups[${i}].name must be 1-256 characters without ";"`);
    }
    const parentId = g.parentId === null ? null : guid(g.parentId, `groups[${i}].parentId`);
    return { id, name: g.name.trim(), parentId };
  });
  const ids = new Set<string>();
  const names = new Set<string>();
  for (const g of groups) {
    if (ids.has(g.id)) throw new TargetingDocumentError(`group ${g.id} is listed twice`);
    if (names.has(g.name.toLowerCase())) throw new TargetingDocumentError(`group name "${g.name}" is listed twice`);
    ids.add(g.id);
    names.add(g.name.toLowerCase());
  }
  for (const g of groups) {
    if (g.parentId !== null && !ids.has(g.parentId) && !BUILTIN.has(g.parentId)) {
      throw new TargetingDocumentError(`group "${g.name}" has a parent that is not in the package`);
    }
    if (g.parentId === UNASSIGNED_COMPUTERS_ID) throw new TargetingDocumentError(`group "${g.name}" is under Unassigned Computers`);
  }
  const known = new Set([...ids, ...BUILTIN]);
  const seenPairs = new Set<string>();
  const approvals: PackageApproval[] = raw.approvals.map((a, i) => {
    if (!isObject(a)) throw new TargetingDocumentError(`approvals[${i}] must be an object`);
    keys(a, ['updateId', 'groupId', 'action', 'deadline'], `approvals[${i}]`);
    const updateId = guid(a.updateId, `approvals[${i}].updateId`);
    const groupId = guid(a.groupId, `approvals[${i}].groupId`);
    if (!known.has(groupId)) throw new TargetingDocumentError(`approvals[${i}] names a group that is not in the package`);
    if (a.action !== 'Install' && a.action !== 'Uninstall') throw new TargetingDocumentError(`approvals[${i}].action must be Install or Uninstall`);
    if (a.deadline !== null && (typeof a.deadline !== 'string' || !ISO_RE.test(a.deadline))) {
      throw new TargetingDocumentError(`approvals[${i}].deadline must be null or an ISO time`);
    }
    const pair = `${updateId}/${groupId}`;
    if (seenPairs.has(pair)) throw new TargetingDocumentError(`approval ${pair} is listed twice`);
    seenPairs.add(pair);
    return { updateId, groupId, action: a.action, deadline: a.deadline as string | null };
  });
  const declined = raw.declined.map((d, i) => guid(d, `declined[${i}]`));
  const declinedSet = new Set(declined);
  if (declinedSet.size !== declined.length) throw new TargetingDocumentError('an update is declined twice');
  for (const a of approvals) if (declinedSet.has(a.updateId)) throw new TargetingDocumentError(`update ${a.updateId} is both approved and declined`);
  return { groups: parentsFirst(groups), approvals, declined };
}

/** Orders groups so each parent comes before its children; refuses cycles. */
export function parentsFirst(groups: readonly PackageGroup[]): PackageGroup[] {
  const byId = new Map(groups.map((g) => [g.id, g]));
  const out: PackageGroup[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (g: PackageGroup): void => {
    const s = state.get(g.id);
    if (s === 'done') return;
    if (s === 'visiting') throw new TargetingDocumentError(`group "${g.name}" is its own ancestor`);
    state.set(g.id, 'visiting');
    const p = g.parentId ? byId.get(g.parentId) : undefined;
    if (p) visit(p);
    state.set(g.id, 'done');
    out.push(g);
  };
  for (const g of groups) visit(g);
  return out;
}

export function importedBy(sourceServerId: string): string {
  return `import:${sourceServerId}`;
}

export interface LocalApproval { updateId: string; groupId: string; action: 'Install' | 'Uninstall'; deadline: string | null; approvedBy: string }

export interface LocalTargeting {
  groups: readonly GroupNode[];
  approvals: readonly LocalApproval[];
  /** update ids in this catalog, and which are declined */
  updates: ReadonlyMap<string, { declined: boolean }>;
  /** updates earlier imports from this source declined */
  declinedByEarlierImport: ReadonlySet<string>;
}

export type GroupStep =
  | { op: 'create'; id: string; name: string; parentId: string }
  | { op: 'update'; id: string; name: string; parentId: string }
  | { op: 'map'; packageId: string; localId: string; name: string };

export interface TargetingPlan {
  groups: GroupStep[];
  /** package group id → local group id */
  groupIds: Map<string, string>;
  approve: Array<{ updateId: string; groupId: string; action: 'Install' | 'Uninstall'; deadline: string | null }>;
  unapprove: Array<{ updateId: string; groupId: string }>;
  decline: string[];
  undecline: string[];
  unchanged: number;
  /** approvals and declines of updates this catalog does not have (yet) */
  unknownUpdates: number;
  notes: string[];
}

/** What an import of `doc` from `sourceServerId` changes here. Pure. */
export function planTargeting(doc: TargetingDocument, local: LocalTargeting, sourceServerId: string): TargetingPlan {
  const by = importedBy(sourceServerId);
  const notes: string[] = [];
  const localById = new Map(local.groups.map((g) => [g.id, g]));
  const localByName = new Map(local.groups.map((g) => [g.name.toLowerCase(), g]));
  const groupIds = new Map<string, string>([[ALL_COMPUTERS_ID, ALL_COMPUTERS_ID], [UNASSIGNED_COMPUTERS_ID, UNASSIGNED_COMPUTERS_ID]]);
  const steps: GroupStep[] = [];
  const takenNames = new Map(local.groups.map((g) => [g.name.toLowerCase(), g.id]));
  for (const g of doc.groups) {
    const parentId = g.parentId === null ? ALL_COMPUTERS_ID : groupIds.get(g.parentId) ?? ALL_COMPUTERS_ID;
    const same = localById.get(g.id);
    if (same) {
      groupIds.set(g.id, g.id);
      const owner = takenNames.get(g.name.toLowerCase());
      if (same.name === g.name && same.parentId === parentId) continue;
      if (owner !== undefined && owner !== g.id) {
        notes.push(`group "${same.name}" keeps its name: "${g.name}" is taken by another group here`);
        if (same.parentId !== parentId) steps.push({ op: 'update', id: g.id, name: same.name, parentId });
        continue;
      }
      takenNames.delete(same.name.toLowerCase());
      takenNames.set(g.name.toLowerCase(), g.id);
      steps.push({ op: 'update', id: g.id, name: g.name, parentId });
      continue;
    }
    const named = localByName.get(g.name.toLowerCase());
    if (named) {
      groupIds.set(g.id, named.id);
      steps.push({ op: 'map', packageId: g.id, localId: named.id, name: named.name });
      continue;
    }
    groupIds.set(g.id, g.id);
    takenNames.set(g.name.toLowerCase(), g.id);
    steps.push({ op: 'create', id: g.id, name: g.name, parentId });
  }

  const plan: TargetingPlan = { groups: steps, groupIds, approve: [], unapprove: [], decline: [], undecline: [], unchanged: 0, unknownUpdates: 0, notes };
  const declined = new Set(doc.declined);
  for (const id of doc.declined) {
    const u = local.updates.get(id);
    if (!u) plan.unknownUpdates++;
    else if (!u.declined) plan.decline.push(id);
  }
  for (const id of local.declinedByEarlierImport) {
    if (!declined.has(id) && local.updates.get(id)?.declined) plan.undecline.push(id);
  }
  const undeclining = new Set(plan.undecline);
  const localApproval = new Map(local.approvals.map((a) => [`${a.updateId}/${a.groupId}`, a]));
  const wanted = new Set<string>();
  for (const a of doc.approvals) {
    const groupId = groupIds.get(a.groupId)!;
    const key = `${a.updateId}/${groupId}`;
    wanted.add(key);
    const u = local.updates.get(a.updateId);
    if (!u) {
      plan.unknownUpdates++;
      continue;
    }
    if (u.declined && !undeclining.has(a.updateId)) {
      notes.push(`update ${a.updateId} is declined here: its approval was not imported`);
      continue;
    }
    const have = localApproval.get(key);
    if (have && have.action === a.action && sameInstant(have.deadline, a.deadline)) {
      plan.unchanged++;
      continue;
    }
    plan.approve.push({ updateId: a.updateId, groupId, action: a.action, deadline: a.deadline });
  }
  for (const a of local.approvals) {
    const key = `${a.updateId}/${a.groupId}`;
    if (a.approvedBy === by && !wanted.has(key) && !declined.has(a.updateId)) plan.unapprove.push({ updateId: a.updateId, groupId: a.groupId });
  }
  return plan;
}

function sameInstant(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  return Date.parse(a) === Date.parse(b);
}
