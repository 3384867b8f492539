import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerConfig } from '../../src/config/config.js';
import type { RunningServer } from '../../src/app/server.js';
import { createSelfSignedCertificate, type SelfSignedPair } from '../../src/cli/commands/cert.command.js';
import { startTlsListener, type TlsListener, type TlsLog } from '../../src/http/tls-listener.js';
import { quietLog, withServer } from './test-server.js';

// A real server (database, services, the handler server.ts builds) with an HTTPS listener in
// front of the very handler its HTTP listener uses, so both transports run the same code.

export interface TlsFiles {
  dir: string;
  certFile: string;
  keyFile: string;
  pair: SelfSignedPair;
  cleanup(): void;
}

export function lab(hosts: string[] = ['localhost', '127.0.0.1']): SelfSignedPair {
  // 2048 bits: the tests make several pairs and only need them to be real.
  return createSelfSignedCertificate({ hosts, days: 90, keyBits: 2048 });
}

export function tempTlsFiles(pair: SelfSignedPair = lab()): TlsFiles {
  const dir = mkdtempSync(join(tmpdir(), 'wsus-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  writeFileSync(certFile, pair.certPem);
  writeFileSync(keyFile, pair.keyPem, { mode: 0o600 });
  return { dir, certFile, keyFile, pair, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface CapturedLog extends TlsLog {
  lines: Array<{ level: string; message: string; meta?: object }>;
}

export function captureLog(): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  const at = (level: string) => (message: string, meta?: object): void => {
    lines.push({ level, message, meta });
  };
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}

/** The request handler a running server's HTTP listener was built with (server.ts passes exactly one). */
export function handlerOf(server: RunningServer): (req: IncomingMessage, res: ServerResponse) => void {
  const [handler] = server.http.listeners('request');
  if (typeof handler !== 'function') throw new Error('the HTTP listener has no request handler');
  return handler as (req: IncomingMessage, res: ServerResponse) => void;
}

export async function withTlsServer<T>(
  overrides: Record<string, unknown>,
  prepare: (config: ServerConfig) => void | Promise<void>,
  body: (ctx: { server: RunningServer; tls: TlsListener; files: TlsFiles; httpsUrl: string; config: ServerConfig }) => Promise<T>,
  log: TlsLog = quietLog,
): Promise<T> {
  const files = tempTlsFiles();
  try {
    return await withServer(overrides, prepare, async (server, config) => {
      const tls = await startTlsListener({
        host: '127.0.0.1', port: 0, certFile: files.certFile, keyFile: files.keyFile, handler: handlerOf(server), log,
      });
      try {
        return await body({ server, tls, files, httpsUrl: `https://localhost:${tls.port}`, config });
      } finally {
        await tls.close();
      }
    });
  } finally {
    files.cleanup();
  }
}
