import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { ServerConfig } from '../../src/config/config.js';
import type { RunningServer } from '../../src/app/server.js';
import type { Db } from '../../src/store/database.js';
import type { SyncRunResult } from '../../src/services/sync/sync-types.js';
import { adminHandle } from './test-server.js';
import { startNode as startLoopbackNode } from './sync-loopback.js';
import { WuaClient } from './wua-client.js';

// Loopback chains of real servers for server-to-server sync tests: each node is a whole
// server (its own data directory with a config.json the CLI reads too, SQLite file, HTTP
// listener on 127.0.0.1), nodes sync from each other over HTTP, and simulated Windows
// Update Agents scan any of them.

export interface ChainNode {
  name: string;
  config: ServerConfig;
  server: RunningServer;
  url: string;
  /** the database as the CLI sees it (another connection); closed for you */
  admin<T>(fn: (h: ReturnType<typeof adminHandle>) => T): T;
  /** runs this server's own sync service; fails the test unless it succeeded */
  sync(): Promise<SyncRunResult>;
  close(): Promise<void>;
}

/**
 * Starts a server on a fresh data directory (see sync-loopback.ts). `settings` go to config.json
 * too, so `wsus ... --data <dir>` sees the same configuration.
 */
export async function startNode(name: string, settings: Record<string, unknown>, prepare?: (config: ServerConfig) => void | Promise<void>): Promise<ChainNode> {
  const node = await startLoopbackNode({ logLevel: 'error', ...settings }, { prepare });
  const { config, server } = node;
  return {
    name, config, server, url: server.url,
    admin(fn) {
      const h = adminHandle(config);
      try {
        return fn(h);
      } finally {
        h.close();
      }
    },
    async sync() {
      const r = await server.sync.run({ trigger: 'admin' });
      assert.equal(r.state, 'succeeded', `${name}: sync ${r.state} during ${r.phase}: ${r.error}`);
      assert.equal(r.counts.badDocuments.count, 0, `${name}: bad documents ${JSON.stringify(r.counts.badDocuments.first)}`);
      return r;
    },
    close: () => node.close(),
  };
}

/** `sync` settings of a downstream of `upstream` (content none unless given). */
export function downstreamOf(upstream: string, serverName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { upstream, serverName, content: 'none', concurrency: 2, retries: 1, ...extra };
}

// ---- catalog state -------------------------------------------------------------------------

export interface CurrentRevision {
  revisionNumber: number;
  core: string;
}

/** Every update's current revision: update id → revision number and Core fragment. */
export function currentRevisions(db: Db): Map<string, CurrentRevision> {
  const rows = db.prepare(
    'SELECT u.update_id AS id, r.revision_number AS rev, r.core_escaped AS core FROM updates u JOIN revisions r ON r.id = u.current_revision_id',
  ).all() as Array<{ id: string; rev: number; core: string }>;
  return new Map(rows.map((r) => [r.id, { revisionNumber: r.rev, core: r.core }]));
}

/**
 * What a downstream asking for `products` (null: every product category the upstream holds)
 * and every classification should end up with, computed from the upstream's tables alone:
 * every category and detectoid; every current software revision with at least one of those
 * products and one classification among its category prerequisites; and the exact bundled
 * revisions of those.
 */
export function inScope(db: Db, products: readonly string[] | null): Set<string> {
  const all = currentRevisions(db);
  const typeOf = new Map((db.prepare(
    'SELECT u.update_id AS id, u.update_type AS type, r.category_type AS cat, r.bundled_updates AS bundled FROM updates u JOIN revisions r ON r.id = u.current_revision_id',
  ).all() as Array<{ id: string; type: string; cat: string | null; bundled: string }>).map((r) => [r.id, r]));
  const productSet = new Set(products ?? [...typeOf.values()].filter((r) => r.cat === 'Company' || r.cat === 'ProductFamily' || r.cat === 'Product').map((r) => r.id));
  const classSet = new Set([...typeOf.values()].filter((r) => r.cat === 'UpdateClassification').map((r) => r.id));
  const cats = db.prepare('SELECT rc.category_update_id AS c FROM revision_categories rc JOIN updates u ON u.current_revision_id = rc.revision_id WHERE u.update_id = ?');
  const exists = db.prepare('SELECT 1 FROM revisions r JOIN updates u ON u.id = r.update_pk WHERE u.update_id = ? AND r.revision_number = ?');
  const out = new Set<string>();
  for (const [id, r] of typeOf) {
    if (r.type === 'Category' || r.type === 'Detectoid') {
      out.add(`${id}:${all.get(id)!.revisionNumber}`);
      continue;
    }
    const c = (cats.all(id) as Array<{ c: string }>).map((x) => x.c);
    if (!c.some((x) => productSet.has(x)) || !c.some((x) => classSet.has(x))) continue;
    out.add(`${id}:${all.get(id)!.revisionNumber}`);
    for (const b of JSON.parse(r.bundled) as Array<{ updateId: string; revisionNumber: number }>) {
      if (exists.get(b.updateId.toLowerCase(), b.revisionNumber)) out.add(`${b.updateId.toLowerCase()}:${b.revisionNumber}`);
    }
  }
  return out;
}

/** `id:rev` of every update's current revision. */
export function currentKeys(db: Db): Set<string> {
  return new Set([...currentRevisions(db)].map(([id, r]) => `${id}:${r.revisionNumber}`));
}

/** Asserts that `down` holds exactly the `keys` revisions of `up`, as current revisions with the same Core fragments. */
export function assertSameRevisions(up: Db, down: Db, keys: ReadonlySet<string>, where: string): void {
  const u = currentRevisions(up);
  const d = currentRevisions(down);
  const held = currentKeys(down);
  const missing = [...keys].filter((k) => !held.has(k));
  const extra = [...held].filter((k) => !keys.has(k));
  assert.deepEqual({ missing: missing.slice(0, 5), extra: extra.slice(0, 5) }, { missing: [], extra: [] }, `${where}: ${missing.length} missing, ${extra.length} extra`);
  let differentCore = 0;
  for (const k of keys) {
    const id = k.slice(0, k.indexOf(':'));
    if (u.get(id)!.core !== d.get(id)!.core) differentCore++;
  }
  assert.equal(differentCore, 0, `${where}: Core fragments differ`);
}

// ---- clients -------------------------------------------------------------------------------

export interface Offer {
  revisionNumber: number;
  action: string;
  deadline: string | null;
  revisionId: number;
}

const identity = (core: string): { updateId: string; revisionNumber: number } => {
  const m = /^<UpdateIdentity UpdateID="([^"]+)" RevisionNumber="(\d+)"/.exec(core);
  if (!m) throw new Error(`no UpdateIdentity at the start of ${core.slice(0, 80)}`);
  return { updateId: m[1]!.toLowerCase(), revisionNumber: Number(m[2]) };
};

/** What a client holds after its scans: update id → revision, deployment action and deadline. */
export function offers(c: WuaClient): Map<string, Offer> {
  const out = new Map<string, Offer>();
  for (const u of c.received.values()) {
    const id = identity(u.core);
    out.set(id.updateId, { revisionNumber: id.revisionNumber, action: u.action, deadline: u.deadline, revisionId: u.revisionId });
  }
  return out;
}

/** A fresh client (optionally naming its groups: client-side targeting) after a full staged scan. */
export async function scannedClient(url: string, targetGroup?: string): Promise<WuaClient> {
  const c = new WuaClient(url, randomUUID(), { targetGroup });
  await c.handshake();
  await c.fullScan();
  return c;
}

/** The product entries of a GetRevisionIdList(GetConfig=false) request: category id → Delta. */
export function productDeltas(body: string): Map<string, boolean> {
  const cats = /<Categories>([\s\S]*?)<\/Categories>/.exec(body)?.[1] ?? '';
  return new Map([...cats.matchAll(/<IdAndDelta>\s*<Id>([^<]+)<\/Id>\s*<Delta>(true|false)<\/Delta>\s*<\/IdAndDelta>/g)].map((m) => [m[1]!.toLowerCase(), m[2] === 'true']));
}

/** Polls `check` until it holds (for work a server does in the background). */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
