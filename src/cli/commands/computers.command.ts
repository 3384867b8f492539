import type { Writable } from 'node:stream';
import { flag, intFlag, parseArgs, UsageError } from '../args.js';
import { API_BOOL_FLAGS, API_FLAGS, withAdminSession } from '../admin-session.js';
import { printJson } from '../admin-client.js';
import { pageNote, shortTime, textTable } from '../text-table.js';

// Get-WsusComputer and friends through the admin API.

export const computersHelp = `wsus computers list [--group NAME [--include-subgroups]] [--stale-days N] [--text TEXT] [--duplicates]
    [--sort name|last-contact] [--limit N] [--offset N] [--json]
  OS, make/model, IP, group, last sync and report, status counts (needed/failed from the latest
  status report). --stale-days N: no contact for N days. --duplicates: one SusClientId seen with
  several names, or with two addresses at the same time (cloned images).
wsus computers show <CLIENT-ID|NAME> [--json]
wsus computers move <CLIENT-ID|NAME>... --group NAME [--what-if]
wsus computers delete <CLIENT-ID|NAME>... | --stale-days N [--what-if] [--json]
  A deleted computer that contacts the server again registers again.
  Examples: wsus computers list --stale-days 30
            wsus computers delete --stale-days 90 --what-if`;

export interface ComputersIo { out: Writable; err: Writable }
const stdio: ComputersIo = { out: process.stdout, err: process.stderr };

interface Item {
  clientId: string; dnsName: string; osDescription: string | null; osVersion: string | null; manufacturer: string | null; model: string | null;
  address: string | null; group: string; lastSyncAt: string | null; lastReportAt: string | null; lastContactAt: string;
  duplicate: boolean; status: { needed: number; installed: number; failed: number; pendingReboot: number } | null;
  registeredAt: string; clientVersion: string | null; architecture: string | null; osLocale: string | null; requestedGroups: string;
}

function os(c: Item): string {
  return c.osDescription ?? (c.osVersion ? `Windows ${c.osVersion}` : '-');
}

async function list(rest: string[], io: ComputersIo): Promise<number> {
  const args = parseArgs(rest, [...API_FLAGS, 'group', 'stale-days', 'text', 'sort', 'limit', 'offset'],
    ['json', 'duplicates', 'include-subgroups', ...API_BOOL_FLAGS]);
  if (args.positional.length) throw new UsageError('computers list takes no arguments (filter with --text, --group, ...)');
  const r = await withAdminSession(args, (c) => c.get<{ total: number; offset: number; computers: Item[] }>('/api/computers', {
    group: flag(args, 'group'), includeSubgroups: args.flags.get('include-subgroups') === true ? true : undefined,
    staleDays: intFlag(args, 'stale-days', 1, 36_500), text: flag(args, 'text'),
    duplicates: args.flags.get('duplicates') === true ? true : undefined, sort: flag(args, 'sort'),
    limit: intFlag(args, 'limit', 1, 5000), offset: intFlag(args, 'offset', 0, 1_000_000_000),
  }));
  if (args.flags.get('json')) {
    printJson(r, io.out);
    return 0;
  }
  if (r.computers.length) {
    io.out.write(textTable(['NAME', 'IP', 'OS', 'MAKE/MODEL', 'GROUP', 'LAST SYNC', 'LAST REPORT', 'NEEDED', 'FAILED', 'CLIENT ID'], r.computers.map((c) => [
      `${c.dnsName}${c.duplicate ? ' (DUPLICATE ID)' : ''}`, c.address ?? '-', os(c), [c.manufacturer, c.model].filter(Boolean).join(' ') || '-',
      c.group, shortTime(c.lastSyncAt), shortTime(c.lastReportAt), c.status ? String(c.status.needed) : '-', c.status ? String(c.status.failed) : '-', c.clientId,
    ])));
  }
  io.err.write(`${pageNote(r.offset, r.computers.length, r.total)}\n`);
  return 0;
}

interface Detail extends Item {
  effectiveGroups: Array<{ name: string }>;
  sightings: Array<{ dnsName: string; address: string | null; firstSeenAt: string; lastSeenAt: string }>;
  updates: { needed: Array<{ updateId: string; title: string | null }>; failed: Array<{ updateId: string; title: string | null }>; installedCount: number } | null;
}

async function show(rest: string[], io: ComputersIo): Promise<number> {
  const args = parseArgs(rest, [...API_FLAGS], ['json', ...API_BOOL_FLAGS]);
  if (args.positional.length !== 1) throw new UsageError('computers show needs exactly one computer: client id or name');
  const d = await withAdminSession(args, (c) => c.get<Detail>(`/api/computers/${encodeURIComponent(args.positional[0]!)}`));
  if (args.flags.get('json')) {
    printJson(d, io.out);
    return 0;
  }
  const w = (s: string): void => { io.out.write(`${s}\n`); };
  w(`${d.dnsName}${d.duplicate ? '  (DUPLICATE CLIENT ID: seen with several names or addresses, see sightings)' : ''}`);
  w(`  client id     ${d.clientId}`);
  w(`  OS            ${os(d)}${d.osVersion ? ` (${d.osVersion})` : ''}${d.architecture ? ` ${d.architecture}` : ''}${d.osLocale ? ` ${d.osLocale}` : ''}`);
  w(`  make/model    ${[d.manufacturer, d.model].filter(Boolean).join(' ') || '-'}`);
  w(`  IP            ${d.address ?? '-'}`);
  w(`  group         ${d.group}   (effective: ${d.effectiveGroups.map((g) => g.name).join(', ')})`);
  w(`  agent         ${d.clientVersion ?? '-'}`);
  w(`  registered    ${shortTime(d.registeredAt)}   last sync ${shortTime(d.lastSyncAt)}   last report ${shortTime(d.lastReportAt)}`);
  if (d.updates) {
    w(`  status        ${d.updates.needed.length} needed, ${d.updates.failed.length} failed, ${d.updates.installedCount} installed`);
    for (const u of d.updates.needed.slice(0, 30)) w(`    needs ${u.updateId}  ${u.title ?? '(not in this catalog)'}`);
  } else {
    w('  status        no status report yet');
  }
  w(`sightings (${d.sightings.length}):`);
  for (const s of d.sightings) w(`  ${s.dnsName}  ${s.address ?? '-'}  first ${shortTime(s.firstSeenAt)}  last ${shortTime(s.lastSeenAt)}`);
  return 0;
}

async function move(rest: string[], io: ComputersIo): Promise<number> {
  const args = parseArgs(rest, [...API_FLAGS, 'group'], ['what-if', 'json', ...API_BOOL_FLAGS]);
  if (!args.positional.length) throw new UsageError('computers move needs at least one computer (client id or name)');
  const group = flag(args, 'group');
  if (!group) throw new UsageError('--group is required');
  const r = await withAdminSession(args, (c) => c.send<{ whatIf: boolean; group: { name: string }; moved: number; changes: Array<{ name: string; from: string; changed: boolean }> }>(
    'POST', '/api/computers/move', { computers: args.positional, group, whatIf: args.flags.get('what-if') === true }));
  if (args.flags.get('json')) {
    printJson(r, io.out);
    return 0;
  }
  const n = r.changes.filter((c) => c.changed).length;
  io.out.write(`${r.whatIf ? 'what if: would move' : 'moved'} ${n} computer(s) to "${r.group.name}"\n`);
  for (const c of r.changes.slice(0, 50)) io.out.write(`  ${c.name}: ${c.changed ? `from "${c.from}"` : 'already there'}\n`);
  if (r.whatIf) io.err.write('nothing was changed (--what-if)\n');
  return 0;
}

async function remove(rest: string[], io: ComputersIo): Promise<number> {
  const args = parseArgs(rest, [...API_FLAGS, 'stale-days'], ['what-if', 'json', ...API_BOOL_FLAGS]);
  const staleDays = intFlag(args, 'stale-days', 1, 36_500);
  if ((staleDays === undefined) === (args.positional.length === 0)) throw new UsageError('computers delete needs computers (client ids or names) or --stale-days N, not both');
  const body = staleDays === undefined ? { computers: args.positional } : { staleDays };
  const r = await withAdminSession(args, (c) => c.send<{ whatIf: boolean; deleted: number; computers: Array<{ clientId: string; dnsName: string; lastContactAt: string }> }>(
    'DELETE', '/api/computers', { ...body, whatIf: args.flags.get('what-if') === true }));
  if (args.flags.get('json')) {
    printJson(r, io.out);
    return 0;
  }
  io.out.write(`${r.whatIf ? `what if: would delete ${r.computers.length}` : `deleted ${r.deleted}`} computer(s)\n`);
  for (const c of r.computers.slice(0, 100)) io.out.write(`  ${c.dnsName}  last contact ${shortTime(c.lastContactAt)}  ${c.clientId}\n`);
  if (r.computers.length > 100) io.out.write(`  … ${r.computers.length - 100} more (--json lists all)\n`);
  if (r.whatIf) io.err.write('nothing was changed (--what-if)\n');
  return 0;
}

export function computersCommand(argv: string[], io: ComputersIo = stdio): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === 'list') return list(rest, io);
  if (verb === 'show') return show(rest, io);
  if (verb === 'move') return move(rest, io);
  if (verb === 'delete') return remove(rest, io);
  throw new UsageError('usage: wsus computers list|show|move|delete (see wsus help)');
}
