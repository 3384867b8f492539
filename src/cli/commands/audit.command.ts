import type { Writable } from 'node:stream';
import type { AuditEntry } from '../../store/audit.store.js';
import { flag, intFlag, parseArgs, UsageError } from '../args.js';
import { printJson } from '../admin-client.js';
import { API_BOOL_FLAGS, API_FLAGS, withAdminSession } from '../admin-session.js';

export const auditHelp = `wsus audit [--since ISO] [--actor NAME] [--action PREFIX] [--limit N] [--json]
  Every change made through the admin API, newest first: when, who (token name and id, role,
  address), what (action, method and path, parameters, body with secrets redacted), dry run
  or not, and the outcome (ok or the error code). Refused attempts by reporter tokens too.
  Example: wsus audit --since 2026-01-01 --action updates.`;

export interface AuditIo {
  out: Writable;
}

export function formatAuditEntry(e: AuditEntry): string {
  const who = `${e.actor.name}${e.actor.tokenId !== null ? `#${e.actor.tokenId}` : ''}${e.actor.role ? ` (${e.actor.role})` : ''}${e.actor.address ? ` from ${e.actor.address}` : ''}`;
  const params = Object.keys(e.params ?? {}).length ? ` ${JSON.stringify(e.params)}` : '';
  const body = e.body && typeof e.body === 'object' && Object.keys(e.body).length ? `\n      ${JSON.stringify(e.body)}` : '';
  return `${e.at}  ${who}  ${e.action}${e.dryRun ? ' (dry run)' : ''}  ${e.method} ${e.path}${params}  ${e.outcome}${e.error ? `: ${e.error}` : ''}${body}`;
}

export async function auditCommand(argv: string[], io: AuditIo = { out: process.stdout }): Promise<number> {
  const args = parseArgs(argv, [...API_FLAGS, 'since', 'actor', 'action', 'limit'], ['json', ...API_BOOL_FLAGS]);
  if (args.positional.length) throw new UsageError('audit takes no arguments (filters: --since, --actor, --action, --limit)');
  const since = flag(args, 'since');
  if (since !== undefined && (!/^\d{4}-\d{2}-\d{2}/.test(since) || Number.isNaN(Date.parse(since)))) throw new UsageError('--since must be an ISO date or date-time');
  const query = { since, actor: flag(args, 'actor'), action: flag(args, 'action'), limit: intFlag(args, 'limit', 1, 100_000) };
  const r = await withAdminSession(args, (c) => c.get<{ entries: AuditEntry[] }>('/api/audit', query));
  if (args.flags.get('json')) printJson(r.entries, io.out);
  else if (!r.entries.length) io.out.write('no audit entries match\n');
  else for (const e of r.entries) io.out.write(`${formatAuditEntry(e)}\n`);
  return 0;
}
