import type { Writable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { SyncConfig } from '../../config/sync-config.js';
import { ARCHITECTURES, type ExclusionKind, type ExclusionRule } from '../../core/sync/exclusion-rules.js';
import type { SyncStatus } from '../../services/sync/sync-status.js';
import type { SyncRunResult } from '../../services/sync/sync-types.js';
import type { SyncRunRow } from '../../store/sync-runs.store.js';
import { createUpstreamDispatcher } from '../../upstream/upstream-dispatcher.js';
import { openUpstreamSession } from '../../upstream/upstream-session.js';
import type { OpenUpstreamSession } from '../../upstream/server-sync-session.js';
import { flag, intFlag, parseArgs, UsageError } from '../args.js';
import { API_BOOL_FLAGS, API_FLAGS, withAdminSession } from '../admin-session.js';
import { rateProgress } from '../progress.js';

interface ExclusionListing {
  rules: Array<ExclusionRule & { createdAt: string }>;
  excludedCount: number;
  excluded: Array<{ updateId: string; revisionNumber: number; title: string; reason: string }>;
}

export const syncHelp = `wsus sync run [--upstream URL] [--json] [--local]
  Asks the running server to synchronize now (its own sync service, the one the schedule runs)
  from config.sync.upstream (or URL, once): categories, then the selected products and
  classifications (nothing selected: everything a WSUS upstream offers; categories only from
  Microsoft Update), then approvals in replica mode, then content. Progress on stderr; Ctrl-C
  interrupts the run. An interrupted sync resumes where it stopped. Exit 1 with the exact
  error, 4 when a sync already runs. --local runs it in this process on DIR's database.
  Anchors belong to one upstream: after a run with --upstream the next regular sync lists
  everything again (fetching only what is missing).
wsus sync status [--json]
  Last run, anchor ages, whether a sync runs now, the next scheduled time, the selection.
wsus sync history [--limit N] [--json]
  Past runs: state, phase, counts, duration and the exact error.
wsus sync exclude add --title PATTERN | --kb NUMBER | --architecture arm64|x86|x64|ia64 | --language-packs
wsus sync exclude list [--json] | wsus sync exclude remove ID
  Keeps matching updates out of the catalog from the next sync on (PATTERN: text, or /regex/;
  case-insensitive). Bundle members follow their bundles. Removing a rule brings back what it
  excluded on the next sync.
  All sync commands take --server/--token (admin API) or --local [--data DIR].
  Example: wsus sync exclude add --architecture arm64`;

export interface SyncCliIo {
  out: Writable;
  err: Writable & { isTTY?: boolean };
}

/** The upstream client, injectable for tests. */
export interface SyncCliDeps {
  openSession: OpenUpstreamSession;
  createDispatcher: (sync: SyncConfig) => Dispatcher;
}

const stdio: SyncCliIo = { out: process.stdout, err: process.stderr };
const realDeps: SyncCliDeps = { openSession: openUpstreamSession, createDispatcher: createUpstreamDispatcher };

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function ago(iso: string | null | undefined, now: Date): string {
  if (!iso) return 'never';
  const s = Math.round((now.getTime() - Date.parse(iso)) / 1000);
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h ago`;
  return `${(s / 86_400).toFixed(1)} days ago`;
}

export function summarizeRun(r: SyncRunResult): string {
  const lines: string[] = [];
  const c = r.counts;
  lines.push(r.state === 'succeeded'
    ? `sync succeeded in ${seconds(r.durationMs)} (run ${r.runId}, ${r.upstream})`
    : `sync ${r.state} during ${r.phase ?? 'start'} after ${seconds(r.durationMs)} (run ${r.runId}, ${r.upstream}): ${r.error}`);
  if (c.config) lines.push(`  config: ${c.config.languages} languages, ${c.config.maxPerRequest} updates per request, protocol ${c.config.protocolVersion}${c.config.catalogOnlySync ? ', catalog-only upstream' : ''}`);
  for (const phase of ['categories', 'updates'] as const) {
    const p = c[phase];
    if (!p) continue;
    lines.push(`  ${phase}: ${p.listed} listed, ${p.alreadyPresent + p.alreadyStaged} already here, ${p.fetched} fetched in ${p.requests} requests`
      + `${p.reRequested ? ` (${p.reRequested} asked again)` : ''}, ${p.merged} new, ${p.excluded} excluded, ${p.bad} bad, ${seconds(p.ms)}`);
  }
  if (c.deployments) {
    const d = c.deployments;
    lines.push(`  deployments: ${d.groups} groups, ${d.approvals} approvals, ${d.removed} removed, ${d.declined} declined, ${seconds(d.ms)}`);
  }
  if (c.content) {
    const x = c.content;
    lines.push(`  content: ${x.wanted} wanted, ${x.downloaded} downloaded, ${x.requestedFromUpstream} requested from the upstream, ${x.failed} failed`
      + `${x.noSource ? `, ${x.noSource} without a source URL` : ''}, ${seconds(x.ms)}`);
    for (const e of x.errors) lines.push(`    ${e}`);
  }
  for (const n of c.notes) lines.push(`  note: ${n}`);
  if (c.badDocuments.count) {
    lines.push(`  ${c.badDocuments.count} bad document(s) skipped:`);
    for (const b of c.badDocuments.first) lines.push(`    ${b.updateId} r${b.revisionNumber}: ${b.error}`);
  }
  return lines.join('\n');
}

async function runNow(rest: string[], io: SyncCliIo, deps: SyncCliDeps): Promise<number> {
  const args = parseArgs(rest, [...API_FLAGS, 'upstream'], ['json', ...API_BOOL_FLAGS]);
  if (args.positional.length) throw new UsageError('sync run takes no arguments');
  const progress = rateProgress(io.err);
  try {
    const upstream = flag(args, 'upstream');
    const r = await withAdminSession(args, (c) => c.run<SyncRunResult>('POST', '/api/sync/run', upstream ? { upstream } : {},
      (p) => progress.update(p.phase, p.done, p.total)), deps);
    progress.end();
    if (args.flags.get('json')) io.out.write(`${JSON.stringify(r, null, 2)}\n`);
    else io.out.write(`${summarizeRun(r)}\n`);
    if (r.state !== 'succeeded') io.err.write(`wsus: sync ${r.state} during ${r.phase ?? 'start'}: ${r.error}\n`);
    return r.state === 'succeeded' ? 0 : 1;
  } finally {
    progress.end();
  }
}

function printStatus(s: SyncStatus, now: Date, io: SyncCliIo): void {
  const w = (l: string) => io.out.write(`${l}\n`);
  w(`upstream: ${s.upstream} (mode ${s.mode}, content ${s.content})`);
  w(s.running
    ? `running: yes, ${s.running.owner} (pid ${s.running.pid}, since ${s.running.acquiredAt}, heartbeat ${ago(s.running.heartbeatAt, now)})${s.running.alive ? '' : ' — STALE: the next run takes over'}`
    : 'running: no');
  const lr = s.lastRun;
  if (!lr) w('last run: none');
  else {
    const dur = lr.finishedAt ? ` in ${seconds(Date.parse(lr.finishedAt) - Date.parse(lr.startedAt))}` : '';
    w(`last run: #${lr.id} ${lr.state}${dur}, ${ago(lr.finishedAt, now)} (${lr.trigger})${lr.error ? ` during ${lr.phase ?? 'start'}: ${lr.error}` : ''}`);
  }
  w(`last success: ${s.lastSuccess ? `#${s.lastSuccess.id}, ${ago(s.lastSuccess.finishedAt, now)}` : 'never'}`);
  w(`anchors: ${Object.entries(s.anchors).map(([k, v]) => `${k} ${v ? `saved ${ago(v.savedAt, now)}` : 'none'}`).join(', ')}`);
  w(`next scheduled: ${s.nextScheduled ? `${s.nextScheduled.at}${s.nextScheduled.source === 'computed' ? ' (slot; the server adds its jitter)' : ''}` : 'no schedule (run wsus sync run, or set sync.schedule)'}`);
  const sel = s.selection;
  w(`selection: ${sel.products.length} products, ${sel.classifications.length} classifications, languages ${sel.languages.length ? sel.languages.join(', ') : 'all'}`
    + `${sel.emptyMeans ? ` (empty side means: ${sel.emptyMeans})` : ''}`);
  w(`exclusions: ${s.exclusionRules} rules, ${s.excludedUpdates} updates excluded`);
  if (s.staged.categories || s.staged.updates) w(`staged (resume point): ${s.staged.categories} categories, ${s.staged.updates} updates`);
  if (s.pendingContent) w(`content the upstream was asked to fetch: ${s.pendingContent} files (downloaded by the next sync)`);
}

function historyLine(r: SyncRunRow): string {
  const dur = r.finishedAt ? seconds(Date.parse(r.finishedAt) - Date.parse(r.startedAt)) : 'running';
  const c = r.counts as { categories?: { merged: number }; updates?: { merged: number; excluded: number }; badDocuments?: { count: number } };
  const counts = `categories +${c.categories?.merged ?? 0}, updates +${c.updates?.merged ?? 0}${c.updates?.excluded ? ` (${c.updates.excluded} excluded)` : ''}`
    + `${c.badDocuments?.count ? `, ${c.badDocuments.count} bad` : ''}`;
  return `#${r.id}  ${r.startedAt}  ${r.state.padEnd(11)}  ${r.trigger.padEnd(8)}  ${dur.padStart(9)}  ${(r.phase ?? '-').padEnd(11)}  ${counts}${r.error ? `\n      error: ${r.error}` : ''}`;
}

async function exclude(rest: string[], io: SyncCliIo, deps: SyncCliDeps): Promise<number> {
  const [verb, ...more] = rest;
  if (verb === 'add') {
    const args = parseArgs(more, [...API_FLAGS, 'title', 'kb', 'architecture'], ['language-packs', 'json', ...API_BOOL_FLAGS]);
    const chosen: Array<[ExclusionKind, string]> = [];
    for (const [name, kind] of [['title', 'title'], ['kb', 'kb'], ['architecture', 'architecture']] as const) {
      const v = flag(args, name);
      if (v !== undefined) chosen.push([kind, v]);
    }
    if (args.flags.get('language-packs')) chosen.push(['language-pack', '']);
    if (chosen.length !== 1 || args.positional.length) {
      throw new UsageError(`sync exclude add needs exactly one of --title PATTERN, --kb NUMBER, --architecture ${ARCHITECTURES.join('|')}, --language-packs`);
    }
    const r = await withAdminSession(args, (c) => c.send<ExclusionRule>('POST', '/api/sync/exclusions', { kind: chosen[0]![0], pattern: chosen[0]![1] }), deps);
    if (args.flags.get('json')) io.out.write(`${JSON.stringify(r)}\n`);
    else io.out.write(`added exclusion rule ${r.id}: ${r.kind} ${r.pattern}\n  applies to updates synchronized from now on; decline updates already in the catalog with wsus decline\n`);
    return 0;
  }
  if (verb === 'list') {
    const args = parseArgs(more, [...API_FLAGS, 'limit'], ['json', ...API_BOOL_FLAGS]);
    const limit = intFlag(args, 'limit', 1, 100_000);
    const r = await withAdminSession(args, (c) => c.get<ExclusionListing>('/api/sync/exclusions', { limit }), deps);
    if (args.flags.get('json')) io.out.write(`${JSON.stringify(r, null, 2)}\n`);
    else {
      if (!r.rules.length) io.out.write('no exclusion rules\n');
      for (const x of r.rules) io.out.write(`${x.id}  ${x.kind.padEnd(13)}  ${x.pattern}  (since ${x.createdAt})\n`);
      io.out.write(`${r.excludedCount} updates excluded${r.excluded.length ? ', most recent:' : ''}\n`);
      for (const e of r.excluded) io.out.write(`  ${e.updateId} r${e.revisionNumber}  ${e.title}\n    ${e.reason}\n`);
    }
    return 0;
  }
  if (verb === 'remove') {
    const args = parseArgs(more, [...API_FLAGS], ['json', ...API_BOOL_FLAGS]);
    if (args.positional.length !== 1 || !/^\d+$/.test(args.positional[0]!)) throw new UsageError('sync exclude remove needs one rule ID (see wsus sync exclude list)');
    const r = await withAdminSession(args, (c) => c.send<ExclusionRule>('DELETE', `/api/sync/exclusions/${args.positional[0]}`), deps);
    if (args.flags.get('json')) io.out.write(`${JSON.stringify(r)}\n`);
    else io.out.write(`removed exclusion rule ${r.id} (${r.kind} ${r.pattern}); the next sync lists every revision again and brings back what no rule excludes\n`);
    return 0;
  }
  throw new UsageError('usage: wsus sync exclude add|list|remove (see wsus help)');
}

export async function syncCommand(argv: string[], io: SyncCliIo = stdio, deps: SyncCliDeps = realDeps): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'run':
      return runNow(rest, io, deps);
    case 'status': {
      const args = parseArgs(rest, [...API_FLAGS], ['json', ...API_BOOL_FLAGS]);
      if (args.positional.length) throw new UsageError('sync status takes no arguments');
      const s = await withAdminSession(args, (c) => c.get<SyncStatus>('/api/sync/status'), deps);
      if (args.flags.get('json')) io.out.write(`${JSON.stringify(s, null, 2)}\n`);
      else printStatus(s, new Date(), io);
      return 0;
    }
    case 'history': {
      const args = parseArgs(rest, [...API_FLAGS, 'limit'], ['json', ...API_BOOL_FLAGS]);
      if (args.positional.length) throw new UsageError('sync history takes no arguments');
      const limit = intFlag(args, 'limit', 1, 10_000);
      const { runs } = await withAdminSession(args, (c) => c.get<{ runs: SyncRunRow[] }>('/api/sync/history', { limit }), deps);
      if (args.flags.get('json')) io.out.write(`${JSON.stringify(runs, null, 2)}\n`);
      else if (!runs.length) io.out.write('no sync has run yet (wsus sync run)\n');
      else for (const r of runs) io.out.write(`${historyLine(r)}\n`);
      return 0;
    }
    case 'exclude':
      return exclude(rest, io, deps);
    default:
      throw new UsageError('usage: wsus sync run|status|history|exclude (see wsus help)');
  }
}
