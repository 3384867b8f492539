import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { ServerConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/app/server.js';
import { generateCatalog } from '../../src/fixtures/catalog-generator.js';
import { importInto, tempDataDir, testConfig } from './test-server.js';
import { captureLog, type LogCapture } from './log-capture.js';
import { storedCounts, type StoredCounts } from './fuzz-state.js';
import { WuaClient } from './wua-client.js';
import { request } from 'undici';

// A real server for the hostile-input and forgery tests: a small catalog (so a scan has
// something to deliver), a logger the test reads, a settable clock (expired cookies), and the
// checks every case ends with — nothing stored, still serving.

export interface HostileServer {
  server: RunningServer;
  config: ServerConfig;
  logs: LogCapture;
  /** the server's clock reads real time plus this many ms */
  clock: { offsetMs: number };
  counts(): StoredCounts;
  /** a new client completes a handshake and a full scan that delivers updates */
  assertStillServing(): Promise<void>;
  close(): Promise<void>;
}

export async function startHostileServer(overrides: Record<string, unknown> = {}, opts: { dataDir?: string; catalog?: boolean } = {}): Promise<HostileServer> {
  const tmp = opts.dataDir ? null : tempDataDir();
  const config = testConfig(opts.dataDir ?? tmp!.dir, overrides);
  if (opts.catalog !== false && !opts.dataDir) {
    const r = importInto(config, [...generateCatalog({ updates: 12, seed: 1 }).documents].map((d) => ({ name: d.fileName, read: () => d.xml })));
    assert.equal(r.failed, 0);
  }
  const logs = captureLog('info');
  const clock = { offsetMs: 0 };
  const server = await startServer(config, logs.log, () => new Date(Date.now() + clock.offsetMs));
  return {
    server, config, logs, clock,
    counts: () => {
      server.flush();
      return storedCounts(server.db);
    },
    async assertStillServing() {
      const c = new WuaClient(server.url, randomUUID());
      await c.handshake();
      await c.fullScan('', 50);
      assert.ok(c.received.size > 0, 'a scan after the hostile input delivers updates');
    },
    async close() {
      await server.close();
      tmp?.cleanup();
    },
  };
}

/** One admin API answer as a hostile-input test reads it: status, JSON body (null when not JSON), WWW-Authenticate. */
export interface AdminReply { status: number; json: { code?: string; error?: string } | null; wwwAuth: unknown }

export async function adminCall(h: HostileServer, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<AdminReply> {
  const r = await request(`${h.server.admin.url}${path}`, { method: method as 'GET', headers, body });
  const text = await r.body.text();
  let json: AdminReply['json'] = null;
  try {
    json = JSON.parse(text) as AdminReply['json'];
  } catch {
    json = null;
  }
  return { status: r.statusCode, json, wwwAuth: r.headers['www-authenticate'] };
}
