import type { Writable } from 'node:stream';
import { readHealth } from '../../services/sync/sync-status.js';
import { flag, parseArgs, UsageError } from '../args.js';
import { openDataDir } from '../context.js';

// `wsus checkhealth` for this server: catalog freshness, sync results, content of approved
// updates. Exit 1 when unhealthy, so monitoring can run it as is.

export const healthHelp = `wsus health [--data DIR] [--json]
  Catalog size and age, the last sync (unhealthy when it failed, or when no sync succeeded
  within two schedule intervals), and the content of approved updates (present, quarantined,
  missing). Exit 0 healthy, 1 unhealthy.`;

export function healthCommand(argv: string[], io: { out: Writable } = { out: process.stdout }): number {
  const args = parseArgs(argv, ['data'], ['json']);
  if (args.positional.length) throw new UsageError('health takes no arguments');
  const ctx = openDataDir(flag(args, 'data'));
  try {
    const h = readHealth(ctx.db, ctx.config, new Date());
    if (args.flags.get('json')) io.out.write(`${JSON.stringify(h, null, 2)}\n`);
    else {
      const w = (l: string) => io.out.write(`${l}\n`);
      w(h.healthy ? 'healthy' : 'UNHEALTHY');
      for (const p of h.problems) w(`  problem: ${p}`);
      for (const x of h.warnings) w(`  warning: ${x}`);
      w(`catalog: ${h.catalog.revisions} revisions of ${h.catalog.updates} updates, newest ${h.catalog.newestIngestedAt ?? 'never'}${h.catalog.ageHours !== null ? ` (${h.catalog.ageHours} h ago)` : ''}`);
      w(`sync: last run ${h.sync.lastRunState ?? 'none'}${h.sync.lastRunFinishedAt ? ` at ${h.sync.lastRunFinishedAt}` : ''}, last success ${h.sync.lastSuccessAt ?? 'never'}`
        + `${h.sync.intervalHours !== null ? `, scheduled every ${h.sync.intervalHours.toFixed(1)} h` : ', no schedule'}`);
      if (h.sync.lastError) w(`  last error: ${h.sync.lastError}`);
      w(`content of approved updates (mode ${h.content.mode}): ${h.content.approvedFiles} files, ${h.content.present} present, ${h.content.quarantined} quarantined, ${h.content.missing} missing`);
    }
    return h.healthy ? 0 : 1;
  } finally {
    ctx.db.close();
  }
}
