import { resolve } from 'node:path';
import { loadConfig } from '../../config/config.js';
import { createLogger } from '../../logger.js';
import { startServer } from '../../app/server.js';
import { seedDemoCatalogIfEmpty } from '../../app/demo-catalog.js';
import { flag, intFlag, parseArgs } from '../args.js';

export const serveHelp = `wsus serve [--data DIR] [--port N] [--host ADDRESS] [--https-port N --tls-cert FILE --tls-key FILE] [--admin-port N]
  Runs the update server (client SOAP services on HTTP, default port 8530).
  The database is created and migrated at DIR/wsus.db on first start, and a small demo
  catalog is imported when the catalog is empty (set "seedDemoCatalog": false in DIR/config.json to skip).
  With a certificate (see wsus cert create) the SOAP services are also served over HTTPS
  (default 8531) while content stays on HTTP; the certificate is reloaded when the files change.
  The admin API listens on its own port (admin.port, default 8532, loopback only; see wsus config).
  SIGTERM or SIGINT stops it gracefully: new requests get 503, in-flight ones finish (up to
  shutdownGraceSeconds, default 20), reports and contact times are written, then it exits 0.
  Example: wsus serve --data /var/lib/wsus --port 8530 --tls-cert cert.pem --tls-key key.pem`;

export async function serveCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['data', 'port', 'host', 'https-port', 'tls-cert', 'tls-key', 'admin-port']);
  // Files named on the command line are relative to where the admin runs the command.
  const file = (name: string): string | undefined => {
    const v = flag(args, name);
    return v === undefined ? undefined : resolve(v);
  };
  const config = loadConfig({
    dataDir: flag(args, 'data'), httpPort: intFlag(args, 'port', 0, 65535), host: flag(args, 'host'),
    httpsPort: intFlag(args, 'https-port', 0, 65535), tlsCert: file('tls-cert'), tlsKey: file('tls-key'),
    admin: args.flags.has('admin-port') ? { port: intFlag(args, 'admin-port', 0, 65535) } : undefined,
  });
  const log = createLogger(config.logLevel);
  if (config.seedDemoCatalog) seedDemoCatalogIfEmpty(config, log);
  const server = await startServer(config, log);
  let stopping = false;
  // SIGTERM (service manager, docker stop) or SIGINT (Ctrl-C): drain and exit 0. A second signal
  // means "now": exit 1 without waiting; a shutdown that hangs past the grace period does too.
  const stop = (signal: string): void => {
    if (stopping) {
      log.warn('second signal during shutdown: exiting now', { signal });
      process.exit(1);
    }
    stopping = true;
    log.info('shutting down: finishing in-flight requests', { signal, graceSeconds: config.shutdownGraceSeconds });
    setTimeout(() => {
      log.error('shutdown did not finish in time: exiting', { graceSeconds: config.shutdownGraceSeconds });
      process.exit(1);
    }, (config.shutdownGraceSeconds + 10) * 1000).unref();
    server.close().then(() => process.exit(0), (e: unknown) => {
      log.error('shutdown failed', { error: (e as Error).stack });
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => server.https?.reload());
  return new Promise<number>(() => undefined);
}
