import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { projectRoot } from '../src/paths.js';
import { openDatabase } from '../src/store/database.js';
import { createSyncStore } from '../src/store/sync.store.js';
import { syncState } from '../src/services/sync/sync-state.js';
import type { SyncRunResult } from '../src/services/sync/sync-types.js';
import type { SyncRunRow } from '../src/store/sync-runs.store.js';
import { startFaultProxy } from './support/fault-proxy.js';
import { tempDataDir } from './support/test-server.js';
import {
  assertSameCatalog, count, downstreamSettings, fullState, revisionKeys, startNode, startUpstream, updateDataItems, writeConfigJson,
} from './support/sync-loopback.js';

// `kill -9` of a downstream in the middle of `wsus sync run`: the next run takes the stale job
// lock over, marks the killed run interrupted, resumes from staging without asking the upstream
// again for anything it already holds, and ends exactly where a downstream that synced once
// without interruption ends. A second `sync run` while one runs fails fast with exit code 4.

const MAIN = join(projectRoot, 'dist', 'src', 'cli', 'main.js');
const MAX_PER_REQUEST = 20;
const CATALOG = [...generateCatalog({ updates: 60, seed: 29 }).documents];
const UPDATES = new Set(CATALOG.map((d) => d.updateId)).size;

interface Exit { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function wsus(args: string[]): { child: ChildProcess; done: Promise<Exit> } {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, WSUS_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const done = new Promise<Exit>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the child's database through a read-only connection until `probe` returns something. */
async function waitFor<T>(file: string, probe: (db: Database.Database) => T | undefined, what: string, alive: () => boolean): Promise<T> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    assert.ok(alive(), `the sync process ended before ${what}`);
    if (existsSync(file)) {
      let db: Database.Database | undefined;
      try {
        db = new Database(file, { readonly: true, fileMustExist: true });
        const v = probe(db);
        if (v !== undefined) return v;
      } catch {
        // not migrated yet, or busy: look again
      } finally {
        db?.close();
      }
    }
    await sleep(15);
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('kill -9 mid-sync: the next run takes the lock over, resumes without refetching, and ends identical to an uninterrupted sync', async () => {
  const A = await startUpstream(CATALOG, MAX_PER_REQUEST);
  const proxy = await startFaultProxy(A.url);
  const B = tempDataDir();
  try {
    // the reference: one downstream that synchronizes once, without interruption
    const ref = await startNode(downstreamSettings(A.url));
    let reference: string[];
    try {
      const r = await ref.server.sync.run({ trigger: 'admin' });
      assert.equal(r.state, 'succeeded', r.error ?? '');
      reference = fullState(ref.server.db);
    } finally {
      await ref.close();
    }

    writeConfigJson(B.dir, downstreamSettings(proxy.url, { concurrency: 1 }));
    const dbFile = join(B.dir, 'wsus.db');
    // every GetUpdateData takes 0.4 s: the run lasts seconds, long enough to watch and kill
    proxy.inject({ operation: 'GetUpdateData', fault: { kind: 'delay', ms: 400 }, times: 100_000 });
    const first = wsus(['sync', 'run', '--local', '--data', B.dir]);
    const pid = first.child.pid!;
    const alive = () => first.child.exitCode === null && first.child.signalCode === null;

    // while it runs, a second `sync run` fails fast with exit 4, naming the owner
    await waitFor(dbFile, (db) => (db.prepare("SELECT 1 AS one FROM sync_runs WHERE state = 'running'").get() ? true : undefined), 'the run to start', alive);
    const second = await wsus(['sync', 'run', '--local', '--data', B.dir]).done;
    assert.equal(second.code, 4, second.stderr);
    assert.match(second.stderr, new RegExp(`sync is already running: ${escapeRe(hostname())}:${pid}:\\w+ \\(pid ${pid}, since `));
    assert.ok(alive(), 'the first run was not disturbed');

    // kill it once the updates phase has staged part of the catalog
    const stagedBeforeKill = await waitFor(dbFile, (db) => {
      const n = count(db, "SELECT count(*) AS n FROM sync_staging WHERE phase = 'updates'");
      return n >= 2 * MAX_PER_REQUEST ? n : undefined;
    }, 'updates to be staged', alive);
    first.child.kill('SIGKILL');
    const killed = await first.done;
    assert.equal(killed.signal, 'SIGKILL');
    proxy.clear();

    // what the killed process left behind
    const left = new Database(dbFile, { readonly: true, fileMustExist: true });
    let staged: Set<string>;
    let stored: Set<string>;
    try {
      staged = new Set((left.prepare("SELECT update_id AS id, revision_number AS rev FROM sync_staging WHERE phase = 'updates'").all() as Array<{ id: string; rev: number }>).map((r) => `${r.id}:${r.rev}`));
      stored = revisionKeys(left);
      assert.ok(staged.size >= stagedBeforeKill);
      assert.ok(stored.size > 0, 'the categories phase had merged');
      const run = left.prepare("SELECT phase, pid FROM sync_runs WHERE state = 'running'").get() as { phase: string; pid: number };
      assert.deepEqual(run, { phase: 'updates', pid });
      assert.equal((left.prepare("SELECT pid FROM job_locks WHERE name = 'sync'").get() as { pid: number }).pid, pid, 'the dead process still holds the lock');
    } finally {
      left.close();
    }
    assert.ok(stored.size + staged.size < UPDATES, 'killed before the updates were all fetched');

    // `wsus sync status` sees the dead holder and the resume point
    const status = await wsus(['sync', 'status', '--local', '--data', B.dir]).done;
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`running: yes, \\S+:${pid}:\\w+ \\(pid ${pid}, .*STALE: the next run takes over`));
    assert.match(status.stdout, new RegExp(`staged \\(resume point\\): 0 categories, ${staged.size} updates`));

    // `wsus health` counts a sync that died mid-run as a failure until a sync finishes
    const sick = await wsus(['health', '--local', '--data', B.dir]).done;
    assert.equal(sick.code, 1, sick.stdout);
    assert.match(sick.stdout + sick.stderr, /stopped without finishing/);

    // restart: takes the stale lock over and resumes
    const from = proxy.requests.length;
    const resumed = await wsus(['sync', 'run', '--local', '--data', B.dir, '--json']).done;
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /job lock taken over from a stopped process/);
    const result = JSON.parse(resumed.stdout) as SyncRunResult;
    assert.equal(result.state, 'succeeded');
    assert.equal(result.counts.categories!.fetched, 0, 'categories were committed before the kill');
    assert.equal(result.counts.updates!.alreadyStaged, staged.size);

    // nothing already stored or staged was asked for again; nothing twice
    const again = updateDataItems(proxy, from).flat();
    assert.equal(new Set(again).size, again.length, 'no revision asked twice');
    for (const k of again) assert.ok(!staged.has(k) && !stored.has(k), `${k} was refetched`);
    assert.equal(again.length, result.counts.updates!.fetched);
    assert.equal(result.counts.updates!.listed, result.counts.updates!.alreadyPresent + staged.size + again.length);

    const healthy = await wsus(['health', '--local', '--data', B.dir]).done;
    assert.equal(healthy.code, 0, `healthy again after the resumed sync: ${healthy.stdout}${healthy.stderr}`);
    const hist = await wsus(['sync', 'history', '--local', '--data', B.dir, '--json']).done;
    assert.equal(hist.code, 0, hist.stderr);
    const runs = JSON.parse(hist.stdout) as SyncRunRow[];
    assert.deepEqual(runs.map((r) => r.state), ['succeeded', 'interrupted']);
    assert.equal(runs[1]!.phase, 'updates');
    assert.match(runs[1]!.error!, new RegExp(`^interrupted: the sync process \\(pid ${pid}\\) stopped during phase updates \\(last heartbeat `));
    const histText = await wsus(['sync', 'history', '--local', '--data', B.dir]).done;
    assert.match(histText.stdout, new RegExp(`^#${runs[1]!.id} .* interrupted .* updates .*\\n\\s+error: interrupted: the sync process \\(pid ${pid}\\)`, 'm'));

    // identical to the uninterrupted reference: revisions, fragments, IsLeaf; no leftovers
    const db = openDatabase(dbFile);
    try {
      assertSameCatalog(fullState(db), reference, 'resumed downstream vs uninterrupted reference');
      // every revision came from exactly one place: merged before the kill, staged before it, or fetched after
      assert.deepEqual([...revisionKeys(db)].sort(), [...stored, ...staged, ...again].sort());
      assert.equal(count(db, 'SELECT count(*) AS n FROM sync_staging'), 0, 'no staging rows left');
      assert.equal(count(db, 'SELECT count(*) AS n FROM job_locks'), 0, 'lock released');
      assert.equal(count(db, "SELECT count(*) AS n FROM sync_runs WHERE state = 'running'"), 0);
      const st = syncState(createSyncStore(db));
      assert.equal(st.isUnfinished(), false);
      assert.equal(st.isPlanned('updates'), false);
      assert.ok(st.anchor('updates'));
    } finally {
      db.close();
    }
  } finally {
    await proxy.close();
    await A.close();
    B.cleanup();
  }
});
