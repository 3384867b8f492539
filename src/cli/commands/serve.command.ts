import { loadConfig } from '../../config/config.js';
import { createLogger } from '../../logger.js';
import { startServer } from '../../app/server.js';
import { seedDemoCatalogIfEmpty } from '../../app/demo-catalog.js';
import { flag, intFlag, parseArgs } from '../args.js';

export const serveHelp = `wsus serve [--data DIR] [--port N] [--host ADDRESS]
  Runs the update server (client SOAP services on HTTP, default port 8530).
  The database is created and migrated at DIR/wsus.db on first start, and a small demo
  catalog is imported when the catalog is empty (set "seedDemoCatalog": false in DIR/config.json to skip).
  Example: wsus serve --data /var/lib/wsus --port 8530`;

export async function serveCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['data', 'port', 'host']);
  const config = loadConfig({ dataDir: flag(args, 'data'), httpPort: intFlag(args, 'port', 0, 65535), host: flag(args, 'host') });
  const log = createLogger(config.logLevel);
  if (config.seedDemoCatalog) seedDemoCatalogIfEmpty(config, log);
  const server = await startServer(config, log);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    server.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return new Promise<number>(() => undefined);
}
