#!/usr/bin/env node
import { DomainError } from '../core/errors.js';
import { ConfigError } from '../config/config.js';
import { UsageError } from './args.js';
import { serveCommand, serveHelp } from './commands/serve.command.js';
import { importCommand, importHelp } from './commands/import.command.js';
import { exportCommand, exportHelp } from './commands/export.command.js';
import { approveCommand, approveHelp, declineCommand, declineHelp, unapproveCommand } from './commands/approvals.command.js';
import { updatesCommand, updatesHelp } from './commands/updates.command.js';
import { computersCommand, computersHelp } from './commands/computers.command.js';
import { groupsCommand, groupsHelp } from './commands/groups.command.js';
import { fixturesCommand, fixturesHelp } from './commands/fixtures.command.js';
import { contentCommand, contentHelp } from './commands/content.command.js';
import { certCommand, certHelp } from './commands/cert.command.js';
import { signingCommand, signingHelp } from './commands/signing.command.js';
import { publishCommand, publishHelp } from './commands/publish.command.js';
import { syncCommand, syncHelp } from './commands/sync.command.js';
import {
  productsCommand, productsHelp, classificationsCommand, classificationsHelp, languagesCommand, languagesHelp,
} from './commands/selection.command.js';
import { healthCommand, healthHelp } from './commands/health.command.js';
import { rulesCommand, rulesHelp } from './commands/rules.command.js';
import { cleanupCommand, cleanupHelp } from './commands/cleanup.command.js';
import { reportCommand, reportHelp } from './commands/report.command.js';
import { TlsSetupError } from '../http/tls-listener.js';
import { tokensCommand, tokensHelp } from './commands/tokens.command.js';
import { auditCommand, auditHelp } from './commands/audit.command.js';
import { configCommand, configHelp } from './commands/config.command.js';
import { adminConnectionHelp } from './admin-client.js';

const HELP = `wsus — a WSUS-compatible Windows update server

Commands:
${[serveHelp, importHelp, exportHelp, fixturesHelp, syncHelp, productsHelp, classificationsHelp, languagesHelp, updatesHelp, approveHelp, declineHelp,
  groupsHelp, computersHelp, reportHelp, rulesHelp, cleanupHelp, contentHelp, certHelp, signingHelp, publishHelp, healthHelp, tokensHelp, auditHelp, configHelp].join('\n\n')}

${adminConnectionHelp}

Every command takes --data DIR (default ./data, or $WSUS_DATA). Exit codes: 0 ok, 1 failed,
2 usage error, 3 not found, 4 conflict, 5 not authorized (no, unknown, revoked or expired
token: 401; a reporter token asking for a change: 403).`;

// One mapper from the error model to exit codes and messages.
function exitCodeFor(e: unknown): number {
  if (e instanceof UsageError || e instanceof ConfigError || e instanceof TlsSetupError) return 2;
  if (e instanceof DomainError && (e.code === 'Unauthorized' || e.code === 'Forbidden')) return 5;
  if (e instanceof DomainError) return e.code === 'NotFound' ? 3 : e.code === 'Conflict' ? 4 : e.code === 'InvalidInput' ? 2 : 1;
  return 1;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': return serveCommand(rest);
    case 'import': return importCommand(rest);
    case 'export': return exportCommand(rest);
    case 'fixtures': return fixturesCommand(rest);
    case 'approve': return approveCommand(rest);
    case 'unapprove': return unapproveCommand(rest);
    case 'updates': return updatesCommand(rest);
    case 'computers': return computersCommand(rest);
    case 'decline': return declineCommand(rest, true);
    case 'undecline': return declineCommand(rest, false);
    case 'groups': return groupsCommand(rest);
    case 'content': return contentCommand(rest);
    case 'cert': return certCommand(rest);
    case 'signing': return signingCommand(rest);
    case 'publish': return publishCommand(rest);
    case 'rules': return rulesCommand(rest);
    case 'cleanup': return cleanupCommand(rest);
    case 'report': return reportCommand(rest);
    case 'sync': return syncCommand(rest);
    case 'products': return productsCommand(rest);
    case 'classifications': return classificationsCommand(rest);
    case 'languages': return languagesCommand(rest);
    case 'health': return healthCommand(rest);
    case 'tokens': return tokensCommand(rest);
    case 'audit': return auditCommand(rest);
    case 'config': return configCommand(rest);
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
