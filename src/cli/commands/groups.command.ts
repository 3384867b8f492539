import type { Writable } from 'node:stream';
import { flag, parseArgs, UsageError } from '../args.js';
import { API_BOOL_FLAGS, API_FLAGS, withAdminSession } from '../admin-session.js';
import { printJson } from '../admin-client.js';
import { textTable } from '../text-table.js';

// Computer groups through the admin API: create, rename, move (nesting), delete, list.

export const groupsHelp = `wsus groups list [--json]
wsus groups create NAME [--parent NAME]
wsus groups rename NAME NEW-NAME
wsus groups move NAME --parent NAME
wsus groups delete NAME [--recursive] [--what-if] [--json]
  Computer groups nest; approvals given to a group apply to its children. A group cannot be
  moved below itself. Deleting a group removes its approvals and moves its computers to
  Unassigned Computers (subgroups only with --recursive). Built-ins cannot be changed:
  "All Computers" (a0a08746-4dbe-4a37-9adf-9e7652c0b421), "Unassigned Computers" (b73ca6ed-5727-47f3-84de-015e03f6a88a).
  A replica takes its groups from the upstream (changes exit 4).
  Example: wsus groups create Pilot --parent "All Computers"`;

export interface GroupsIo { out: Writable; err: Writable }
const stdio: GroupsIo = { out: process.stdout, err: process.stderr };

interface GroupItem { id: string; name: string; parentId: string | null; path: string; builtin: boolean; computers: number; approvals: number }

function one(args: { positional: string[] }, count: number, usage: string): string[] {
  if (args.positional.length !== count) throw new UsageError(`usage: ${usage} (quote names with spaces)`);
  return args.positional;
}

export async function groupsCommand(argv: string[], io: GroupsIo = stdio): Promise<number> {
  const [verb, ...rest] = argv;
  const w = (s: string): void => { io.out.write(`${s}\n`); };
  if (verb === 'list') {
    const args = parseArgs(rest, [...API_FLAGS], ['json', ...API_BOOL_FLAGS]);
    one(args, 0, 'wsus groups list');
    const r = await withAdminSession(args, (c) => c.get<{ targetingMode: string; groups: GroupItem[] }>('/api/groups'));
    if (args.flags.get('json')) {
      printJson(r.groups, io.out);
      return 0;
    }
    const sorted = [...r.groups].sort((a, b) => a.path.localeCompare(b.path));
    io.out.write(textTable(['GROUP ID', 'COMPUTERS', 'APPROVALS', 'GROUP'], sorted.map((g) => [
      g.id, String(g.computers), String(g.approvals), `${g.path}${g.builtin ? ' (built-in)' : ''}`,
    ])));
    if (r.targetingMode === 'client') io.err.write('client-side targeting: computers are counted by the group names they send (TargetGroup policy)\n');
    return 0;
  }
  if (verb === 'create') {
    const args = parseArgs(rest, [...API_FLAGS, 'parent'], [...API_BOOL_FLAGS]);
    const [name] = one(args, 1, 'wsus groups create NAME [--parent NAME]');
    const g = await withAdminSession(args, (c) => c.send<{ id: string; name: string }>('POST', '/api/groups', { name, parent: flag(args, 'parent') }));
    w(`created group "${g.name}" (${g.id})`);
    return 0;
  }
  if (verb === 'rename') {
    const args = parseArgs(rest, [...API_FLAGS], [...API_BOOL_FLAGS]);
    const [name, to] = one(args, 2, 'wsus groups rename NAME NEW-NAME');
    const r = await withAdminSession(args, (c) => c.send<{ name: string; previousName: string; changed: boolean }>('POST', `/api/groups/${encodeURIComponent(name!)}/rename`, { name: to }));
    w(r.changed ? `renamed group "${r.previousName}" to "${r.name}"` : `group "${r.name}" already has that name`);
    return 0;
  }
  if (verb === 'move') {
    const args = parseArgs(rest, [...API_FLAGS, 'parent'], [...API_BOOL_FLAGS]);
    const [name] = one(args, 1, 'wsus groups move NAME --parent NAME');
    const parent = flag(args, 'parent');
    if (!parent) throw new UsageError('--parent is required (use "All Computers" for the top level)');
    const r = await withAdminSession(args, (c) => c.send<{ name: string; changed: boolean }>('POST', `/api/groups/${encodeURIComponent(name!)}/move`, { parent }));
    w(r.changed ? `moved group "${r.name}" under "${parent}"` : `group "${r.name}" is already under "${parent}"`);
    return 0;
  }
  if (verb === 'delete') {
    const args = parseArgs(rest, [...API_FLAGS], ['recursive', 'what-if', 'json', ...API_BOOL_FLAGS]);
    const [name] = one(args, 1, 'wsus groups delete NAME [--recursive] [--what-if]');
    const whatIf = args.flags.get('what-if') === true;
    const r = await withAdminSession(args, (c) => c.send<{
      whatIf: boolean; groups: Array<{ name: string }>; computersToUnassigned: Array<{ dnsName: string; group: string }>;
      approvalsRemoved: number; note: string | null;
    }>('DELETE', `/api/groups/${encodeURIComponent(name!)}`, { recursive: args.flags.get('recursive') === true, whatIf }));
    if (args.flags.get('json')) {
      printJson(r, io.out);
      return 0;
    }
    w(`${r.whatIf ? 'what if: would delete' : 'deleted'} ${r.groups.map((g) => `"${g.name}"`).join(', ')}: `
      + `${r.approvalsRemoved} approval(s) removed, ${r.computersToUnassigned.length} computer(s) moved to Unassigned Computers`);
    for (const c of r.computersToUnassigned.slice(0, 50)) w(`  ${c.dnsName} (was in "${c.group}")`);
    if (r.computersToUnassigned.length > 50) w(`  … ${r.computersToUnassigned.length - 50} more (--json lists all)`);
    if (r.note && !r.computersToUnassigned.length) io.err.write(`${r.note}\n`);
    if (r.whatIf) io.err.write('nothing was changed (--what-if)\n');
    return 0;
  }
  throw new UsageError('usage: wsus groups list|create|rename|move|delete (see wsus help)');
}
