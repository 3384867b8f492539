import { flag, parseArgs, UsageError } from '../args.js';
import { openDataDir } from '../context.js';
import { assertLocalChangesAllowed } from '../../services/sync/replica-guard.js';

export const groupsHelp = `wsus groups create NAME [--parent NAME] [--data DIR]
wsus groups list [--data DIR] [--json]
  Computer groups nest; approvals given to a group apply to its children.
  Built-ins: "All Computers" (a0a08746-4dbe-4a37-9adf-9e7652c0b421), "Unassigned Computers" (b73ca6ed-5727-47f3-84de-015e03f6a88a).
  Example: wsus groups create Pilot --parent "All Computers"`;

export function groupsCommand(argv: string[]): number {
  const [verb, ...rest] = argv;
  if (verb === 'create') {
    const args = parseArgs(rest, ['parent', 'data']);
    if (args.positional.length !== 1) throw new UsageError('groups create needs exactly one NAME (quote names with spaces)');
    const ctx = openDataDir(flag(args, 'data'));
    try {
      assertLocalChangesAllowed(ctx.config);
      const g = ctx.targeting.createGroup(args.positional[0]!, flag(args, 'parent'), new Date());
      process.stdout.write(`created group "${g.name}" (${g.id})\n`);
      return 0;
    } finally {
      ctx.db.close();
    }
  }
  if (verb === 'list') {
    const args = parseArgs(rest, ['data'], ['json']);
    const ctx = openDataDir(flag(args, 'data'));
    try {
      const groups = ctx.targeting.groups();
      if (args.flags.get('json')) {
        process.stdout.write(`${JSON.stringify(groups, null, 2)}\n`);
      } else {
        const byId = new Map(groups.map((g) => [g.id, g]));
        const path = (id: string | null): string => {
          const names: string[] = [];
          for (let g = id ? byId.get(id) : undefined, n = 0; g && n < 64; g = g.parentId ? byId.get(g.parentId) : undefined, n++) names.unshift(g.name);
          return names.join(' / ');
        };
        for (const g of groups) process.stdout.write(`${g.id}  ${path(g.id)}\n`);
      }
      return 0;
    } finally {
      ctx.db.close();
    }
  }
  throw new UsageError('usage: wsus groups create NAME [--parent NAME] | wsus groups list');
}
