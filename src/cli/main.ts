#!/usr/bin/env node
import { DomainError } from '../core/errors.js';
import { ConfigError } from '../config/config.js';
import { UsageError } from './args.js';
import { serveCommand, serveHelp } from './commands/serve.command.js';
import { importCommand, importHelp } from './commands/import.command.js';
import { approveCommand, approveHelp, declineCommand, declineHelp } from './commands/approvals.command.js';
import { groupsCommand, groupsHelp } from './commands/groups.command.js';
import { fixturesCommand, fixturesHelp } from './commands/fixtures.command.js';
import { contentCommand, contentHelp } from './commands/content.command.js';
import { certCommand, certHelp } from './commands/cert.command.js';
import { syncCommand, syncHelp } from './commands/sync.command.js';
import {
  productsCommand, productsHelp, classificationsCommand, classificationsHelp, languagesCommand, languagesHelp,
} from './commands/selection.command.js';
import { healthCommand, healthHelp } from './commands/health.command.js';
import { TlsSetupError } from '../http/tls-listener.js';

const HELP = `wsus — a WSUS-compatible Windows update server

Commands:
${[serveHelp, importHelp, fixturesHelp, syncHelp, productsHelp, classificationsHelp, languagesHelp, approveHelp, declineHelp,
  groupsHelp, contentHelp, certHelp, healthHelp].join('\n\n')}

Every command takes --data DIR (default ./data, or $WSUS_DATA). Exit codes: 0 ok, 1 failed,
2 usage error, 3 not found, 4 conflict.`;

// One mapper from the error model to exit codes and messages.
function exitCodeFor(e: unknown): number {
  if (e instanceof UsageError || e instanceof ConfigError || e instanceof TlsSetupError) return 2;
  if (e instanceof DomainError) return e.code === 'NotFound' ? 3 : e.code === 'Conflict' ? 4 : e.code === 'InvalidInput' ? 2 : 1;
  return 1;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': return serveCommand(rest);
    case 'import': return importCommand(rest);
    case 'fixtures': return fixturesCommand(rest);
    case 'approve': return approveCommand(rest);
    case 'decline': return declineCommand(rest, true);
    case 'undecline': return declineCommand(rest, false);
    case 'groups': return groupsCommand(rest);
    case 'content': return contentCommand(rest);
    case 'cert': return certCommand(rest);
    case 'sync': return syncCommand(rest);
    case 'products': return productsCommand(rest);
    case 'classifications': return classificationsCommand(rest);
    case 'languages': return languagesCommand(rest);
    case 'health': return healthCommand(rest);
    case undefined: case 'help': case '--help': case '-h':
      process.stdout.write(`${HELP}\n`);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${command}" (see wsus help)`);
  }
}

// `wsus products list | head` closes the pipe early: that is the reader's choice, not a failure.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    process.stderr.write(`wsus: ${(e as Error).message}\n`);
    process.exitCode = exitCodeFor(e);
  },
);
