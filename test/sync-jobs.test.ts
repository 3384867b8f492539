import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { DomainError } from '../src/core/errors.js';
import { createSyncScheduler, type SchedulerTimers } from '../src/services/sync/sync-scheduler.js';
import type { SyncRunOptions, SyncRunResult } from '../src/services/sync/sync-types.js';
import { createSyncRunsStore } from '../src/store/sync-runs.store.js';
import { createJobLocksStore } from '../src/store/job-locks.store.js';
import { quietLog, testConfig, tempDataDir } from './support/test-server.js';
import { harness } from './support/sync-harness.js';

// One sync at a time across processes: a second run fails fast naming the holder; a lock
// left by a killed process (dead pid or stale heartbeat) is taken over and its run marked
// interrupted. And the scheduler: timers, runs, stop.

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('a second concurrent sync fails fast with a Conflict naming the running owner', async () => {
  const h = harness();
  try {
    h.fake.addAll([...generateCatalog({ updates: 5, seed: 1 }).documents].map((d) => d.xml));
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const open = h.fake.opener();
    const slow = h.service({ owner: 'first-owner', openSession: async (o) => { await gate; return open(o); } });
    const first = slow.run({ trigger: 'schedule' });
    await new Promise((r) => setImmediate(r));
    await assert.rejects(h.service({ owner: 'second-owner' }).run({ trigger: 'cli' }), (e: unknown) =>
      e instanceof DomainError && e.code === 'Conflict' && /sync is already running: first-owner \(pid \d+/.test(e.message));
    release();
    assert.equal((await first).state, 'succeeded');
    // released: the next one runs
    assert.equal((await h.service({ owner: 'second-owner' }).run({ trigger: 'cli' })).state, 'succeeded');
  } finally {
    h.close();
  }
});

test('a lock left by a killed process is taken over and its run becomes interrupted', async () => {
  const h = harness();
  try {
    h.fake.addAll([...generateCatalog({ updates: 5, seed: 1 }).documents].map((d) => d.xml));
    const runs = createSyncRunsStore(h.db);
    const locks = createJobLocksStore(h.db);
    const pid = deadPid();
    const t = new Date();
    const orphan = runs.start({ trigger: 'cli', upstream: 'http://upstream.test:8530', at: t, pid });
    runs.progress(orphan, 'updates', {}, t);
    locks.acquire('sync', 'killed-host:1:abc', pid, t, () => true);
    const r = await h.service().run({ trigger: 'cli' });
    assert.equal(r.state, 'succeeded', r.error ?? '');
    const old = runs.byId(orphan)!;
    assert.equal(old.state, 'interrupted');
    assert.match(old.error!, new RegExp(`pid ${pid}\\) stopped during phase updates`));
    assert.equal(locks.holder('sync'), undefined, 'released after the run');

    // a live pid whose heartbeat stopped more than 60 s ago (a hung process) is taken over too
    locks.acquire('sync', 'hung-owner', process.pid, new Date(Date.now() - 120_000), () => true);
    assert.equal((await h.service().run({ trigger: 'cli' })).state, 'succeeded');
    // but not one that beats
    locks.acquire('sync', 'busy-owner', process.pid, new Date(), () => true);
    await assert.rejects(h.service().run({ trigger: 'cli' }), /busy-owner/);
  } finally {
    h.close();
  }
});

test('a sync that loses its lock (taken over after stalling) stops', async () => {
  const h = harness();
  try {
    h.fake.addAll([...generateCatalog({ updates: 5, seed: 1 }).documents].map((d) => d.xml));
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const open = h.fake.opener();
    const svc = h.service({ lockTiming: { heartbeatMs: 10 }, openSession: async (o) => { await gate; return open(o); } });
    const running = svc.run({ trigger: 'cli' });
    await new Promise((r) => setTimeout(r, 5));
    createJobLocksStore(h.db).acquire('sync', 'thief', process.pid, new Date(), () => true);
    await new Promise((r) => setTimeout(r, 40));
    release();
    const r = await running;
    assert.equal(r.state, 'interrupted');
    assert.match(r.error!, /lost the job lock/);
  } finally {
    h.close();
  }
});

function fakeTimers(): SchedulerTimers & { pending: Array<{ fn: () => void; ms: number }> } {
  const pending: Array<{ fn: () => void; ms: number }> = [];
  return {
    pending,
    set(fn, ms) { const t = { fn, ms }; pending.push(t); return t; },
    clear(h) { const i = pending.indexOf(h as { fn: () => void; ms: number }); if (i >= 0) pending.splice(i, 1); },
  };
}

test('scheduler: arms the next slot with jitter, runs with trigger schedule, re-arms, stop aborts', async () => {
  const tmp = tempDataDir();
  try {
    const config = testConfig(tmp.dir, { sync: { schedule: { firstSyncTime: '03:00', perDay: 2, jitterMinutes: 10 } } });
    let now = new Date(2024, 5, 1, 2, 0);
    const timers = fakeTimers();
    const seen: SyncRunOptions[] = [];
    const planned: Array<Date | null> = [];
    let finish!: () => void;
    const run = async (o: SyncRunOptions): Promise<SyncRunResult> => {
      seen.push(o);
      await new Promise<void>((r) => { finish = r; o.signal?.addEventListener('abort', () => r()); });
      return { state: o.signal?.aborted ? 'interrupted' : 'succeeded' } as SyncRunResult;
    };
    const s = createSyncScheduler({ config, run, clock: () => now, random: () => 0.5, log: quietLog, timers, onScheduled: (d) => planned.push(d) });
    s.start();
    assert.equal(timers.pending.length, 1);
    assert.equal(timers.pending[0]!.ms, 65 * 60_000, '03:00 + 5 min jitter, from 02:00');
    assert.equal(s.nextRunAt()!.getTime(), new Date(2024, 5, 1, 3, 5).getTime());
    now = new Date(2024, 5, 1, 3, 5);
    timers.pending.shift()!.fn();
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.trigger, 'schedule');
    now = new Date(2024, 5, 1, 3, 20);
    finish();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.equal(timers.pending.length, 1, 're-armed after the run');
    assert.equal(s.nextRunAt()!.getTime(), new Date(2024, 5, 1, 15, 5).getTime());
    // a run in progress is aborted by stop()
    now = new Date(2024, 5, 1, 15, 5);
    timers.pending.shift()!.fn();
    await s.stop();
    assert.equal(seen[1]!.signal!.aborted, true);
    assert.equal(timers.pending.length, 0);
    assert.equal(planned.at(-1), null);
  } finally {
    tmp.cleanup();
  }
});

test('scheduler without a schedule does nothing', async () => {
  const tmp = tempDataDir();
  try {
    const timers = fakeTimers();
    const s = createSyncScheduler({ config: testConfig(tmp.dir), run: async () => { throw new Error('no'); }, clock: () => new Date(), random: Math.random, log: quietLog, timers });
    s.start();
    assert.equal(timers.pending.length, 0);
    assert.equal(s.nextRunAt(), null);
    await s.stop();
  } finally {
    tmp.cleanup();
  }
});
