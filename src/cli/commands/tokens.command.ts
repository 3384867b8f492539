import { closeSync, fchmodSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { userInfo } from 'node:os';
import type { AdminTokenRow } from '../../store/admin-tokens.store.js';
import { createAdminTokensStore } from '../../store/admin-tokens.store.js';
import { createAuditStore } from '../../store/audit.store.js';
import { createAdminTokensService } from '../../services/admin/admin-tokens.service.js';
import { flag, intFlag, parseArgs, UsageError } from '../args.js';
import { openDataDir } from '../context.js';
import { TOKEN_FILE, printJson } from '../admin-client.js';
import { API_BOOL_FLAGS, API_FLAGS, withAdminSession } from '../admin-session.js';

export const tokensHelp = `wsus tokens create --name NAME --role admin|reporter [--expires-days N] [--save] [--data DIR] [--json]
  Creates an admin API token directly in DIR's database (the bootstrap: works without a running
  server) and prints it ONCE on stdout (only its SHA-256 is stored). --save writes it to
  DIR/admin-token (mode 0600), where the CLI finds it. Reporters may only read; admins change.
wsus tokens list [--json]          (admin API, or --local)
wsus tokens revoke ID              (admin API, or --local) — the token stops working at once
  (revoking the last admin token locks the API until tokens create makes a new one)
  Example: wsus tokens create --name alice --role admin --expires-days 90 --save`;

export interface TokensIo {
  out: Writable;
  err: Writable;
}
const stdio: TokensIo = { out: process.stdout, err: process.stderr };

function localUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

function saveToken(file: string, token: string): void {
  const fd = openSync(file, 'w', 0o600);
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
}

function state(t: AdminTokenRow, now: number): string {
  if (t.revokedAt) return `revoked ${t.revokedAt}`;
  if (t.expiresAt && Date.parse(t.expiresAt) <= now) return `expired ${t.expiresAt}`;
  return t.expiresAt ? `active until ${t.expiresAt}` : 'active';
}

function create(rest: string[], io: TokensIo): number {
  const args = parseArgs(rest, ['data', 'name', 'role', 'expires-days'], ['save', 'json']);
  if (args.positional.length) throw new UsageError('tokens create takes no arguments (use --name NAME --role admin|reporter)');
  const name = flag(args, 'name');
  const role = flag(args, 'role');
  if (!name) throw new UsageError('--name is required (who the audit log shows)');
  if (role !== 'admin' && role !== 'reporter') throw new UsageError('--role must be admin or reporter');
  const days = intFlag(args, 'expires-days', 1, 3650);
  const ctx = openDataDir(flag(args, 'data'));
  try {
    const clock = () => new Date();
    const createdBy = `local:${localUser()}`;
    const created = createAdminTokensService(createAdminTokensStore(ctx.db), clock).create({ name, role, expiresDays: days ?? null, createdBy });
    createAuditStore(ctx.db).record({
      at: clock().toISOString(), actor: { tokenId: null, name: createdBy, role: null, address: null },
      action: 'tokens.create', method: 'CLI', path: 'wsus tokens create', params: {},
      body: { name, role, expiresDays: days ?? null, save: args.flags.get('save') === true }, dryRun: false, outcome: 'ok', error: null, ms: null,
    });
    let saved: string | null = null;
    if (args.flags.get('save')) {
      saved = join(ctx.config.dataDir, TOKEN_FILE);
      saveToken(saved, created.token);
    }
    if (args.flags.get('json')) {
      printJson({ ...created, savedTo: saved }, io.out);
    } else {
      io.out.write(`${created.token}\n`);
      io.err.write(`created ${created.info.role} token ${created.info.id} "${created.info.name}"${created.info.expiresAt ? `, expires ${created.info.expiresAt}` : ''}: `
        + `this is the only time it is shown${saved ? `; saved to ${saved} (mode 0600)` : ''}\n`);
    }
    return 0;
  } finally {
    ctx.db.close();
  }
}

export async function tokensCommand(argv: string[], io: TokensIo = stdio): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === 'create') return create(rest, io);
  if (verb === 'list') {
    const args = parseArgs(rest, [...API_FLAGS], ['json', ...API_BOOL_FLAGS]);
    if (args.positional.length) throw new UsageError('tokens list takes no arguments');
    const r = await withAdminSession(args, (c) => c.get<{ tokens: AdminTokenRow[] }>('/api/tokens'));
    if (args.flags.get('json')) printJson(r.tokens, io.out);
    else {
      if (!r.tokens.length) io.out.write('no tokens (wsus tokens create --name NAME --role admin --save)\n');
      const now = Date.now();
      for (const t of r.tokens) {
        io.out.write(`${String(t.id).padStart(4)}  ${t.name.padEnd(20)}  ${t.role.padEnd(8)}  created ${t.createdAt} by ${t.createdBy}  ${state(t, now)}  last used ${t.lastUsedAt ?? 'never'}\n`);
      }
    }
    return 0;
  }
  if (verb === 'revoke') {
    const args = parseArgs(rest, [...API_FLAGS], ['json', ...API_BOOL_FLAGS]);
    if (args.positional.length !== 1 || !/^\d+$/.test(args.positional[0]!)) throw new UsageError('tokens revoke needs one token ID (see wsus tokens list)');
    const r = await withAdminSession(args, (c) => c.send<AdminTokenRow>('DELETE', `/api/tokens/${args.positional[0]}`));
    if (args.flags.get('json')) printJson(r, io.out);
    else io.out.write(`revoked token ${r.id} "${r.name}" (${r.role})\n`);
    return 0;
  }
  throw new UsageError('usage: wsus tokens create|list|revoke (see wsus help)');
}
