import type { AdminClient } from './admin-client.types.js';
import { ADMIN_FLAGS, withAdmin } from './admin-client.js';
import { flag, type ParsedArgs } from './args.js';
import { openLocalAdmin, type LocalAdminSeams } from './local-admin.js';

// How an API command gets its client: the running server's admin API (default), or with
// `--local` the same routes in this process on DIR's database (see local-admin.ts).

/** value flags of every API command (with --local: only --data matters) */
export const API_FLAGS: readonly string[] = ADMIN_FLAGS;
/** boolean flags of every API command */
export const API_BOOL_FLAGS: readonly string[] = ['local'];

export async function withAdminSession<T>(args: ParsedArgs, body: (client: AdminClient) => Promise<T>, seams: LocalAdminSeams = {}): Promise<T> {
  if (args.flags.get('local') !== true) return body(withAdmin(args));
  const local = openLocalAdmin(flag(args, 'data'), seams);
  try {
    return await body(local.client);
  } finally {
    await local.close();
  }
}

export const localHelp = `--local runs the command in this process on DIR's database instead of through the running
server (same checks, audited as local:<user>).`;
