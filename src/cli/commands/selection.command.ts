import type { Writable } from 'node:stream';
import type { CategoryKind, CategoryListing } from '../../services/sync/sync-admin.js';
import { parseArgs, UsageError } from '../args.js';
import { API_BOOL_FLAGS, API_FLAGS, withAdminSession } from '../admin-session.js';
import type { LocalAdminSeams } from '../local-admin.js';

// What to synchronize: products, classifications and languages (Get/Set-WsusProduct,
// Get/Set-WsusClassification in WSUS terms). The lists come from the categories the upstream
// sent; the next sync fetches everything of a newly selected entry (Delta=false).

export const productsHelp = `wsus products list [--all] [--json]
wsus products select|deselect GUID|"EXACT TITLE"...
  Product categories from the upstream; * marks the selected ones (--all adds companies and
  product families). Nothing selected: a WSUS upstream's whole offer; from Microsoft Update,
  categories only. Example: wsus products select "Windows 11"`;
export const classificationsHelp = `wsus classifications list [--json]
wsus classifications select|deselect GUID|"EXACT TITLE"...
  Example: wsus classifications select "Security Updates" "Critical Updates"`;
export const languagesHelp = `wsus languages list [--json]
wsus languages select|deselect SHORT-NAME...
  Languages the upstream offers (after the first sync); none selected = all languages.
  These talk to the admin API (--server/--token), or with --local to DIR's database.
  Example: wsus languages select en de`;

export interface SelectionIo {
  out: Writable;
  err: Writable;
}

const stdio: SelectionIo = { out: process.stdout, err: process.stderr };

interface Changed { changed: string[]; warnings: string[] }

async function categories(kind: CategoryKind, argv: string[], io: SelectionIo, seams: LocalAdminSeams): Promise<number> {
  const [verb, ...rest] = argv;
  const noun = kind === 'product' ? 'products' : 'classifications';
  if (verb === 'list') {
    const args = parseArgs(rest, [...API_FLAGS], kind === 'product' ? ['json', 'all', ...API_BOOL_FLAGS] : ['json', ...API_BOOL_FLAGS]);
    if (args.positional.length) throw new UsageError(`${noun} list takes no arguments`);
    const all = args.flags.get('all') === true;
    const r = await withAdminSession(args, (c) => c.get<{ items: CategoryListing[]; note: string | null }>(`/api/selection/${noun}`, all ? { all } : undefined), seams);
    if (args.flags.get('json')) {
      io.out.write(`${JSON.stringify(r.items, null, 2)}\n`);
      return 0;
    }
    if (!r.items.length) io.out.write(`no ${noun} yet: they arrive with the categories phase of the first sync (wsus sync run)\n`);
    for (const x of r.items) io.out.write(`${x.selected ? '*' : ' '} ${x.updateId}  ${x.title}${kind === 'product' && x.categoryType !== 'Product' ? ` (${x.categoryType})` : ''}\n`);
    if (r.note) io.err.write(`${r.note}\n`);
    return 0;
  }
  if (verb === 'select' || verb === 'deselect') {
    const args = parseArgs(rest, [...API_FLAGS], [...API_BOOL_FLAGS]);
    if (!args.positional.length) throw new UsageError(`${noun} ${verb} needs at least one GUID or exact title`);
    const r = await withAdminSession(args, (c) => c.send<Changed>('POST', `/api/selection/${noun}/${verb}`, { items: args.positional }), seams);
    for (const w of r.warnings) io.err.write(`warning: ${w}\n`);
    io.out.write(`${verb}ed ${r.changed.length} ${noun}${r.changed.length ? `: ${r.changed.join(', ')}` : ' (no change)'}\n`);
    if (verb === 'select' && r.changed.length) io.out.write('the next sync fetches all their updates\n');
    return 0;
  }
  throw new UsageError(`usage: wsus ${noun} list|select|deselect (see wsus help)`);
}

export function productsCommand(argv: string[], io: SelectionIo = stdio, seams: LocalAdminSeams = {}): Promise<number> {
  return categories('product', argv, io, seams);
}

export function classificationsCommand(argv: string[], io: SelectionIo = stdio, seams: LocalAdminSeams = {}): Promise<number> {
  return categories('classification', argv, io, seams);
}

export async function languagesCommand(argv: string[], io: SelectionIo = stdio, seams: LocalAdminSeams = {}): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === 'list') {
    const args = parseArgs(rest, [...API_FLAGS], ['json', ...API_BOOL_FLAGS]);
    if (args.positional.length) throw new UsageError('languages list takes no arguments');
    const r = await withAdminSession(args, (c) => c.get<{ languages: Array<{ short: string; long: string; id: number; selected: boolean }>; selected: string[]; note: string | null }>('/api/selection/languages'), seams);
    if (args.flags.get('json')) io.out.write(`${JSON.stringify({ languages: r.languages, selected: r.selected }, null, 2)}\n`);
    else {
      if (!r.languages.length) io.out.write('the upstream\'s language list arrives with the first sync (wsus sync run)\n');
      for (const l of r.languages) io.out.write(`${l.selected ? '*' : ' '} ${l.short.padEnd(7)} ${l.long}\n`);
      if (r.note) io.err.write(`${r.note}\n`);
    }
    return 0;
  }
  if (verb === 'select' || verb === 'deselect') {
    const args = parseArgs(rest, [...API_FLAGS], [...API_BOOL_FLAGS]);
    if (!args.positional.length) throw new UsageError(`languages ${verb} needs at least one short name (e.g. en de pt-br)`);
    const r = await withAdminSession(args, (c) => c.send<Changed>('POST', `/api/selection/languages/${verb}`, { items: args.positional }), seams);
    for (const w of r.warnings) io.err.write(`warning: ${w}\n`);
    io.out.write(`${verb}ed ${r.changed.length} languages${r.changed.length ? `: ${r.changed.join(', ')}` : ' (no change)'}\n`);
    return 0;
  }
  throw new UsageError('usage: wsus languages list|select|deselect (see wsus help)');
}
