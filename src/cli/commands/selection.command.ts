import type { Writable } from 'node:stream';
import { MICROSOFT_UPDATE_URL } from '../../config/sync-config.js';
import { createSyncAdmin, type CategoryKind } from '../../services/sync/sync-admin.js';
import { flag, parseArgs, UsageError } from '../args.js';
import { openDataDir } from '../context.js';

// What to synchronize: products, classifications and languages (Get/Set-WsusProduct,
// Get/Set-WsusClassification in WSUS terms). The lists come from the categories the upstream
// sent; the next sync fetches everything of a newly selected entry (Delta=false).

export const productsHelp = `wsus products list [--all] [--data DIR] [--json]
wsus products select|deselect GUID|"EXACT TITLE"... [--data DIR]
  Product categories from the upstream; * marks the selected ones (--all adds companies and
  product families). Nothing selected: a WSUS upstream's whole offer; from Microsoft Update,
  categories only. Example: wsus products select "Windows 11"`;
export const classificationsHelp = `wsus classifications list [--data DIR] [--json]
wsus classifications select|deselect GUID|"EXACT TITLE"... [--data DIR]
  Example: wsus classifications select "Security Updates" "Critical Updates"`;
export const languagesHelp = `wsus languages list [--data DIR] [--json]
wsus languages select|deselect SHORT-NAME... [--data DIR]
  Languages the upstream offers (after the first sync); none selected = all languages.
  Example: wsus languages select en de`;

export interface SelectionIo {
  out: Writable;
  err: Writable;
}

const stdio: SelectionIo = { out: process.stdout, err: process.stderr };

function categories(kind: CategoryKind, argv: string[], io: SelectionIo): number {
  const [verb, ...rest] = argv;
  const noun = kind === 'product' ? 'products' : 'classifications';
  if (verb === 'list') {
    const args = parseArgs(rest, ['data'], kind === 'product' ? ['json', 'all'] : ['json']);
    if (args.positional.length) throw new UsageError(`${noun} list takes no arguments`);
    const ctx = openDataDir(flag(args, 'data'));
    try {
      const admin = createSyncAdmin(ctx.db);
      const rows = admin.listCategories(kind, args.flags.get('all') === true);
      if (args.flags.get('json')) {
        io.out.write(`${JSON.stringify(rows, null, 2)}\n`);
        return 0;
      }
      if (!rows.length) io.out.write(`no ${noun} yet: they arrive with the categories phase of the first sync (wsus sync run)\n`);
      for (const r of rows) io.out.write(`${r.selected ? '*' : ' '} ${r.updateId}  ${r.title}${kind === 'product' && r.categoryType !== 'Product' ? ` (${r.categoryType})` : ''}\n`);
      if (!admin.selection(kind).length) {
        io.err.write(ctx.config.sync.upstream === MICROSOFT_UPDATE_URL
          ? `no ${noun} selected: syncing from Microsoft Update fetches categories only until you select some\n`
          : `no ${noun} selected: every ${kind} the upstream offers is synchronized\n`);
      }
      return 0;
    } finally {
      ctx.db.close();
    }
  }
  if (verb === 'select' || verb === 'deselect') {
    const args = parseArgs(rest, ['data']);
    if (!args.positional.length) throw new UsageError(`${noun} ${verb} needs at least one GUID or exact title`);
    const ctx = openDataDir(flag(args, 'data'));
    try {
      const r = createSyncAdmin(ctx.db).select(kind, args.positional, verb === 'select');
      for (const w of r.warnings) io.err.write(`warning: ${w}\n`);
      io.out.write(`${verb}ed ${r.changed.length} ${noun}${r.changed.length ? `: ${r.changed.join(', ')}` : ' (no change)'}\n`);
      if (verb === 'select' && r.changed.length) io.out.write('the next sync fetches all their updates\n');
      return 0;
    } finally {
      ctx.db.close();
    }
  }
  throw new UsageError(`usage: wsus ${noun} list|select|deselect (see wsus help)`);
}

export function productsCommand(argv: string[], io: SelectionIo = stdio): number {
  return categories('product', argv, io);
}

export function classificationsCommand(argv: string[], io: SelectionIo = stdio): number {
  return categories('classification', argv, io);
}

export function languagesCommand(argv: string[], io: SelectionIo = stdio): number {
  const [verb, ...rest] = argv;
  if (verb === 'list') {
    const args = parseArgs(rest, ['data'], ['json']);
    if (args.positional.length) throw new UsageError('languages list takes no arguments');
    const ctx = openDataDir(flag(args, 'data'));
    try {
      const admin = createSyncAdmin(ctx.db);
      const rows = admin.listLanguages();
      if (args.flags.get('json')) io.out.write(`${JSON.stringify({ languages: rows, selected: admin.selection('language') }, null, 2)}\n`);
      else {
        if (!rows.length) io.out.write('the upstream\'s language list arrives with the first sync (wsus sync run)\n');
        for (const l of rows) io.out.write(`${l.selected ? '*' : ' '} ${l.short.padEnd(7)} ${l.long}\n`);
        if (!admin.selection('language').length) io.err.write('no language selected: all languages are synchronized\n');
      }
      return 0;
    } finally {
      ctx.db.close();
    }
  }
  if (verb === 'select' || verb === 'deselect') {
    const args = parseArgs(rest, ['data']);
    if (!args.positional.length) throw new UsageError(`languages ${verb} needs at least one short name (e.g. en de pt-br)`);
    const ctx = openDataDir(flag(args, 'data'));
    try {
      const r = createSyncAdmin(ctx.db).selectLanguages(args.positional, verb === 'select');
      for (const w of r.warnings) io.err.write(`warning: ${w}\n`);
      io.out.write(`${verb}ed ${r.changed.length} languages${r.changed.length ? `: ${r.changed.join(', ')}` : ' (no change)'}\n`);
      return 0;
    } finally {
      ctx.db.close();
    }
  }
  throw new UsageError('usage: wsus languages list|select|deselect (see wsus help)');
}
