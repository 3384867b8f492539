import type { Writable } from 'node:stream';
import { flag, flagValues, parseArgs, UsageError } from '../args.js';
import { API_BOOL_FLAGS, API_FLAGS, withAdminSession } from '../admin-session.js';
import { printJson } from '../admin-client.js';

// Approve-WsusUpdate / Deny-WsusUpdate through the admin API: several updates and groups in one
// action (one transaction), `--what-if` to see the plan without changing anything.

export const approveHelp = `wsus approve <GUID|KB|"EXACT TITLE">... --group NAME [--group NAME]... [--action install|uninstall]
    [--deadline ISO] [--what-if] [--json]
wsus unapprove <GUID|KB|"EXACT TITLE">... --group NAME [--group NAME]... [--what-if] [--json]
  Approves updates for computer groups (and their child groups), or removes approvals, all in
  one transaction. A KB or title naming several updates is refused with the candidates; declined
  or expired updates cannot be approved; on a replica, approvals come from the upstream (exit 4).
  Example: wsus approve KB5034441 a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe --group Pilot --group "Ring 1" --deadline 2026-12-01T00:00:00Z`;

export const declineHelp = `wsus decline <GUID|KB|"EXACT TITLE">... [--what-if] [--json]
wsus undecline <GUID|KB|"EXACT TITLE">... [--what-if] [--json]
  A declined update is never offered to any client; declining removes its approvals.`;

export interface ApprovalsIo { out: Writable; err: Writable }
const stdio: ApprovalsIo = { out: process.stdout, err: process.stderr };

/** Per-pair lines are printed up to this many; beyond, the counts say it all (--json has every one). */
const DETAIL_LINES = 50;

interface ApproveResult {
  whatIf: boolean; action: string; deadline: string | null;
  updates: Array<{ updateId: string; title: string }>;
  groups: Array<{ id: string; name: string }>;
  counts: { new: number; changed: number; unchanged: number };
  written: number;
  changes: Array<{ updateId: string; group: string; change: string; previous?: { action: string; deadline: string | null } }>;
}
interface UnapproveResult {
  whatIf: boolean; updates: Array<{ updateId: string }>; groups: Array<{ name: string }>;
  counts: { removed: number; notApproved: number }; changes: Array<{ updateId: string; group: string; change: string }>;
}
interface DeclineResult {
  whatIf: boolean; counts: { changed: number; unchanged: number; approvalsRemoved: number };
  changes: Array<{ updateId: string; title: string; change: string; approvalsRemoved: number }>;
}

function refsAndGroups(argv: string[], extraValues: string[], withGroups: boolean) {
  const args = parseArgs(argv, [...API_FLAGS, ...(withGroups ? ['group'] : []), ...extraValues], ['what-if', 'json', ...API_BOOL_FLAGS]);
  if (!args.positional.length) throw new UsageError('name at least one update: GUID, KB number or "exact title"');
  const groups = flagValues(args, 'group');
  if (withGroups && !groups.length) throw new UsageError('--group is required (repeat it for several groups)');
  return { args, updates: args.positional, groups, whatIf: args.flags.get('what-if') === true, json: args.flags.get('json') === true };
}

const quoted = (names: ReadonlyArray<{ name: string }>): string => names.map((g) => `"${g.name}"`).join(', ');

export async function approveCommand(argv: string[], io: ApprovalsIo = stdio): Promise<number> {
  const { args, updates, groups, whatIf, json } = refsAndGroups(argv, ['action', 'deadline'], true);
  const action = (flag(args, 'action') ?? 'install').toLowerCase();
  if (action !== 'install' && action !== 'uninstall') throw new UsageError('--action must be install or uninstall');
  const deadline = flag(args, 'deadline');
  const r = await withAdminSession(args, (c) => c.send<ApproveResult>('POST', '/api/updates/approve', { updates, groups, action, deadline, whatIf }));
  if (json) {
    printJson(r, io.out);
    return 0;
  }
  const verb = r.whatIf ? 'what if: would approve' : 'approved';
  const one = r.updates.length === 1 ? r.updates[0]!.updateId : `${r.updates.length} updates`;
  io.out.write(`${verb} ${one} for ${r.action} to ${quoted(r.groups)}${r.deadline ? ` with deadline ${r.deadline}` : ''}`
    + ` (${r.counts.new} new, ${r.counts.changed} changed, ${r.counts.unchanged} unchanged)\n`);
  const shown = r.changes.filter((c) => c.change !== 'unchanged' || r.changes.length <= DETAIL_LINES);
  if (shown.length <= DETAIL_LINES && r.changes.length > 1) {
    for (const c of shown) {
      const prev = c.previous ? ` (was ${c.previous.action}${c.previous.deadline ? `, deadline ${c.previous.deadline}` : ''})` : '';
      io.out.write(`  ${c.change === 'unchanged' ? '=' : '+'} ${c.updateId} -> "${c.group}" ${c.change}${prev}\n`);
    }
  }
  if (r.whatIf) io.err.write('nothing was changed (--what-if)\n');
  return 0;
}

export async function unapproveCommand(argv: string[], io: ApprovalsIo = stdio): Promise<number> {
  const { args, updates, groups, whatIf, json } = refsAndGroups(argv, [], true);
  const r = await withAdminSession(args, (c) => c.send<UnapproveResult>('POST', '/api/updates/unapprove', { updates, groups, whatIf }));
  if (json) {
    printJson(r, io.out);
    return 0;
  }
  io.out.write(`${r.whatIf ? 'what if: would remove' : 'removed'} ${r.counts.removed} approval(s) of ${r.updates.length} update(s) for ${quoted(r.groups)}`
    + `${r.counts.notApproved ? ` (${r.counts.notApproved} pair(s) were not approved)` : ''}\n`);
  if (r.changes.length <= DETAIL_LINES && r.changes.length > 1) {
    for (const c of r.changes) io.out.write(`  ${c.change === 'removed' ? '-' : '='} ${c.updateId} -> "${c.group}" ${c.change}\n`);
  }
  if (r.whatIf) io.err.write('nothing was changed (--what-if)\n');
  return 0;
}

export async function declineCommand(argv: string[], declined: boolean, io: ApprovalsIo = stdio): Promise<number> {
  const { args, updates, whatIf, json } = refsAndGroups(argv, [], false);
  const r = await withAdminSession(args, (c) => c.send<DeclineResult>('POST', `/api/updates/${declined ? 'decline' : 'undecline'}`, { updates, whatIf }));
  if (json) {
    printJson(r, io.out);
    return 0;
  }
  const verb = declined ? 'declined' : 'undeclined';
  for (const c of r.changes.slice(0, DETAIL_LINES)) {
    const text = c.change === 'unchanged' ? `already ${verb}` : `${r.whatIf ? `would be ${verb}` : verb}${c.approvalsRemoved ? ` (${c.approvalsRemoved} approval(s) removed)` : ''}`;
    io.out.write(`${c.updateId}  ${text}  ${c.title}\n`);
  }
  if (r.changes.length > DETAIL_LINES) {
    io.out.write(`${r.whatIf ? 'what if: would have ' : ''}${verb} ${r.counts.changed} update(s), ${r.counts.unchanged} unchanged, ${r.counts.approvalsRemoved} approval(s) removed\n`);
  }
  if (r.whatIf) io.err.write('nothing was changed (--what-if)\n');
  return 0;
}
