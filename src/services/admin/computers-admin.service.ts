import type { ServerConfig } from '../../config/config.js';
import { DomainError } from '../../core/errors.js';
import { ALL_COMPUTERS_ID, UNASSIGNED_COMPUTERS_ID, UNASSIGNED_COMPUTERS_NAME } from '../../core/targeting/builtin-groups.js';
import { effectiveGroups } from '../../core/targeting/group-tree.js';
import { subtreeDeepestFirst } from '../../core/targeting/group-moves.js';
import type { Logger } from '../../logger.js';
import type { ComputerListQuery, ComputerRow, ComputersAdminStore } from '../../store/computers-admin.store.js';
import type { ComputersStore } from '../../store/computers.store.js';
import type { GroupRow, GroupsAdminStore } from '../../store/groups-admin.store.js';
import type { UpdateListingStore } from '../../store/update-listing.store.js';
import type { StatusIndex } from '../reports/status-index.js';
import { UpdateState } from '../../core/reporting/update-state.js';
import { findGroup, lineOf, symmetricDifference } from './group-refs.js';
import { DEFAULT_LIMIT, MAX_LIMIT } from './updates-query.service.js';

// Get-WsusComputer and friends: list with filters (group, stale, name, duplicate client ids),
// show one, move to a group, delete (by name or all stale ones, with a what-if).

export interface ComputerListInput {
  group?: string;
  includeSubgroups?: boolean;
  staleDays?: number;
  text?: string;
  duplicates?: boolean;
  sort?: string;
  limit?: number;
  offset?: number;
}

interface Deps {
  config: Pick<ServerConfig, 'targetingMode'>;
  store: ComputersAdminStore;
  computers: ComputersStore;
  groups: GroupsAdminStore;
  listing: UpdateListingStore;
  status: Pick<StatusIndex, 'storedCountsOf' | 'statesOf'>;
  clock: () => Date;
  log: Logger;
  changed: () => void;
}

const DAY_MS = 86_400_000;
const MAX_STALE_DAYS = 36_500;

function staleCutoff(days: unknown, now: Date): string {
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > MAX_STALE_DAYS) {
    throw new DomainError('InvalidInput', 'staleDays', `staleDays must be a whole number of days from 1 to ${MAX_STALE_DAYS}`);
  }
  return new Date(now.getTime() - days * DAY_MS).toISOString();
}

export function createComputersAdminService(deps: Deps) {
  const { store, clock, log } = deps;
  const clientMode = (): boolean => deps.config.targetingMode === 'client';

  function requireGroup(groups: readonly GroupRow[], ref: unknown): GroupRow {
    if (typeof ref !== 'string' || !ref.trim()) throw new DomainError('InvalidInput', 'group', 'group: give a group name or id');
    const g = findGroup(groups, ref);
    if (!g) throw new DomainError('NotFound', 'group', `group "${ref}" not found (see wsus groups list)`);
    return g;
  }

  function membership(groupRef: string, includeSubgroups: boolean): Pick<ComputerListQuery, 'assignedTo' | 'requesting'> {
    const groups = deps.groups.all();
    const g = requireGroup(groups, groupRef);
    if (g.id === ALL_COMPUTERS_ID) return {};
    const ids = includeSubgroups ? subtreeDeepestFirst(groups, g.id).map((x) => x.id) : [g.id];
    const unassigned = ids.includes(UNASSIGNED_COMPUTERS_ID);
    if (clientMode()) {
      const names = groups.filter((x) => ids.includes(x.id)).map((x) => x.name.toLowerCase());
      return { requesting: { names, unassigned, allNames: groups.map((x) => x.name.toLowerCase()) } };
    }
    return { assignedTo: { groupIds: ids, unassigned } };
  }

  /** From the status index: needed counts every update the computer requires (downloaded, failed and pending a reboot too). */
  function statusCounts(clientId: string) {
    const c = deps.status.storedCountsOf(clientId);
    return c ? { needed: c[2]! + c[3]! + c[5]! + c[6]!, installed: c[4]!, failed: c[5]!, pendingReboot: c[6]! } : null;
  }

  function listItem(r: ComputerRow, duplicates: ReadonlySet<string>) {
    return {
      ...r,
      group: clientMode() ? r.requestedGroups || UNASSIGNED_COMPUTERS_NAME : r.groupName ?? UNASSIGNED_COMPUTERS_NAME,
      duplicate: duplicates.has(r.clientId),
      status: statusCounts(r.clientId),
    };
  }

  /** Computers by client id, full DNS name or short name (ignoring case); all problems at once. */
  function resolve(refsRaw: unknown): Array<{ clientId: string; dnsName: string }> {
    const list = typeof refsRaw === 'string' ? [refsRaw] : refsRaw;
    if (!Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === 'string' && x.trim())) {
      throw new DomainError('InvalidInput', 'computers', 'computers: give at least one computer (client id or name)');
    }
    type Ref = { clientId: string; dnsName: string };
    // A few names: index look-ups; many: one pass over every name.
    let lookup: (ref: string) => Ref[];
    if ((list as string[]).length <= 50) {
      lookup = (ref) => {
        const c = store.byId(ref);
        return c ? [{ clientId: c.clientId, dnsName: c.dnsName }] : store.byName(ref);
      };
    } else {
      const all = store.names();
      const byId = new Map(all.map((c) => [c.clientId, c]));
      const byName = new Map<string, Ref[]>();
      const byShort = new Map<string, Ref[]>();
      for (const c of all) {
        const lower = c.dnsName.toLowerCase();
        byName.set(lower, [...(byName.get(lower) ?? []), c]);
        const short = lower.split('.')[0]!;
        if (short !== lower) byShort.set(short, [...(byShort.get(short) ?? []), c]);
      }
      lookup = (ref) => (byId.get(ref) ? [byId.get(ref)!] : byName.get(ref) ?? byShort.get(ref) ?? []);
    }
    const found = new Map<string, Ref>();
    const notFound: string[] = [];
    const ambiguous: string[] = [];
    for (const raw of list as string[]) {
      const ref = raw.trim().toLowerCase();
      const hit = lookup(ref);
      if (hit.length === 0) notFound.push(raw);
      else if (hit.length > 1) ambiguous.push(`"${raw}" matches ${hit.length} computers (name one by its client id): ${hit.map((c) => `${c.clientId} ${c.dnsName}`).join('; ')}`);
      else found.set(hit[0]!.clientId, hit[0]!);
    }
    if (notFound.length) throw new DomainError('NotFound', 'computers', `computers not found: ${notFound.map((n) => `"${n}"`).join(', ')}${ambiguous.length ? `\n${ambiguous.join('\n')}` : ''}`);
    if (ambiguous.length) throw new DomainError('InvalidInput', 'computers', ambiguous.join('\n'));
    return [...found.values()];
  }

  return {
    list(input: ComputerListInput) {
      const limit = input.limit ?? DEFAULT_LIMIT;
      const offset = input.offset ?? 0;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new DomainError('InvalidInput', 'limit', `limit must be 1-${MAX_LIMIT}`);
      if (!Number.isInteger(offset) || offset < 0) throw new DomainError('InvalidInput', 'offset', 'offset must be 0 or more');
      const sort = input.sort ?? 'name';
      if (sort !== 'name' && sort !== 'last-contact') throw new DomainError('InvalidInput', 'sort', 'sort must be name or last-contact');
      const text = input.text?.trim() || undefined;
      if (text && text.length > 256) throw new DomainError('InvalidInput', 'text', 'text is limited to 256 characters');
      const { rows, total } = store.list({
        ...(input.group ? membership(input.group, input.includeSubgroups === true) : {}),
        contactBefore: input.staleDays === undefined ? undefined : staleCutoff(input.staleDays, clock()),
        text, duplicates: input.duplicates === true, sort, limit, offset,
      });
      const duplicates = store.duplicatesAmong(rows.map((r) => r.clientId));
      return { targetingMode: deps.config.targetingMode, total, offset, limit, computers: rows.map((r) => listItem(r, duplicates)) };
    },

    show(ref: string) {
      const [c] = resolve([ref]);
      const row = store.byId(c!.clientId)!;
      const groups = deps.groups.all();
      const nodes = new Map(groups.map((g) => [g.id, { id: g.id, name: g.name, parentId: g.parentId }]));
      const byName = new Map(groups.map((g) => [g.name.toLowerCase(), { id: g.id, name: g.name, parentId: g.parentId }]));
      const effective = effectiveGroups(nodes, byName, deps.config.targetingMode, row.groupId, row.requestedGroups)
        .map((id) => ({ id, name: nodes.get(id)?.name ?? id }));
      const status = deps.status.statesOf(row.clientId);
      const titled = (ids: Iterable<string>) => [...ids].slice(0, 200).map((id) => ({ updateId: id, title: deps.listing.byUpdateId(id)?.title ?? null }));
      const inState = (...states: UpdateState[]): string[] => (status ? [...status.states].filter(([, s]) => states.includes(s)).map(([id]) => id) : []);
      const sightings = store.sightings(row.clientId);
      return {
        ...listItem(row, store.duplicatesAmong([row.clientId])),
        effectiveGroups: effective,
        sightings,
        updates: status ? {
          needed: titled(inState(UpdateState.NotInstalled, UpdateState.Downloaded, UpdateState.Failed, UpdateState.InstalledPendingReboot)),
          failed: titled(inState(UpdateState.Failed)), pendingReboot: titled(inState(UpdateState.InstalledPendingReboot)),
          installedCount: inState(UpdateState.Installed).length,
        } : null,
      };
    },

    move(input: { computers?: unknown; group?: unknown; whatIf?: unknown }) {
      if (clientMode()) {
        throw new DomainError('Conflict', 'targetingMode', 'targetingMode is "client": computers choose their groups with the TargetGroup policy; change the policy, or set "targetingMode": "server"');
      }
      const groups = deps.groups.all();
      const target = requireGroup(groups, input.group);
      if (target.id === ALL_COMPUTERS_ID) throw new DomainError('InvalidInput', 'group', 'every computer is in All Computers: move computers to one of its groups');
      const to = target.id === UNASSIGNED_COMPUTERS_ID ? null : target.id;
      const computers = resolve(input.computers);
      const current = new Map(computers.map((c) => [c.clientId, store.byId(c.clientId)!]));
      const changes = computers.map((c) => {
        const from = current.get(c.clientId)!.groupId;
        return { clientId: c.clientId, name: c.dnsName, from: current.get(c.clientId)!.groupName ?? UNASSIGNED_COMPUTERS_NAME, to: target.name, changed: (from ?? null) !== to && !(from === UNASSIGNED_COMPUTERS_ID && to === null) };
      });
      const whatIf = input.whatIf === true;
      let moved = 0;
      if (!whatIf && changes.some((c) => c.changed)) {
        const line = (id: string | null): string[] => lineOf(groups, id ?? UNASSIGNED_COMPUTERS_ID);
        moved = store.move(changes.filter((c) => c.changed).map((c) => c.clientId), to, (from) => symmetricDifference(line(from), line(to)), clock());
        deps.changed();
        log.info('computers moved', { group: target.name, moved });
      }
      return { whatIf, group: { id: target.id, name: target.name }, moved, changes };
    },

    delete(input: { computers?: unknown; staleDays?: unknown; whatIf?: unknown }) {
      const byStale = input.staleDays !== undefined && input.staleDays !== null;
      const byRef = input.computers !== undefined && input.computers !== null;
      if (byStale === byRef) throw new DomainError('InvalidInput', 'computers', 'give either computers (names or client ids) or staleDays, not both');
      const whatIf = input.whatIf === true;
      let targets: Array<{ clientId: string; dnsName: string; lastContactAt: string }>;
      if (byStale) {
        const cutoff = staleCutoff(input.staleDays, clock());
        targets = store.list({ contactBefore: cutoff, sort: 'last-contact', limit: Number.MAX_SAFE_INTEGER, offset: 0 }).rows
          .map((r) => ({ clientId: r.clientId, dnsName: r.dnsName, lastContactAt: r.lastContactAt }));
      } else {
        targets = resolve(input.computers).map((c) => ({ ...c, lastContactAt: store.byId(c.clientId)!.lastContactAt }));
      }
      if (whatIf || targets.length === 0) return { whatIf, deleted: 0, computers: targets };
      const ids = targets.map((t) => t.clientId);
      const r = store.delete(ids);
      deps.computers.forgetSightings(ids);
      deps.changed();
      log.info('computers deleted', { computers: r.computers, events: r.events, byStaleDays: byStale ? input.staleDays : undefined });
      return { whatIf, deleted: r.computers, eventsDeleted: r.events, computers: targets };
    },
  };
}

export type ComputersAdminService = ReturnType<typeof createComputersAdminService>;
