import type { Writable } from 'node:stream';
import { flag, flagValues, intFlag, parseArgs, UsageError, type ParsedArgs } from '../args.js';
import { API_BOOL_FLAGS, API_FLAGS, withAdminSession } from '../admin-session.js';
import { printJson } from '../admin-client.js';
import { pageNote, shortTime, textTable } from '../text-table.js';

// Get-WsusUpdate: `wsus updates list` (filters, paging) and `wsus updates show` (everything
// about one update), through the admin API.

export const updatesHelp = `wsus updates list [--classification NAME|GUID]... [--product NAME|GUID]... [--text TEXT|KB]
    [--state approved|unapproved|declined|superseded|expired|not-...]... [--needed-min N]
    [--arrived-after ISO] [--arrived-before ISO] [--created-after ISO] [--created-before ISO]
    [--all] [--sort arrival|created|title] [--limit N] [--offset N] [--json]
  Updates administrators approve (--all adds bundle members, categories and detectoids),
  newest first. Several --state filters must all hold; --needed-min counts computers whose
  latest status report lists the update as not installed, downloaded, failed or pending reboot.
wsus updates show <GUID|KB|"EXACT TITLE"> [--json]
  Title, KB, classification, products, revisions, supersedence, bundle members, files (content
  state), approvals per group, declined, computers needing it.
  Examples: wsus updates list --classification "Security Updates" --state unapproved --state not-superseded
            wsus updates list --text KB5034441 --json
            wsus updates show KB5034441`;

export interface UpdatesIo { out: Writable; err: Writable }
const stdio: UpdatesIo = { out: process.stdout, err: process.stderr };

interface ListItem {
  updateId: string; title: string; kb: string[]; classifications: string[]; products: string[]; arrivedAt: string;
  approvedGroups: number; declined: boolean; superseded: boolean; expired: boolean; needed: number; bundleMember: boolean;
}
interface ListResult { total: number; offset: number; limit: number; updates: ListItem[] }

export function stateText(u: { approvedGroups: number; declined: boolean; superseded: boolean; expired: boolean }): string {
  const s = [u.declined ? 'declined' : u.approvedGroups ? `approved(${u.approvedGroups})` : 'unapproved'];
  if (u.superseded) s.push('superseded');
  if (u.expired) s.push('expired');
  return s.join(',');
}

function listQuery(args: ParsedArgs): Record<string, string | number | boolean | undefined> {
  return {
    text: flag(args, 'text'), neededMin: intFlag(args, 'needed-min', 0, 1_000_000_000),
    arrivedAfter: flag(args, 'arrived-after'), arrivedBefore: flag(args, 'arrived-before'),
    createdAfter: flag(args, 'created-after'), createdBefore: flag(args, 'created-before'),
    all: args.flags.get('all') === true ? true : undefined, sort: flag(args, 'sort'),
    limit: intFlag(args, 'limit', 1, 5000), offset: intFlag(args, 'offset', 0, 1_000_000_000),
  };
}

/** Repeatable filters travel as repeated query parameters. */
function path(args: ParsedArgs): string {
  const p = new URLSearchParams();
  for (const c of flagValues(args, 'classification')) p.append('classification', c);
  for (const c of flagValues(args, 'product')) p.append('product', c);
  for (const s of flagValues(args, 'state')) p.append('state', s);
  const s = p.toString();
  return s ? `/api/updates?${s}` : '/api/updates';
}

async function list(rest: string[], io: UpdatesIo): Promise<number> {
  const args = parseArgs(rest, [...API_FLAGS, 'classification', 'product', 'text', 'state', 'needed-min', 'arrived-after', 'arrived-before',
    'created-after', 'created-before', 'sort', 'limit', 'offset'], ['json', 'all', ...API_BOOL_FLAGS]);
  if (args.positional.length) throw new UsageError('updates list takes no arguments (filter with --text, --classification, ...)');
  const query = listQuery(args);
  const r = await withAdminSession(args, (c) => c.get<ListResult>(path(args), query));
  if (args.flags.get('json')) {
    printJson(r, io.out);
    return 0;
  }
  if (r.updates.length) {
    io.out.write(textTable(['UPDATE ID', 'KB', 'CLASSIFICATION', 'STATE', 'NEEDED', 'ARRIVED', 'TITLE'], r.updates.map((u) => [
      u.updateId, u.kb.map((k) => `KB${k}`).join(',') || '-', u.classifications.join(',') || '-', stateText(u), String(u.needed),
      shortTime(u.arrivedAt), u.bundleMember ? `${u.title} (bundle member)` : u.title,
    ])));
  }
  io.err.write(`${pageNote(r.offset, r.updates.length, r.total)}\n`);
  return 0;
}

interface Detail extends Omit<ListItem, 'classifications' | 'products'> {
  classifications: Array<{ id: string; title: string | null }>;
  products: Array<{ id: string; title: string | null }>;
  description: string | null; msrcSeverity: string | null; creationDate: string | null; publicationState: string; updateType: string;
  revisions: Array<{ revisionId: number; revisionNumber: number; publicationState: string; ingestedAt: string; current: boolean }>;
  supersededBy: Array<{ updateId: string; title: string }>;
  supersedes: Array<{ updateId: string; title: string | null }>;
  bundleMembers: Array<{ updateId: string; title: string | null }>;
  bundledIn: Array<{ updateId: string; title: string }>;
  files: Array<{ updateId: string; fileName: string; size: number; sha1: string; content: string }>;
  approvals: Array<{ groupName: string | null; groupId: string; action: string; deadline: string | null; approvedAt: string; approvedBy: string; mirroredFrom: string | null }>;
  neededBy: Array<{ clientId: string; name: string | null }>;
}

async function show(rest: string[], io: UpdatesIo): Promise<number> {
  const args = parseArgs(rest, [...API_FLAGS], ['json', ...API_BOOL_FLAGS]);
  if (args.positional.length !== 1) throw new UsageError('updates show needs exactly one update: GUID, KB number or "exact title"');
  const ref = args.positional[0]!;
  const d = await withAdminSession(args, (c) => c.get<Detail>(`/api/updates/${encodeURIComponent(ref)}`));
  if (args.flags.get('json')) {
    printJson(d, io.out);
    return 0;
  }
  const w = (s: string): void => { io.out.write(`${s}\n`); };
  w(d.title);
  w(`  id              ${d.updateId}`);
  w(`  KB              ${d.kb.map((k) => `KB${k}`).join(', ') || '-'}`);
  w(`  type            ${d.updateType}${d.bundleMember ? ' (bundle member)' : ''}`);
  w(`  classification  ${d.classifications.map((c) => c.title ?? c.id).join(', ') || '-'}`);
  w(`  products        ${d.products.map((c) => c.title ?? c.id).join(', ') || '-'}`);
  w(`  severity        ${d.msrcSeverity ?? '-'}`);
  w(`  created         ${shortTime(d.creationDate)}   arrived ${shortTime(d.arrivedAt)}`);
  w(`  state           ${stateText(d)}   (${d.publicationState})`);
  w(`  needed by       ${d.needed} computer(s)${d.neededBy.length ? `: ${d.neededBy.slice(0, 10).map((n) => n.name ?? n.clientId).join(', ')}${d.needed > 10 ? ', …' : ''}` : ''}`);
  if (d.description) w(`  description     ${d.description.replace(/\s+/g, ' ').slice(0, 300)}`);
  w(`revisions (${d.revisions.length}):`);
  for (const r of d.revisions) w(`  ${r.current ? '*' : ' '} ${r.revisionNumber}  local id ${r.revisionId}  ${r.publicationState}  ingested ${shortTime(r.ingestedAt)}`);
  const refs = (title: string, list: Array<{ updateId: string; title: string | null }>): void => {
    if (!list.length) return;
    w(`${title} (${list.length}):`);
    for (const x of list) w(`  ${x.updateId}  ${x.title ?? '(not in this catalog)'}`);
  };
  refs('superseded by', d.supersededBy);
  refs('supersedes', d.supersedes);
  refs('bundle members', d.bundleMembers);
  refs('bundled in', d.bundledIn);
  if (d.files.length) {
    w(`files (${d.files.length}):`);
    for (const f of d.files) w(`  ${f.content.padEnd(11)} ${f.sha1}  ${String(f.size).padStart(12)}  ${f.fileName}`);
  }
  w(d.approvals.length ? `approvals (${d.approvals.length}):` : 'approvals: none');
  for (const a of d.approvals) {
    w(`  ${a.groupName ?? a.groupId}: ${a.action}${a.deadline ? `, deadline ${a.deadline}` : ''} (by ${a.approvedBy}, ${shortTime(a.approvedAt)}${a.mirroredFrom ? ', from upstream' : ''})`);
  }
  return 0;
}

export function updatesCommand(argv: string[], io: UpdatesIo = stdio): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === 'list') return list(rest, io);
  if (verb === 'show') return show(rest, io);
  throw new UsageError('usage: wsus updates list|show (see wsus help)');
}
