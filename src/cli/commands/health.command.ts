import type { Writable } from 'node:stream';
import { formatBytes } from '../../core/health/health-rules.js';
import type { HealthReport } from '../../services/health/health.service.js';
import { parseArgs, UsageError } from '../args.js';
import { printJson } from '../admin-client.js';
import { API_BOOL_FLAGS, API_FLAGS, withAdminSession } from '../admin-session.js';

// `wsus health`: one look at whether the server does its job (GET /api/health). Exit 1 when
// unhealthy, so monitoring can run it as is.

export const healthHelp = `wsus health [--json] [--local] [--data DIR]
  Catalog size and age; the last sync (unhealthy when it failed, or when no sync succeeded
  within two schedule intervals); content of approved updates (present, quarantined, missing);
  content signatures (the contentSignatures policy; warning when served files failed their
  Authenticode check under warn, or files were refused for it);
  client failure rates (last 7 days of reported events); free disk space of the data and
  content directories (warning below 10%, unhealthy below 2% or 1 GiB); certificate expiry
  (TLS: warning within 30 days, unhealthy once expired); the self-update tree; the last
  maintenance run. Exit 0 healthy (warnings allowed), 1 unhealthy.
  Reporter tokens may run it. --local reads DIR's database directly (the server may be stopped).
  Example: wsus health --json | jq .problems`;

export interface HealthIo {
  out: Writable;
}

export function formatHealth(h: HealthReport): string {
  const lines: string[] = [h.healthy ? (h.warnings.length ? 'healthy (with warnings)' : 'healthy') : 'UNHEALTHY'];
  for (const p of h.problems) lines.push(`  problem: ${p}`);
  for (const x of h.warnings) lines.push(`  warning: ${x}`);
  lines.push(`catalog: ${h.catalog.revisions} revisions of ${h.catalog.updates} updates, newest ${h.catalog.newestIngestedAt ?? 'never'}${h.catalog.ageHours !== null ? ` (${h.catalog.ageHours} h ago)` : ''}`);
  lines.push(`sync: last run ${h.sync.lastRunState ?? 'none'}${h.sync.lastRunFinishedAt ? ` at ${h.sync.lastRunFinishedAt}` : ''}, last success ${h.sync.lastSuccessAt ?? 'never'}`
    + `${h.sync.intervalHours !== null ? `, scheduled every ${h.sync.intervalHours.toFixed(1)} h` : ', no schedule'}`);
  if (h.sync.lastError) lines.push(`  last error: ${h.sync.lastError}`);
  lines.push(`content of approved updates (mode ${h.content.mode}): ${h.content.approvedFiles} files, ${h.content.present} present, ${h.content.quarantined} quarantined, ${h.content.missing} missing`
    + `${h.content.quarantinedTotal ? ` (${h.content.quarantinedTotal} quarantined in the whole store)` : ''}`);
  if (h.signatures) {
    const sg = h.signatures;
    const n = (m: Record<string, number>): string => Object.entries(m).map(([k, v]) => `${v} ${k}`).join(', ') || 'none';
    lines.push(`content signatures (policy upstream ${sg.policy.upstream}, import ${sg.policy.import}, published ${sg.policy.published}): `
      + `served ${n(sg.byStatus)}${Object.keys(sg.refused).length ? `; refused ${n(sg.refused)}` : ''}`);
  }
  const c = h.clients;
  lines.push(`clients (last ${c.windowDays} days): ${c.events} events from ${c.clientsReporting} clients, `
    + `${c.failureShare === null ? 'no failures' : `${(c.failureShare * 100).toFixed(1)}% failures`} (${c.clientsFailing} clients with failures)`);
  lines.push(`disk: ${h.disk.map((d) => `${d.role} ${formatBytes(d.freeBytes)} free of ${formatBytes(d.totalBytes)} (${(d.freeShare * 100).toFixed(1)}%)${d.status === 'ok' ? '' : ` ${d.status.toUpperCase()}`}`).join('; ') || 'unknown'}`);
  lines.push(`certificates: ${h.certificates.map((x) => `${x.role} ${x.expiresAt ? `expires ${x.expiresAt} (${x.daysLeft} days)` : `unreadable (${x.error ?? ''})`}`).join('; ') || 'none configured (plain HTTP)'}`);
  lines.push(`self-update tree: ${h.selfUpdate.installed ? 'installed' : 'not installed'}`);
  if (h.maintenance) {
    const m = h.maintenance.lastRun;
    lines.push(`maintenance: ${m ? `last run ${m.job} (${m.trigger}) ${m.state} at ${m.finishedAt}` : 'no run yet'}`
      + `${h.maintenance.lastSucceeded && h.maintenance.lastSucceeded !== m ? `, last success ${h.maintenance.lastSucceeded.finishedAt}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function healthCommand(argv: string[], io: HealthIo = { out: process.stdout }): Promise<number> {
  const args = parseArgs(argv, [...API_FLAGS], ['json', ...API_BOOL_FLAGS]);
  if (args.positional.length) throw new UsageError('health takes no arguments');
  const h = await withAdminSession(args, (c) => c.get<HealthReport>('/api/health'));
  if (args.flags.get('json')) printJson(h, io.out);
  else io.out.write(formatHealth(h));
  return h.healthy ? 0 : 1;
}
