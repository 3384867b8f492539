import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { adminHandle, importInto, tempDataDir, testConfig } from './support/test-server.js';
import {
  adminCall, assertDatabaseSound, assertSameState, campaign, canonicalState, createAdminToken, serve, writeServerConfig, type Rng, copyDataDir } from './support/crash-harness.js';

// `kill -9` of the server while an admin approves, unapproves, declines and undeclines many
// updates at once through the admin API, one bulk request after the other. Each request is one
// transaction: after the kill the state is exactly that after the requests answered (plus,
// perhaps, the one in flight) — never part of a request, never less than was acknowledged.
// Sending the rest again (what a retrying admin does) ends exactly where an uninterrupted
// sequence ends.

const CATALOG = generateCatalog({ updates: 250, seed: 61 });
const GROUPS = ['Ring 1', 'Ring 2', 'Pilot'];
/** what bulk approval requests change */
const TARGETING = ['groups', 'approvals', 'declined', 'updates'];

interface Op { path: string; body: Record<string, unknown> }

function plan(r: Rng, approvable: readonly string[], n: number): Op[] {
  const declined = new Set<string>();
  const some = (from: readonly string[], lo: number, hi: number): string[] => {
    const k = Math.min(from.length, r.int(lo, hi));
    const pool = [...from];
    const out: string[] = [];
    while (out.length < k) out.push(pool.splice(r.int(0, pool.length - 1), 1)[0]!);
    return out;
  };
  const ops: Op[] = [];
  for (let i = 0; i < n; i++) {
    const x = r.next();
    const open = approvable.filter((u) => !declined.has(u));
    if (x < 0.55) {
      const body: Record<string, unknown> = { updates: some(open, 40, 160), groups: some(GROUPS, 1, 3), action: r.next() < 0.85 ? 'install' : 'uninstall' };
      if (r.next() < 0.3) body.deadline = `2031-0${r.int(1, 9)}-1${r.int(0, 9)}T0${r.int(0, 9)}:00:00Z`;
      ops.push({ path: '/api/updates/approve', body });
    } else if (x < 0.75) {
      ops.push({ path: '/api/updates/unapprove', body: { updates: some(approvable, 20, 120), groups: some(GROUPS, 1, 3) } });
    } else if (x < 0.9) {
      const d = some(open, 2, 12);
      for (const u of d) declined.add(u);
      ops.push({ path: '/api/updates/decline', body: { updates: d } });
    } else {
      const u = some([...declined], 1, 8);
      for (const id of u) declined.delete(id);
      if (u.length) ops.push({ path: '/api/updates/undecline', body: { updates: u } });
    }
  }
  return ops;
}

test('kill -9 during bulk approval changes: never part of a request, nothing acknowledged lost, the rest re-sent ends as an uninterrupted run', async (t) => {
  const c = campaign(t, 'approvals', 2);
  const template = tempDataDir();
  const dirs: Array<{ cleanup(): void }> = [template];
  try {
    writeServerConfig(template.dir);
    const config = testConfig(template.dir);
    assert.equal(importInto(config, [...CATALOG.documents].map((d) => ({ name: d.fileName, read: () => d.xml }))).failed, 0);
    const h = adminHandle(config);
    let approvable: string[];
    try {
      for (const g of GROUPS) h.targeting.createGroup(g, undefined, new Date());
      approvable = (h.db.prepare(`SELECT update_id AS id FROM update_summary WHERE update_type IN ('Software', 'Driver')
        AND explicitly_deployable = 1 AND publication_state <> 'Expired' ORDER BY update_id`).all() as Array<{ id: string }>).map((r) => r.id);
    } finally {
      h.close();
    }
    const token = createAdminToken(join(template.dir, 'wsus.db'));
    const ops = plan(c.rng, approvable, 30);

    // the reference: every request once, the state after each
    const refDir = copyDataDir(template.dir, dirs);
    const after: string[] = [JSON.stringify(canonicalState(join(refDir.dir, 'wsus.db'), TARGETING))];
    const statuses: number[] = [];
    let busyMs = 0;
    const ref = await serve(refDir.dir);
    try {
      for (const op of ops) {
        const t0 = Date.now();
        const r = await adminCall(ref.adminUrl, token, 'POST', op.path, op.body);
        busyMs += Date.now() - t0;
        assert.ok(r.status === 200 || r.status === 409, `reference ${op.path}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
        statuses.push(r.status);
        after.push(JSON.stringify(canonicalState(join(refDir.dir, 'wsus.db'), TARGETING)));
      }
    } finally {
      await ref.kill9();
    }
    const final = canonicalState(join(refDir.dir, 'wsus.db'));
    c.note(`${ops.length} requests (${approvable.length} approvable updates), ${busyMs} ms of requests, ${final.approvals!.length} approvals and ${final.declined!.length} declines at the end`);

    for (let round = 1; round <= c.rounds; round++) {
      const dir = copyDataDir(template.dir, dirs);
      const file = join(dir.dir, 'wsus.db');
      const server = await serve(dir.dir);
      let acked = 0;
      const sender = (async () => {
        for (const op of ops) {
          const r = await adminCall(server.adminUrl, token, 'POST', op.path, op.body);
          assert.equal(r.status, statuses[acked], `${op.path} answered as in the reference`);
          acked++;
        }
      })().catch((e: unknown) => e);
      const ms = c.rng.int(0, Math.max(1, busyMs));
      const tag = c.tag(round, `kill at ${ms} ms`);
      await new Promise((r) => setTimeout(r, ms));
      await server.kill9();
      const failure = await sender;
      if (failure instanceof assert.AssertionError) throw failure;

      assertDatabaseSound(file, tag);
      const now = JSON.stringify(canonicalState(file, TARGETING));
      const applied = [acked, acked + 1].find((k) => k <= ops.length && after[k] === now);
      assert.ok(applied !== undefined, `${tag} the state after the kill is that after ${acked} acknowledged request(s), or ${acked + 1} with the one in flight`);

      // the admin sends again what was not acknowledged
      const again = await serve(dir.dir);
      try {
        for (let i = acked; i < ops.length; i++) {
          const r = await adminCall(again.adminUrl, token, 'POST', ops[i]!.path, ops[i]!.body);
          assert.ok(r.status === 200 || r.status === 409, `${tag} resend ${i}: ${r.status}`);
        }
      } finally {
        await again.kill9();
      }
      assertDatabaseSound(file, `${tag} end`);
      assertSameState(canonicalState(file), final, `${tag} end`);
      c.note(`round ${round}: killed at ${ms} ms after ${acked} acknowledged request(s); the state was that after ${applied}`);
    }
  } finally {
    for (const d of dirs) d.cleanup();
  }
});
