import { flag, parseArgs, UsageError } from '../args.js';
import { openDataDir } from '../context.js';
import { assertLocalChangesAllowed } from '../../services/sync/replica-guard.js';

export const approveHelp = `wsus approve <updateId> --group NAME [--action install|uninstall] [--deadline ISO] [--data DIR]
  Approves an update for a computer group (and its child groups).
  Example: wsus approve a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe --group "All Computers" --deadline 2026-12-01T00:00:00Z`;

export const declineHelp = `wsus decline <updateId> [--data DIR]
wsus undecline <updateId> [--data DIR]
  A declined update is never offered to any client; declining removes its approvals.`;

const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function updateIdArg(positional: string[]): string {
  const id = positional[0];
  if (!id || positional.length > 1) throw new UsageError('expected exactly one update id');
  if (!GUID_RE.test(id)) throw new UsageError(`"${id}" is not an update id (a GUID)`);
  return id.toLowerCase();
}

export function approveCommand(argv: string[]): number {
  const args = parseArgs(argv, ['group', 'action', 'deadline', 'data']);
  const updateId = updateIdArg(args.positional);
  const group = flag(args, 'group');
  if (!group) throw new UsageError('--group is required');
  const actionRaw = (flag(args, 'action') ?? 'install').toLowerCase();
  if (actionRaw !== 'install' && actionRaw !== 'uninstall') throw new UsageError('--action must be install or uninstall');
  const deadlineRaw = flag(args, 'deadline');
  let deadline: string | null = null;
  if (deadlineRaw !== undefined) {
    const t = Date.parse(deadlineRaw);
    if (!/^\d{4}-\d{2}-\d{2}/.test(deadlineRaw) || Number.isNaN(t)) throw new UsageError('--deadline must be an ISO date or date-time');
    deadline = new Date(t).toISOString();
  }
  const ctx = openDataDir(flag(args, 'data'));
  try {
    assertLocalChangesAllowed(ctx.config);
    const a = ctx.targeting.approve(updateId, group, actionRaw === 'install' ? 'Install' : 'Uninstall', deadline, process.env.USER ?? 'cli', new Date());
    ctx.log.info('update approved', { updateId, group, action: a.action, deadline });
    process.stdout.write(`approved ${updateId} for ${a.action} to "${group}"${deadline ? ` with deadline ${deadline}` : ''} (deployment ${a.deploymentId})\n`);
    return 0;
  } finally {
    ctx.db.close();
  }
}

export function declineCommand(argv: string[], declined: boolean): number {
  const args = parseArgs(argv, ['data']);
  const updateId = updateIdArg(args.positional);
  const ctx = openDataDir(flag(args, 'data'));
  try {
    assertLocalChangesAllowed(ctx.config);
    ctx.targeting.setDeclined(updateId, declined, new Date());
    process.stdout.write(`${declined ? 'declined' : 'undeclined'} ${updateId}\n`);
    return 0;
  } finally {
    ctx.db.close();
  }
}

