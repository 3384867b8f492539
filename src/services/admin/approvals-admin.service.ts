import type { ServerConfig } from '../../config/config.js';
import { DomainError } from '../../core/errors.js';
import { parseDeadline } from '../../core/admin/deadline.js';
import type { Logger } from '../../logger.js';
import type { Action, ApprovalsBulkStore } from '../../store/approvals-bulk.store.js';
import type { GroupRow, GroupsAdminStore } from '../../store/groups-admin.store.js';
import type { SummaryRow, UpdateListingStore } from '../../store/update-listing.store.js';
import { assertLocalChangesAllowed } from '../sync/replica-guard.js';
import { resolveGroups } from './group-refs.js';
import { requireRefList, resolveUpdateRefs, throwRefProblems } from './update-refs.js';

// Approve-WsusUpdate / Deny-WsusUpdate for many updates and groups at once. Every request is
// validated completely before anything is written (unknown, ambiguous, declined, not
// approvable: all reported together), then written in one transaction; `whatIf` stops after
// the plan and returns it.

export interface ApproveInput { updates: unknown; groups: unknown; action?: unknown; deadline?: unknown; whatIf?: unknown }
export interface UnapproveInput { updates: unknown; groups: unknown; whatIf?: unknown }
export interface DeclineInput { updates: unknown; whatIf?: unknown }

type ApprovalChange = 'new' | 'changed' | 'unchanged';

interface Deps {
  config: Pick<ServerConfig, 'sync'>;
  listing: UpdateListingStore;
  bulk: ApprovalsBulkStore;
  groups: GroupsAdminStore;
  clock: () => Date;
  log: Logger;
  /** after a write on the server's own connection */
  changed: () => void;
}

function parseAction(raw: unknown): Action {
  if (raw === undefined || raw === null) return 'Install';
  const a = typeof raw === 'string' ? raw.toLowerCase() : '';
  if (a === 'install') return 'Install';
  if (a === 'uninstall') return 'Uninstall';
  throw new DomainError('InvalidInput', 'action', `action must be install or uninstall, not "${String(raw)}"`);
}

function whatIfOf(raw: unknown): boolean {
  if (raw === undefined || raw === null || raw === false) return false;
  if (raw === true) return true;
  throw new DomainError('InvalidInput', 'whatIf', 'whatIf must be true or false');
}

const label = (u: SummaryRow): string => `${u.updateId} (${u.title})`;

export function createApprovalsAdminService(deps: Deps) {
  const { listing, bulk, clock, log } = deps;

  function resolve(updatesRaw: unknown, groupsRaw: unknown | null): { updates: SummaryRow[]; groups: GroupRow[] } {
    const updateRefs = requireRefList(updatesRaw, 'updates', 'update (GUID, KB number or exact title)');
    const groupRefs = groupsRaw === null ? [] : requireRefList(groupsRaw, 'groups', 'group');
    const { rows, problems } = resolveUpdateRefs(listing, updateRefs);
    const { found, unknown } = resolveGroups(deps.groups.all(), groupRefs);
    throwRefProblems(problems, unknown);
    return { updates: rows, groups: found };
  }

  /** Categories, detectoids and bundle members are never approved or declined on their own. */
  function requireApprovable(updates: readonly SummaryRow[]): void {
    const bad = updates.filter((u) => (u.updateType !== 'Software' && u.updateType !== 'Driver') || !u.explicitlyDeployable);
    if (bad.length) {
      throw new DomainError('InvalidInput', 'updates', `not updates that can be approved or declined on their own (categories, detectoids and bundle members follow their bundle): ${bad.map(label).join(', ')}`);
    }
  }

  return {
    approve(input: ApproveInput, by: string) {
      assertLocalChangesAllowed(deps.config);
      const action = parseAction(input.action);
      const deadline = parseDeadline(input.deadline);
      const whatIf = whatIfOf(input.whatIf);
      const { updates, groups } = resolve(input.updates, input.groups);
      requireApprovable(updates);
      const declined = updates.filter((u) => u.declined);
      if (declined.length) throw new DomainError('Conflict', 'updates', `declined updates cannot be approved (undecline them first): ${declined.map(label).join(', ')}`);
      const expired = updates.filter((u) => u.publicationState === 'Expired');
      if (expired.length) throw new DomainError('Conflict', 'updates', `expired updates cannot be approved (Microsoft withdrew them): ${expired.map(label).join(', ')}`);

      const existing = new Map(bulk.approvalsOf(updates.map((u) => u.updatePk)).map((a) => [`${a.updatePk}|${a.groupId}`, a]));
      const changes: Array<{ updateId: string; groupId: string; group: string; change: ApprovalChange; previous?: { action: Action; deadline: string | null } }> = [];
      const writes: Array<{ updatePk: number; groupId: string; action: Action; deadline: string | null }> = [];
      for (const u of updates) {
        for (const g of groups) {
          const prev = existing.get(`${u.updatePk}|${g.id}`);
          const change: ApprovalChange = !prev ? 'new' : prev.action === action && prev.deadline === deadline && !prev.mirrored ? 'unchanged' : 'changed';
          changes.push({ updateId: u.updateId, groupId: g.id, group: g.name, change, ...(prev && change === 'changed' ? { previous: { action: prev.action, deadline: prev.deadline } } : {}) });
          if (change !== 'unchanged') writes.push({ updatePk: u.updatePk, groupId: g.id, action, deadline });
        }
      }
      const count = (c: ApprovalChange): number => changes.filter((x) => x.change === c).length;
      let written = 0;
      if (!whatIf && writes.length) {
        written = bulk.approveMany(writes, by, clock());
        deps.changed();
        log.info('updates approved', { by, updates: updates.length, groups: groups.map((g) => g.name), action, deadline, written });
      }
      return {
        whatIf, action, deadline,
        updates: updates.map((u) => ({ updateId: u.updateId, title: u.title })),
        groups: groups.map((g) => ({ id: g.id, name: g.name })),
        counts: { new: count('new'), changed: count('changed'), unchanged: count('unchanged') },
        written,
        changes,
      };
    },

    unapprove(input: UnapproveInput) {
      assertLocalChangesAllowed(deps.config);
      const whatIf = whatIfOf(input.whatIf);
      const { updates, groups } = resolve(input.updates, input.groups);
      const existing = new Set(bulk.approvalsOf(updates.map((u) => u.updatePk)).map((a) => `${a.updatePk}|${a.groupId}`));
      const changes: Array<{ updateId: string; groupId: string; group: string; change: 'removed' | 'not-approved' }> = [];
      const pairs: Array<{ updatePk: number; groupId: string }> = [];
      for (const u of updates) {
        for (const g of groups) {
          const has = existing.has(`${u.updatePk}|${g.id}`);
          changes.push({ updateId: u.updateId, groupId: g.id, group: g.name, change: has ? 'removed' : 'not-approved' });
          if (has) pairs.push({ updatePk: u.updatePk, groupId: g.id });
        }
      }
      let written = 0;
      if (!whatIf && pairs.length) {
        written = bulk.unapproveMany(pairs, clock());
        deps.changed();
        log.info('approvals removed', { updates: updates.length, groups: groups.map((g) => g.name), removed: written });
      }
      return {
        whatIf,
        updates: updates.map((u) => ({ updateId: u.updateId, title: u.title })),
        groups: groups.map((g) => ({ id: g.id, name: g.name })),
        counts: { removed: pairs.length, notApproved: changes.length - pairs.length },
        written,
        changes,
      };
    },

    setDeclined(input: DeclineInput, declined: boolean) {
      assertLocalChangesAllowed(deps.config);
      const whatIf = whatIfOf(input.whatIf);
      const { updates } = resolve(input.updates, null);
      requireApprovable(updates);
      const approvals = new Map<number, number>();
      for (const a of bulk.approvalsOf(updates.map((u) => u.updatePk))) approvals.set(a.updatePk, (approvals.get(a.updatePk) ?? 0) + 1);
      const changes = updates.map((u) => ({
        updateId: u.updateId, title: u.title,
        change: u.declined === declined ? 'unchanged' as const : declined ? 'declined' as const : 'undeclined' as const,
        approvalsRemoved: declined && !u.declined ? approvals.get(u.updatePk) ?? 0 : 0,
      }));
      const todo = updates.filter((u) => u.declined !== declined);
      if (!whatIf && todo.length) {
        bulk.setDeclinedMany(todo.map((u) => u.updatePk), declined, clock());
        deps.changed();
        log.info(declined ? 'updates declined' : 'updates undeclined', { updates: todo.length });
      }
      return {
        whatIf,
        counts: { changed: todo.length, unchanged: updates.length - todo.length, approvalsRemoved: changes.reduce((n, c) => n + c.approvalsRemoved, 0) },
        changes,
      };
    },
  };
}

export type ApprovalsAdminService = ReturnType<typeof createApprovalsAdminService>;
