import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import type { ServerConfig } from '../../src/config/config.js';
import type { GeneratedDocument } from '../../src/fixtures/catalog-generator.js';
import type { Logger } from '../../src/logger.js';
import { startServer, type RunningServer } from '../../src/app/server.js';
import type { Db } from '../../src/store/database.js';
import { importInto, tempDataDir, testConfig, quietLog } from './test-server.js';
import type { FaultProxy } from './fault-proxy.js';

// Real servers on loopback for the sync robustness tests (faults, crashes): an upstream of ours
// holding a generated catalog, downstreams whose data directory carries a config.json (so the
// CLI sees the same configuration), a logger that keeps what it was told, and the catalog
// state two servers must agree on.

export interface Node {
  dir: string;
  config: ServerConfig;
  server: RunningServer;
  url: string;
  port: number;
  close(): Promise<void>;
  /** stops the server, keeps the data directory */
  stop(): Promise<void>;
}

export function writeConfigJson(dir: string, settings: Record<string, unknown>): Record<string, unknown> {
  const raw = { host: '127.0.0.1', httpPort: 0, seedDemoCatalog: false, ...settings };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(raw, null, 2));
  return raw;
}

export function importGenerated(config: ServerConfig, docs: Iterable<GeneratedDocument>): void {
  const r = importInto(config, [...docs].map((d) => ({ name: d.fileName, read: () => d.xml })));
  assert.equal(r.failed, 0, JSON.stringify(r.failures[0]));
}

/** A whole server on a fresh data directory (config.json written); `prepare` runs before it starts. */
export async function startNode(settings: Record<string, unknown>, opts: { log?: Logger; prepare?: (config: ServerConfig) => void | Promise<void>; dir?: string } = {}): Promise<Node> {
  const tmp = opts.dir ? { dir: opts.dir, cleanup: () => rmSync(opts.dir!, { recursive: true, force: true }) } : tempDataDir();
  const raw = writeConfigJson(tmp.dir, settings);
  const config = testConfig(tmp.dir, raw);
  await opts.prepare?.(config);
  const server = await startServer(config, opts.log ?? quietLog);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await server.close();
  };
  return {
    dir: tmp.dir, config, server, url: server.url, port: server.port, stop,
    async close() {
      await stop();
      tmp.cleanup();
    },
  };
}

/** An upstream of ours holding `docs`, serving at most `maxUpdatesPerRequest` per GetUpdateData; `role`: more upstreamRole settings. */
export function startUpstream(docs: Iterable<GeneratedDocument>, maxUpdatesPerRequest: number, role: Record<string, unknown> = {}): Promise<Node> {
  return startNode({ upstreamRole: { maxUpdatesPerRequest, ...role } }, { prepare: (c) => importGenerated(c, docs) });
}

/** A downstream of `upstream` (content none unless given); the sync settings land in config.json too. */
export function downstreamSettings(upstream: string, sync: Record<string, unknown> = {}): Record<string, unknown> {
  return { sync: { upstream, serverName: 'downstream.lab.invalid', content: 'none', retries: 3, requestTimeoutSeconds: 20, ...sync } };
}

// ---- logs ---------------------------------------------------------------------------------

export interface CapturedLog {
  log: Logger;
  entries: Array<Record<string, unknown> & { level: string; message: string }>;
  /** the retry warnings of the upstream client, as `operation: reason` */
  retries(): string[];
}

export function capturingLog(): CapturedLog {
  const entries: CapturedLog['entries'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) entries.push(JSON.parse(line) as CapturedLog['entries'][number]);
      done();
    },
  });
  const log = winston.createLogger({ level: 'info', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: sink })] });
  return {
    log, entries,
    retries: () => entries.filter((e) => e.message === 'upstream call failed; trying again').map((e) => `${String(e.operation)}: ${String(e.reason)}`),
  };
}

/** A stream for a CLI command's output, read back as text. */
export function textSink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return { stream: new Writable({ write(c: Buffer, _e, done) { chunks.push(c.toString('utf8')); done(); } }), text: () => chunks.join('') };
}

// ---- catalog state --------------------------------------------------------------------------

/** Every update's current revision with its Core fragment: `id rN core`, sorted. What the brief calls "the catalog". */
export function currentCore(db: Db): string[] {
  return (db.prepare(
    `SELECT u.update_id AS id, r.revision_number AS rev, r.core_escaped AS core
       FROM updates u JOIN revisions r ON r.id = u.current_revision_id ORDER BY u.update_id`,
  ).all() as Array<{ id: string; rev: number; core: string }>).map((r) => `${r.id} r${r.rev} ${r.core}`);
}

/**
 * Everything a client can observe of the catalog, for "identical to a reference" checks: every
 * revision with its fragments (Core, Extended, LocalizedProperties, EULA), files with their
 * Microsoft URLs, which one is current, and IsLeaf.
 */
export function fullState(db: Db): string[] {
  const rows = db.prepare(
    `SELECT u.update_id, r.revision_number, u.is_leaf, u.declined, (u.current_revision_id = r.id) AS current,
            r.core_escaped, r.extended_escaped,
            (SELECT group_concat(l.language || '=' || l.xml_escaped, '|') FROM (SELECT * FROM revision_localized WHERE revision_id = r.id ORDER BY language) l) AS localized,
            (SELECT group_concat(e.language || '=' || e.xml_escaped, '|') FROM (SELECT * FROM revision_eula WHERE revision_id = r.id ORDER BY language) e) AS eula,
            (SELECT group_concat(f.sha1_hex || ':' || coalesce(f.mu_url, ''), ',') FROM (SELECT * FROM files WHERE revision_id = r.id ORDER BY sha1_hex) f) AS files
       FROM revisions r JOIN updates u ON u.id = r.update_pk ORDER BY u.update_id, r.revision_number`,
  ).all() as Array<Record<string, unknown>>;
  return rows.map((r) => JSON.stringify(r));
}

export const count = (db: Db, sql: string, ...params: unknown[]): number => (db.prepare(sql).get(...params) as { n: number }).n;

/** `updateid:revision` of every revision the database holds. */
export function revisionKeys(db: Db): Set<string> {
  return new Set((db.prepare('SELECT u.update_id AS id, r.revision_number AS rev FROM revisions r JOIN updates u ON u.id = r.update_pk').all() as Array<{ id: string; rev: number }>)
    .map((r) => `${r.id}:${r.rev}`));
}

// ---- what went through the proxy --------------------------------------------------------------

/** The identities each GetUpdateData request asked for (`updateid:revision`, lower case), request by request. */
export function updateDataItems(proxy: FaultProxy, from = 0): string[][] {
  return proxy.requests.slice(from).filter((r) => r.operation === 'GetUpdateData').map((r) =>
    [...r.body.matchAll(/<UpdateID>([^<]+)<\/UpdateID>\s*<RevisionNumber>(\d+)<\/RevisionNumber>/g)].map((m) => `${m[1]!.toLowerCase()}:${m[2]}`));
}

export const operations = (proxy: FaultProxy, from = 0): string[] => proxy.requests.slice(from).map((r) => r.operation);

/** Equal as sets and in length; on failure names the first differing entries briefly (not megabytes of XML). */
export function assertSameCatalog(actual: readonly string[], expected: readonly string[], what: string): void {
  const brief = (s: string): string => s.slice(0, 90);
  const have = new Set(actual);
  const want = new Set(expected);
  const missing = expected.filter((s) => !have.has(s)).map(brief);
  const extra = actual.filter((s) => !want.has(s)).map(brief);
  assert.ok(missing.length === 0 && extra.length === 0 && actual.length === expected.length,
    `${what}: ${actual.length} entries, expected ${expected.length}; missing ${missing.length} [${missing.slice(0, 4).join(' | ')}]; unexpected ${extra.length} [${extra.slice(0, 4).join(' | ')}]`);
}
