import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { importInto, tempDataDir, testConfig } from './support/test-server.js';
import { WuaClient, reportingEvent } from './support/wua-client.js';
import {
  assertDatabaseSound, assertSameState, campaign, canonicalState, serve, sleep, writeServerConfig, type Rng, type ServeChild, copyDataDir } from './support/crash-harness.js';

// `kill -9` of the server while clients report: every batch the server acknowledged (`true`)
// is in the database when it dies (durable inbox) and applied after the restart; resending
// what was not acknowledged (what the Windows Update agent does) applies nothing twice; the
// events, computer status cells and failures end exactly as when every batch arrived once.

const CATALOG = generateCatalog({ updates: 60, seed: 71 });
const CLIENTS = 10;
const BATCHES = 14;
const ZERO = '00000000-0000-0000-0000-000000000000';

interface Batch { at: string; events: Array<{ id: number; instance: string; update: string; misc: string[]; hresult?: number }> }
interface Fleet { clientIds: string[]; batches: Batch[][] }

function uuid(r: Rng): string {
  const hex = Array.from({ length: 32 }, () => r.int(0, 15).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** What each client reports, batch by batch: scan results, downloads, installs, failures, reboots. */
function fleet(r: Rng, updates: readonly string[]): Fleet {
  const t0 = Date.now() - 6 * 3600_000;
  const clientIds = Array.from({ length: CLIENTS }, () => uuid(r));
  const batches = clientIds.map(() => {
    const mine = Array.from({ length: 14 }, () => r.pick(updates));
    const out: Batch[] = [];
    for (let b = 0; b < BATCHES; b++) {
      const at = new Date(t0 + b * 60_000).toISOString();
      const events: Batch['events'] = [];
      if (b % 5 === 0) {
        const split = r.int(4, 10);
        events.push({ id: 156, instance: uuid(r), update: ZERO, misc: [`U=${mine.slice(0, split).join(';').toUpperCase()}`, `V=${mine.slice(split).join(';').toUpperCase()}`] });
      }
      for (let i = r.int(2, 7); i > 0; i--) {
        const kind = r.pick([162, 162, 183, 182, 184, 202]);
        events.push({ id: kind, instance: uuid(r), update: kind === 202 ? ZERO : r.pick(mine), misc: [], ...(kind === 182 ? { hresult: -2145124318 } : {}) });
      }
      out.push({ at, events });
    }
    return out;
  });
  return { clientIds, batches };
}

const batchXml = (clientId: string, b: Batch): string =>
  b.events.map((e) => reportingEvent(clientId, e.id, e.instance, e.update, e.misc, { time: b.at, ...(e.hresult ? { hresult: e.hresult } : {}) })).join('');

async function register(server: ServeChild, f: Fleet): Promise<WuaClient[]> {
  return Promise.all(f.clientIds.map(async (id) => {
    const c = new WuaClient(server.url, id);
    await c.handshake();
    return c;
  }));
}

/** Sends each client's batches from `from[i]`, clients in parallel; counts acknowledged batches until the first failure. */
async function send(clients: WuaClient[], f: Fleet, from: number[]): Promise<number[]> {
  const acked = [...from];
  await Promise.all(clients.map(async (client, i) => {
    for (let b = from[i]!; b < BATCHES; b++) {
      let reply;
      try {
        reply = await client.report(batchXml(client.clientId, f.batches[i]![b]!));
      } catch {
        return; // the server is gone
      }
      assert.equal(reply.status, 200, `batch ${b} of client ${i}: ${reply.text.slice(0, 300)}`);
      assert.match(reply.text, /<ReportEventBatchResult>true<\/ReportEventBatchResult>/);
      acked[i] = b + 1;
    }
  }));
  return acked;
}

async function drained(file: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      if ((db.prepare('SELECT count(*) AS n FROM report_inbox').get() as { n: number }).n === 0) return;
    } finally {
      db.close();
    }
    await sleep(25);
  }
  throw new Error('the report inbox did not drain');
}

/** Event instance ids stored: applied (events) and acknowledged but not yet applied (inbox). */
function storedInstances(file: string): { applied: Set<string>; inbox: Set<string> } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const applied = new Set((db.prepare('SELECT event_instance_id AS i FROM events').all() as Array<{ i: string }>).map((r) => r.i));
    const inbox = new Set<string>();
    for (const r of db.prepare('SELECT events FROM report_inbox').all() as Array<{ events: string }>) {
      for (const e of (JSON.parse(r.events) as { events: Array<{ eventInstanceId: string }> }).events) inbox.add(e.eventInstanceId);
    }
    return { applied, inbox };
  } finally {
    db.close();
  }
}

test('kill -9 during report ingestion: every acknowledged batch survives and is applied once; resending ends as an uninterrupted fleet', async (t) => {
  const c = campaign(t, 'reporting', 2);
  const template = tempDataDir();
  const dirs: Array<{ cleanup(): void }> = [template];
  try {
    const settings = { reporting: { clientEventsPerMinute: 1_000_000, clientEventBurst: 1_000_000 } };
    writeServerConfig(template.dir, settings);
    const config = testConfig(template.dir, settings);
    assert.equal(importInto(config, [...CATALOG.documents].map((d) => ({ name: d.fileName, read: () => d.xml }))).failed, 0);
    const db = new Database(config.databaseFile, { readonly: true });
    const updates = (db.prepare("SELECT update_id AS id FROM updates WHERE update_type = 'Software' ORDER BY update_id").all() as Array<{ id: string }>).map((r) => r.id);
    db.close();
    const f = fleet(c.rng, updates);
    const total = f.batches.flat().reduce((n, b) => n + b.events.length, 0);

    // the reference: every batch once, no kill
    const refDir = copyDataDir(template.dir, dirs);
    const ref = await serve(refDir.dir);
    let sendMs: number;
    try {
      const clients = await register(ref, f);
      const t0 = Date.now();
      const acked = await send(clients, f, f.clientIds.map(() => 0));
      sendMs = Date.now() - t0;
      assert.deepEqual(acked, f.clientIds.map(() => BATCHES));
      await drained(join(refDir.dir, 'wsus.db'));
    } finally {
      await ref.kill9();
    }
    const reference = canonicalState(join(refDir.dir, 'wsus.db'));
    assert.equal(reference.events![0], `${total} ${CLIENTS} ${f.batches.flat().reduce((n, b) => n + b.events.reduce((m, e) => m + e.id, 0), 0)}`, 'the reference stored every event');
    c.note(`${CLIENTS} clients × ${BATCHES} batches, ${total} events, sent in ${sendMs} ms`);

    for (let round = 1; round <= c.rounds; round++) {
      const dir = copyDataDir(template.dir, dirs);
      const file = join(dir.dir, 'wsus.db');
      const server = await serve(dir.dir);
      const clients = await register(server, f);
      const ms = c.rng.int(0, Math.max(1, Math.round(sendMs * 0.8)));
      const tag = c.tag(round, `kill at ${ms} ms`);
      const sending = send(clients, f, f.clientIds.map(() => 0));
      await sleep(ms);
      await server.kill9();
      const acked = await sending;

      // acknowledged = durable: every event of every acknowledged batch is applied or in the inbox
      assertDatabaseSound(file, tag);
      const left = storedInstances(file);
      const sentCount = acked.reduce((n, a) => n + a, 0);
      for (let i = 0; i < CLIENTS; i++) {
        for (let b = 0; b < acked[i]!; b++) {
          for (const e of f.batches[i]![b]!.events) {
            assert.ok(left.applied.has(e.instance) || left.inbox.has(e.instance), `${tag} event ${e.instance} of acknowledged batch ${b} of client ${i} was lost`);
          }
        }
      }

      // restart: the inbox is applied; then the clients resend from their first unacknowledged batch
      const again = await serve(dir.dir);
      try {
        await drained(file);
        const applied = storedInstances(file).applied;
        for (let i = 0; i < CLIENTS; i++) {
          for (let b = 0; b < acked[i]!; b++) for (const e of f.batches[i]![b]!.events) assert.ok(applied.has(e.instance), `${tag} acknowledged event ${e.instance} applied after the restart`);
        }
        // the same clients (their cookies survive the restart) at the restarted server's address
        const moved = clients.map((old) => Object.assign(new WuaClient(again.url, old.clientId), { cookie: old.cookie, expiration: old.expiration }));
        const resent = await send(moved, f, acked);
        assert.deepEqual(resent, f.clientIds.map(() => BATCHES), `${tag} every batch acknowledged in the end`);
        await drained(file);
      } finally {
        await again.kill9();
      }
      assertDatabaseSound(file, `${tag} end`);
      assertSameState(canonicalState(file), reference, `${tag} end`);
      c.note(`round ${round}: killed at ${ms} ms after ${sentCount}/${CLIENTS * BATCHES} acknowledged batches; ${left.applied.size} events applied and ${left.inbox.size} waiting in the inbox at the kill`);
    }
  } finally {
    for (const d of dirs) d.cleanup();
  }
});
