import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateCatalog, type GeneratedDocument } from '../src/fixtures/catalog-generator.js';
import { CLASSIFICATION_IDS } from '../src/fixtures/well-known-ids.js';
import { createMaintenance } from '../src/services/maintenance/maintenance.js';
import { createMaintenanceScheduler } from '../src/services/maintenance/maintenance-scheduler.js';
import { createJobRegistry, JobRegistryError } from '../src/services/jobs/job-registry.js';
import type { SchedulerTimers } from '../src/services/sync/sync-scheduler.js';
import { createSyncService } from '../src/services/sync/sync.service.js';
import { createJobLocksStore } from '../src/store/job-locks.store.js';
import { loadServerIdentity } from '../src/store/server-identity.store.js';
import { createUpstreamDispatcher } from '../src/upstream/upstream-dispatcher.js';
import { openUpstreamSession } from '../src/upstream/upstream-session.js';
import { downstreamSettings, importGenerated, startUpstream, writeConfigJson } from './support/sync-loopback.js';
import { adminHandle, quietLog, tempDataDir, testConfig } from './support/test-server.js';

// Rules after every sync, against an upstream of ours over HTTP: the downstream's sync service
// is wired the way the server wires it (onSynced → maintenance.afterSync) and runs through the
// job registry. New updates matching a rule are approved; what an admin unapproved is not
// approved again by a sync that brought nothing new for it. And the daily schedule, the registry.

const SEC = CLASSIFICATION_IDS.securityUpdates;

test('approval rules apply to what each sync brings (and only that); the history names the sync as trigger', async () => {
  const catalog = generateCatalog({ updates: 40, seed: 3 });
  const docs = [...catalog.documents];
  // Two standalone security updates reach the upstream only later.
  const laterIds = [...new Set(docs.filter((d) => d.kind === 'standalone' && d.xml.includes(SEC)).map((d) => d.updateId))].slice(0, 2);
  assert.equal(laterIds.length, 2);
  const later = docs.filter((d) => laterIds.includes(d.updateId));
  const upstream = await startUpstream(docs.filter((d) => !laterIds.includes(d.updateId)), 50);
  const tmp = tempDataDir();
  try {
    const settings = { ...downstreamSettings(upstream.url), maintenance: { schedule: null } };
    writeConfigJson(tmp.dir, settings);
    const config = testConfig(tmp.dir, settings);
    const h = adminHandle(config);
    const dispatcher = createUpstreamDispatcher(config.sync);
    const clock = () => new Date();
    try {
      // Wired as src/app/server.ts wires it.
      const maintenance = createMaintenance({
        db: h.db, config, targeting: h.targeting, content: null, log: quietLog, clock,
        sync: { run: (o) => sync.run(o) },
      });
      const sync = createSyncService({
        db: h.db, config, catalog: h.catalog, contentStore: null, replica: null, openSession: openUpstreamSession, dispatcher,
        serverId: loadServerIdentity(h.db, clock()).serverId, log: quietLog, clock, onSynced: (r) => maintenance.afterSync(r),
      });
      h.targeting.createGroup('Pilot', undefined, clock());
      // Made before the first sync: the classification is known by its GUID only (a warning).
      const made = maintenance.rules.create({ kind: 'approval', name: 'Security to Pilot', classifications: [SEC], groups: ['Pilot'] });
      assert.equal(made.warnings.length, 1);

      const approvedIds = () => (h.db.prepare(
        "SELECT u.update_id AS id FROM approvals a JOIN updates u ON u.id = a.update_pk WHERE a.approved_by = 'rule:Security to Pilot' ORDER BY 1",
      ).all() as Array<{ id: string }>).map((r) => r.id);
      const security = () => (h.db.prepare(
        `SELECT u.update_id AS id FROM updates u JOIN revisions r ON r.id = u.current_revision_id
          WHERE r.explicitly_deployable = 1 AND r.update_type = 'Software' AND u.declined = 0 AND r.publication_state <> 'Expired'
            AND EXISTS (SELECT 1 FROM revision_categories c WHERE c.revision_id = r.id AND c.category_update_id = ?) ORDER BY 1`,
      ).all(SEC) as Array<{ id: string }>).map((r) => r.id);

      const first = await maintenance.jobs.run('sync', { trigger: 'cli' });
      assert.equal(first.state, 'succeeded', first.error ?? '');
      const expected = security();
      assert.ok(expected.length > 3);
      assert.deepEqual(approvedIds(), expected);
      // The seeded "Expired updates" rule ran too.
      assert.equal((h.db.prepare(
        "SELECT count(*) AS n FROM updates u JOIN revisions r ON r.id = u.current_revision_id WHERE r.publication_state = 'Expired' AND r.explicitly_deployable = 1 AND u.declined = 0",
      ).get() as { n: number }).n, 0);

      // The admin takes one approval back; a sync that brings nothing new leaves it so.
      const taken = expected[0]!;
      assert.ok(h.targeting.unapprove(taken, 'Pilot', clock()));
      await maintenance.jobs.run('sync', { trigger: 'cli' });
      assert.deepEqual(approvedIds(), expected.slice(1));

      // New security updates reach the upstream: the next sync approves exactly those.
      importGenerated(upstream.config, later);
      const third = await maintenance.jobs.run('sync', { trigger: 'cli' });
      assert.equal(third.state, 'succeeded', third.error ?? '');
      assert.deepEqual(approvedIds(), [...expected.slice(1), ...laterIds].sort());

      const runs = maintenance.history(10, 'rules');
      assert.deepEqual(runs.map((r) => `${r.trigger}:${r.state}:${String(r.counts.approved)}`), ['sync:succeeded:2', 'sync:succeeded:0', `sync:succeeded:${expected.length}`]);
    } finally {
      await dispatcher.close();
      h.close();
    }
  } finally {
    tmp.cleanup();
    await upstream.close();
  }
});

test('the daily cleanup schedule: planned at the configured local time plus jitter, runs, re-plans, stop aborts a running cleanup', async () => {
  let now = new Date(2026, 5, 1, 10, 0, 0);
  const timers: Array<{ fn: () => void; ms: number }> = [];
  const fake: SchedulerTimers = { set: (fn, ms) => { timers.push({ fn, ms }); return timers.length; }, clear: () => {} };
  const started: AbortSignal[] = [];
  let finish!: (v: { state: string; error: null; runId: number }) => void;
  const planned: Array<Date | null> = [];
  const s = createMaintenanceScheduler({
    schedule: { time: '04:00', jitterMinutes: 30 }, clock: () => now, random: () => 0.5, log: quietLog, timers: fake,
    onScheduled: (at) => planned.push(at),
    run: (signal) => {
      started.push(signal);
      return new Promise((r) => { finish = r; });
    },
  });
  s.start();
  assert.equal(s.nextRunAt()?.getTime(), new Date(2026, 5, 2, 4, 15, 0).getTime());
  assert.equal(timers[0]!.ms, 18 * 3600_000 + 15 * 60_000);
  now = new Date(2026, 5, 2, 4, 15, 0);
  timers[0]!.fn();
  assert.equal(started.length, 1);
  finish({ state: 'succeeded', error: null, runId: 1 });
  await new Promise((r) => setImmediate(r));
  assert.equal(s.nextRunAt()?.getTime(), new Date(2026, 5, 3, 4, 15, 0).getTime(), 're-planned for the next day');
  timers[1]!.fn();
  const stopping = s.stop();
  assert.equal(started[1]!.aborted, true, 'stop aborts the running cleanup');
  finish({ state: 'interrupted', error: null, runId: 2 });
  await stopping;
  assert.equal(s.nextRunAt(), null);
  assert.deepEqual(planned.map((p) => p && p.getDate()), [2, 3, null]);

  // No schedule: nothing planned.
  const none = createMaintenanceScheduler({ schedule: null, clock: () => now, random: Math.random, log: quietLog, timers: fake, run: () => Promise.reject(new Error('never')) });
  none.start();
  assert.equal(none.nextRunAt(), null);
});

test('the job registry refuses a table with a missing handler; a started server-side schedule shows in the status', async () => {
  const tmp = tempDataDir();
  try {
    const config = testConfig(tmp.dir, { maintenance: { schedule: { time: '03:30', jitterMinutes: 0 } } });
    const h = adminHandle(config);
    try {
      const locks = createJobLocksStore(h.db);
      assert.throws(() => createJobRegistry<{ a: { options: object; result: number }; b: { options: object; result: number } }>(
        { locks, log: quietLog, clock: () => new Date(), owner: 'test' }, ['a', 'b'],
        { a: { lock: 'registry', run: async () => 1 } } as never), (e: unknown) => e instanceof JobRegistryError && /without a handler: b/.test(e.message));
      const m = createMaintenance({
        db: h.db, config, targeting: h.targeting, content: null, log: quietLog, clock: () => new Date(),
        sync: { run: () => Promise.reject(new Error('no sync')) },
      });
      assert.equal(m.status().schedule?.nextSource, 'computed');
      m.scheduler.start();
      const status = m.status();
      assert.equal(status.schedule?.nextSource, 'scheduler');
      assert.equal(new Date(status.schedule!.next!).getHours(), 3);
      assert.equal(new Date(status.schedule!.next!).getMinutes(), 30);
      assert.deepEqual(status.jobs.map((j) => `${j.name}:${j.running === null}`), ['sync:true', 'cleanup:true', 'rules:true']);
      await m.scheduler.stop();
    } finally {
      h.close();
    }
  } finally {
    tmp.cleanup();
  }
});
