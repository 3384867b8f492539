import type { Writable } from 'node:stream';
import type { RuleChange, RuleView } from '../../services/maintenance/rules-admin.service.js';
import type { RulesRunResult } from '../../services/maintenance/maintenance-types.js';
import { flag, intFlag, parseArgs, UsageError, type ParsedArgs } from '../args.js';
import { API_BOOL_FLAGS, API_FLAGS, withAdminSession } from '../admin-session.js';
import { printJson, progressOnStderr } from '../admin-client.js';

export const rulesHelp = `wsus rules list [--json] | wsus rules show ID|NAME [--json]
  Automatic approval and decline rules, with what each one does (ids and names).
wsus rules add approval NAME [--classification NAME|GUID]... [--product NAME|GUID]... [--title TEXT|/regex/]
                             --group NAME... [--deadline-days N] [--disabled]
  Approves matching updates for Install to the groups (after every sync: updates that arrive
  from then on; wsus rules run: every matching update not yet approved and not declined).
  Several values of one flag mean any of them; different flags must all match. A product
  family matches its products. Declined and expired updates are never approved.
wsus rules add decline NAME --superseded [--days N] | --expired | --title TEXT|/regex/ | --architecture arm64|x86|x64|ia64 [--disabled]
  --superseded: superseded by a live update for N days (30) and not needed by any computer (no
  client event about it, no downstream rollup in a needing state) nor approved in that time.
  "Expired updates" and "Superseded updates not needed for 30 days" exist from the start.
wsus rules enable|disable|remove ID|NAME
wsus rules run [ID|NAME...] [--kind approval|decline] [--dry-run] [--json]
  Applies the enabled rules (or those named) to every update now; --dry-run lists what would
  be approved and declined and changes nothing. Refused on a replica (exit 4).
  Examples:
    wsus rules add approval "Definitions to all" --classification "Definition Updates" --group "All Computers"
    wsus rules add approval "Pilot security" --classification "Security Updates" --classification "Critical Updates" \\
         --product "Windows 11" --group Pilot --deadline-days 3
    wsus rules add decline "No ARM64" --architecture arm64
    wsus rules add decline "No previews" --title "/\\bpreview\\b/"
    wsus rules run --dry-run`;

export interface RulesIo {
  out: Writable;
  err: Writable & { isTTY?: boolean };
}
const stdio: RulesIo = { out: process.stdout, err: process.stderr };

const REPEATED = ['classification', 'product', 'group'];

/** Takes the flags that may repeat (parseArgs keeps only the last value) out of argv. */
export function takeRepeated(argv: readonly string[], names: readonly string[]): { rest: string[]; values: Map<string, string[]> } {
  const rest: string[] = [];
  const values = new Map<string, string[]>(names.map((n) => [n, []]));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(a);
    if (m && names.includes(m[1]!)) {
      const v = m[2] ?? argv[++i];
      if (v === undefined || (m[2] === undefined && v.startsWith('--'))) throw new UsageError(`--${m[1]} needs a value`);
      values.get(m[1]!)!.push(v);
      continue;
    }
    rest.push(a);
  }
  return { rest, values };
}

function printRule(r: RuleView, w: (l: string) => void): void {
  w(`${String(r.id).padStart(4)}  ${r.kind.padEnd(8)}  ${r.enabled ? 'on ' : 'off'}  ${r.name}`);
  w(`        ${r.description}`);
}

function printRun(r: RulesRunResult, w: (l: string) => void): void {
  const verb = r.dryRun ? 'would' : '';
  w(`rules ${r.dryRun ? 'dry run' : 'run'}${r.runId ? ` ${r.runId}` : ''}: ${r.declined.count} ${verb ? 'would be ' : ''}declined, `
    + `${r.approved.count} ${verb ? 'would be ' : ''}approved (${r.rules.length} rule(s), ${(r.durationMs / 1000).toFixed(1)} s)`);
  for (const d of r.declined.items.slice(0, 50)) w(`  decline ${d.updateId}  ${d.title}  [${d.ruleName}: ${d.reason}]`);
  if (r.declined.count > 50) w(`  … ${r.declined.count - 50} more declines (--json lists up to 500)`);
  for (const a of r.approved.items.slice(0, 50)) {
    w(`  approve ${a.updateId}  ${a.title}  → ${a.groupName}${a.deadline ? ` deadline ${a.deadline}` : ''}  [${a.ruleName}]`);
  }
  if (r.approved.count > 50) w(`  … ${r.approved.count - 50} more approvals (--json lists up to 500)`);
  for (const f of r.declined.failed) w(`  FAILED decline ${f.updateId}: ${f.error}`);
  for (const f of r.approved.failed) w(`  FAILED approve ${f.updateId} for ${f.groupId}: ${f.error}`);
  for (const n of r.notes) w(`  note: ${n}`);
}

function addBody(kind: string, name: string, args: ParsedArgs, lists: Map<string, string[]>): Record<string, unknown> {
  const body: Record<string, unknown> = { kind, name };
  if (args.flags.get('disabled') === true) body.enabled = false;
  if (kind === 'approval') {
    for (const k of ['superseded', 'expired']) if (args.flags.has(k)) throw new UsageError(`--${k} is for decline rules`);
    if (flag(args, 'architecture') || flag(args, 'days')) throw new UsageError('--architecture and --days are for decline rules');
    const groups = lists.get('group')!;
    if (!groups.length) throw new UsageError('an approval rule needs --group NAME (repeat for several groups)');
    body.groups = groups;
    if (lists.get('classification')!.length) body.classifications = lists.get('classification');
    if (lists.get('product')!.length) body.products = lists.get('product');
    const title = flag(args, 'title');
    if (title !== undefined) body.title = title;
    const deadline = intFlag(args, 'deadline-days', 0, 3650);
    if (deadline !== undefined) body.deadlineDays = deadline;
    return body;
  }
  if (kind !== 'decline') throw new UsageError('rules add needs a kind: approval or decline');
  for (const k of REPEATED) if (lists.get(k)!.length) throw new UsageError(`--${k} is for approval rules`);
  if (flag(args, 'deadline-days') !== undefined) throw new UsageError('--deadline-days is for approval rules');
  const conditions = [
    args.flags.get('superseded') === true ? 'superseded' : null,
    args.flags.get('expired') === true ? 'expired' : null,
    flag(args, 'title') !== undefined ? 'title' : null,
    flag(args, 'architecture') !== undefined ? 'architecture' : null,
  ].filter((c): c is string => c !== null);
  if (conditions.length !== 1) throw new UsageError('a decline rule needs exactly one of --superseded [--days N], --expired, --title PATTERN, --architecture ARCH');
  body.condition = conditions[0];
  if (conditions[0] === 'superseded') {
    const days = intFlag(args, 'days', 0, 3650);
    if (days !== undefined) body.days = days;
  } else if (flag(args, 'days') !== undefined) throw new UsageError('--days goes with --superseded');
  if (conditions[0] === 'title') body.pattern = flag(args, 'title');
  if (conditions[0] === 'architecture') body.architecture = flag(args, 'architecture');
  return body;
}

export async function rulesCommand(argv: string[], io: RulesIo = stdio): Promise<number> {
  const [sub, ...rest] = argv;
  const w = (l: string) => io.out.write(`${l}\n`);
  switch (sub) {
    case 'list': {
      const args = parseArgs(rest, API_FLAGS, ['json', ...API_BOOL_FLAGS]);
      if (args.positional.length) throw new UsageError('rules list takes no arguments');
      const r = await withAdminSession(args, (c) => c.get<{ rules: RuleView[] }>('/api/rules'));
      if (args.flags.get('json')) printJson(r, io.out);
      else if (!r.rules.length) w('no rules (add one with wsus rules add approval|decline NAME …)');
      else for (const rule of r.rules) printRule(rule, w);
      return 0;
    }
    case 'show': {
      const args = parseArgs(rest, API_FLAGS, ['json', ...API_BOOL_FLAGS]);
      if (args.positional.length !== 1) throw new UsageError('rules show needs one rule id or name');
      const r = await withAdminSession(args, (c) => c.get<RuleView>(`/api/rules/${encodeURIComponent(args.positional[0]!)}`));
      if (args.flags.get('json')) printJson(r, io.out);
      else printRule(r, w);
      return 0;
    }
    case 'add': {
      const { rest: others, values } = takeRepeated(rest, REPEATED);
      const args = parseArgs(others, [...API_FLAGS, 'title', 'deadline-days', 'days', 'architecture'], ['json', 'disabled', 'superseded', 'expired', ...API_BOOL_FLAGS]);
      const [kind, name, ...extra] = args.positional;
      if (!kind || !name || extra.length) throw new UsageError('usage: wsus rules add approval|decline NAME [criteria] (see wsus help)');
      const body = addBody(kind, name, args, values);
      const r = await withAdminSession(args, (c) => c.send<RuleChange>('POST', '/api/rules', body));
      if (args.flags.get('json')) printJson(r, io.out);
      else {
        w(`rule ${r.rule.id} added:`);
        printRule(r.rule, w);
      }
      for (const warning of r.warnings) io.err.write(`wsus: warning: ${warning}\n`);
      return 0;
    }
    case 'enable':
    case 'disable':
    case 'remove': {
      const args = parseArgs(rest, API_FLAGS, ['json', ...API_BOOL_FLAGS]);
      if (args.positional.length !== 1) throw new UsageError(`rules ${sub} needs one rule id or name`);
      const path = `/api/rules/${encodeURIComponent(args.positional[0]!)}`;
      if (sub === 'remove') {
        const r = await withAdminSession(args, (c) => c.send<RuleView>('DELETE', path));
        if (args.flags.get('json')) printJson(r, io.out);
        else w(`rule ${r.id} "${r.name}" removed`);
        return 0;
      }
      const r = await withAdminSession(args, (c) => c.send<RuleChange>('PATCH', path, { enabled: sub === 'enable' }));
      if (args.flags.get('json')) printJson(r, io.out);
      else w(`rule ${r.rule.id} "${r.rule.name}" ${r.rule.enabled ? 'enabled' : 'disabled'}`);
      return 0;
    }
    case 'run': {
      const args = parseArgs(rest, [...API_FLAGS, 'kind'], ['json', 'dry-run', ...API_BOOL_FLAGS]);
      const kind = flag(args, 'kind');
      if (kind !== undefined && kind !== 'approval' && kind !== 'decline') throw new UsageError('--kind must be approval or decline');
      const body = {
        dryRun: args.flags.get('dry-run') === true,
        ...(args.positional.length ? { rules: args.positional } : {}),
        ...(kind ? { kind } : {}),
      };
      const progress = progressOnStderr(io.err);
      try {
        const r = await withAdminSession(args, (c) => c.run<RulesRunResult>('POST', '/api/rules/run', body, progress.onProgress));
        progress.end();
        if (args.flags.get('json')) printJson(r, io.out);
        else printRun(r, w);
        return r.declined.failed.length || r.approved.failed.length ? 1 : 0;
      } finally {
        progress.end();
      }
    }
    default:
      throw new UsageError(`unknown rules command "${sub ?? ''}" (list, show, add, enable, disable, remove, run)`);
  }
}
