import type { Writable } from 'node:stream';
import type { ConfigSetResult } from '../../services/admin/config-edit.service.js';
import { parseArgs, UsageError } from '../args.js';
import { printJson } from '../admin-client.js';
import { API_BOOL_FLAGS, API_FLAGS, withAdminSession } from '../admin-session.js';

export const configHelp = `wsus config get [KEY] [--json]
wsus config set KEY VALUE [--json]
  Reads or changes DIR/config.json through the admin API, by dotted key (httpPort, sync.upstream,
  sync.schedule.perDay, admin.port, …). VALUE is JSON when it parses as JSON (9000, true,
  {"firstSyncTime":"03:00"}), else a string; null removes the key (back to its default). The
  whole resulting config is validated first: every problem is listed and nothing is written
  (exit 2). Secrets (sync.proxy.password) are never shown. logLevel applies at once; every
  other key applies when the server restarts (the answer names them). --local edits DIR's
  config.json without a running server (e.g. to fix the setting that keeps it from starting).
  Example: wsus config set sync.upstream http://wsus-parent.corp.example:8530`;

export interface ConfigIo {
  out: Writable;
  err: Writable;
}
const stdio: ConfigIo = { out: process.stdout, err: process.stderr };

interface GetResult { file: string; key: string | null; value: unknown; running: unknown; restartPending: string[] }

function flatLines(value: unknown, prefix: string, out: string[]): void {
  if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatLines(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.push(`${prefix} = ${JSON.stringify(value)}`);
  }
}

/** `9000` → 9000, `true` → true, `{"a":1}` → object, `null` → null, anything else → the string */
export function parseConfigValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

export async function configCommand(argv: string[], io: ConfigIo = stdio): Promise<number> {
  const [verb, ...rest] = argv;
  const args = parseArgs(rest, [...API_FLAGS], ['json', ...API_BOOL_FLAGS]);
  if (verb === 'get') {
    if (args.positional.length > 1) throw new UsageError('config get takes at most one KEY');
    const key = args.positional[0];
    const r = await withAdminSession(args, (c) => c.get<GetResult>('/api/config', { key }));
    if (args.flags.get('json')) printJson(key ? r.value : r, io.out);
    else {
      const lines: string[] = [];
      if (key && (typeof r.value !== 'object' || r.value === null || Array.isArray(r.value))) lines.push(typeof r.value === 'string' ? r.value : JSON.stringify(r.value));
      else flatLines(r.value, key ?? '', lines);
      io.out.write(`${lines.join('\n')}\n`);
    }
    if (r.restartPending.length) io.err.write(`differs from what the running server uses (applies at restart; command-line flags of wsus serve also count): ${r.restartPending.join(', ')}\n`);
    return 0;
  }
  if (verb === 'set') {
    if (args.positional.length !== 2) throw new UsageError('config set needs KEY VALUE (quote JSON values: \'{"perDay":4}\')');
    const [key, raw] = args.positional as [string, string];
    const r = await withAdminSession(args, (c) => c.send<ConfigSetResult>('PUT', '/api/config', { values: { [key]: parseConfigValue(raw) } }));
    if (args.flags.get('json')) printJson(r, io.out);
    else {
      if (!r.changed.length) io.out.write(`${key} unchanged\n`);
      for (const c of r.changed) io.out.write(`set ${c.key} = ${c.new === undefined ? '(default)' : JSON.stringify(c.new)}${c.old === undefined ? '' : ` (was ${JSON.stringify(c.old)})`} in ${r.file}\n`);
      if (r.appliedLive.length) io.out.write(`applied now: ${r.appliedLive.join(', ')}\n`);
      if (r.restartRequired.length) io.out.write(`restart the server to apply: ${r.restartRequired.join(', ')}\n`);
    }
    return 0;
  }
  throw new UsageError('usage: wsus config get [KEY] | wsus config set KEY VALUE (see wsus help)');
}
