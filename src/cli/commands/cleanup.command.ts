import type { Writable } from 'node:stream';
import type { CleanupRunResult } from '../../services/maintenance/maintenance-types.js';
import type { MaintenanceStatus } from '../../services/maintenance/maintenance.js';
import type { MaintenanceRunRow } from '../../store/maintenance-runs.store.js';
import { flag, intFlag, parseArgs, UsageError } from '../args.js';
import { API_BOOL_FLAGS, API_FLAGS, withAdminSession } from '../admin-session.js';
import { printJson, progressOnStderr } from '../admin-client.js';

export const cleanupHelp = `wsus cleanup [--dry-run] [--only STEP,STEP…] [--json]
  Runs the server cleanup now (the server also runs it daily, maintenance.schedule, 04:00 by
  default). Steps, in this order: superseded, expired (decline what the enabled decline rules of
  that condition say), unused-revisions (old revisions no client can be offered and no bundle
  names, once the current revision is maintenance.unusedRevisionDays old), obsolete-computers
  (no contact for maintenance.obsoleteComputerDays, 30), unneeded-content (files of declined and
  expired updates and old revisions, plus orphans: deleted after contentOrphanGraceHours).
  Works in small batches; an interrupted run keeps what it did and the next run continues.
  --dry-run shows what it would do and changes nothing. Exit 1 when a step failed, 4 when a
  cleanup already runs.
wsus cleanup status [--json]     schedule, next run, running jobs, last runs
wsus cleanup history [--job cleanup|rules] [--limit N] [--json]
  Every maintenance run (cleanup, rules): when, trigger, dry run, counts, the exact error.
  Examples:
    wsus cleanup --dry-run
    wsus cleanup --only unused-revisions,unneeded-content`;

export interface CleanupIo {
  out: Writable;
  err: Writable & { isTTY?: boolean };
}
const stdio: CleanupIo = { out: process.stdout, err: process.stderr };

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function summarizeCleanup(r: CleanupRunResult): string {
  const lines: string[] = [];
  const would = r.dryRun ? 'would be ' : '';
  lines.push(`cleanup${r.dryRun ? ' dry run' : ''} ${r.state} in ${(r.durationMs / 1000).toFixed(1)} s (run ${r.runId})${r.error ? `: ${r.error}` : ''}`);
  const c = r.counts;
  for (const step of ['superseded', 'expired'] as const) {
    const s = c[step];
    if (!s) continue;
    lines.push(`  ${step}: ${s.skipped ?? `${s.declined} ${would}declined${s.failed ? `, ${s.failed} failed` : ''}`}`);
    for (const d of s.items.slice(0, 20)) lines.push(`    ${d.updateId}  ${d.title}  [${d.ruleName}: ${d.reason}]`);
    if (s.declined > 20) lines.push(`    … ${s.declined - 20} more (--json lists up to 500)`);
  }
  const u = c['unused-revisions'];
  if (u) {
    lines.push(`  unused-revisions: ${r.dryRun ? `${u.candidates} ${would}removed` : `${u.removed} of ${u.candidates} removed`}`);
    for (const x of u.items.slice(0, 10)) lines.push(`    ${x.updateId} r${x.revisionNumber}`);
    if (u.candidates > 10) lines.push(`    … ${u.candidates - 10} more`);
  }
  const o = c['obsolete-computers'];
  if (o) {
    lines.push(`  obsolete-computers (no contact since ${o.cutoff}): ${r.dryRun ? `${o.candidates} ${would}removed` : `${o.removed} removed, ${o.events} events`}`);
    for (const x of o.items.slice(0, 10)) lines.push(`    ${x.clientId}  ${x.dnsName}  last contact ${x.lastContact}`);
    if (o.candidates > 10) lines.push(`    … ${o.candidates - 10} more`);
  }
  const k = c['unneeded-content'];
  if (k) {
    lines.push(`  unneeded-content: ${k.unneededFiles} file(s) no update needs; ${k.marked} ${r.dryRun ? 'would be ' : ''}marked, `
      + `${k.deleted} ${would}deleted (${bytes(k.reclaimedBytes)}) after the ${k.graceHours} h grace period`);
    if (k.skipped) lines.push(`    ${k.skipped}`);
  }
  for (const [step, e] of Object.entries(c.errors ?? {})) lines.push(`  FAILED ${step}: ${e}`);
  return lines.join('\n');
}

function historyLine(r: MaintenanceRunRow): string {
  const dur = r.finishedAt ? `${((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000).toFixed(1)} s` : 'running';
  const counts = Object.entries(r.counts).flatMap(([k, v]) => {
    if (typeof v === 'number') return [`${k} ${v}`];
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const n = o.declined ?? o.removed ?? o.deleted;
      return typeof n === 'number' ? [`${k} ${n}`] : [];
    }
    return [];
  }).join(', ');
  return `#${r.id} ${r.startedAt} ${r.job}${r.dryRun ? ' (dry run)' : ''} ${r.state} ${dur} [${r.trigger}${r.actor ? ` by ${r.actor}` : ''}]`
    + `${counts ? ` ${counts}` : ''}${r.error ? ` — ${r.error}` : ''}`;
}

export async function cleanupCommand(argv: string[], io: CleanupIo = stdio): Promise<number> {
  const w = (l: string) => io.out.write(`${l}\n`);
  const [sub, ...rest] = argv;
  if (sub === 'status') {
    const args = parseArgs(rest, API_FLAGS, ['json', ...API_BOOL_FLAGS]);
    const s = await withAdminSession(args, (c) => c.get<MaintenanceStatus>('/api/maintenance/status'));
    if (args.flags.get('json')) printJson(s, io.out);
    else {
      w(s.schedule ? `schedule: daily at ${s.schedule.time} (+ up to ${s.schedule.jitterMinutes} min), next ${s.schedule.next}${s.schedule.nextSource === 'computed' ? ' (slot; the server adds its jitter)' : ''}`
        : 'schedule: none (maintenance.schedule is null): run wsus cleanup');
      w(`rules after each sync: ${s.replica ? 'no (replica)' : s.rulesAfterSync ? 'yes' : 'no (maintenance.rulesAfterSync)'}`);
      for (const j of s.jobs) w(`${j.name}: ${j.running ? `running, ${j.running.owner} (pid ${j.running.pid}, since ${j.running.acquiredAt})${j.running.alive ? '' : ' — STALE'}` : 'idle'}`);
      for (const r of Object.values(s.last)) if (r) w(`last ${historyLine(r)}`);
    }
    return 0;
  }
  if (sub === 'history') {
    const args = parseArgs(rest, [...API_FLAGS, 'limit', 'job'], ['json', ...API_BOOL_FLAGS]);
    const job = flag(args, 'job');
    if (job !== undefined && job !== 'cleanup' && job !== 'rules') throw new UsageError('--job must be cleanup or rules');
    const limit = intFlag(args, 'limit', 1, 10_000) ?? 20;
    const r = await withAdminSession(args, (c) => c.get<{ runs: MaintenanceRunRow[] }>('/api/maintenance/history', { limit, job }));
    if (args.flags.get('json')) printJson(r, io.out);
    else if (!r.runs.length) w('no maintenance runs yet');
    else for (const run of r.runs) w(historyLine(run));
    return 0;
  }
  const args = parseArgs(sub === 'run' ? rest : argv, [...API_FLAGS, 'only'], ['json', 'dry-run', ...API_BOOL_FLAGS]);
  if (args.positional.length) {
    throw new UsageError(`unknown cleanup command "${args.positional[0]}" (wsus cleanup [--dry-run], status, history)`);
  }
  const only = flag(args, 'only');
  const body = { dryRun: args.flags.get('dry-run') === true, ...(only ? { only: only.split(',').map((s) => s.trim()).filter(Boolean) } : {}) };
  const progress = progressOnStderr(io.err);
  try {
    const r = await withAdminSession(args, (c) => c.run<CleanupRunResult>('POST', '/api/cleanup', body, progress.onProgress));
    progress.end();
    if (args.flags.get('json')) printJson(r, io.out);
    else w(summarizeCleanup(r));
    if (r.state !== 'succeeded') io.err.write(`wsus: cleanup ${r.state}: ${r.error ?? ''}\n`);
    return r.state === 'succeeded' ? 0 : 1;
  } finally {
    progress.end();
  }
}
