import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { createContentStore } from '../src/services/content-store.service.js';
import { createMaintenance } from '../src/services/maintenance/maintenance.js';
import { adminHandle, importInto, quietLog, tempDataDir, testConfig } from './support/test-server.js';
import {
  assertContentOnDisk, assertDatabaseSound, assertSameState, campaign, canonicalState, killAfter, wsus, wsusRun, writeServerConfig, copyDataDir } from './support/crash-harness.js';

// `kill -9` of `wsus cleanup --local` at random points while it declines, removes old
// revisions, deletes obsolete computers with their events and deletes the content files of
// declined updates: after every kill the database is sound and every file left in the store is
// whole; running cleanup again (until it has nothing left to do) ends exactly where cleanup
// runs without interruption end.

const CATALOG = generateCatalog({ updates: 100, seed: 83, fileSize: 8 * 1024 });
const SETTINGS = { contentOrphanGraceHours: 0, maintenance: { batchSize: 3, unusedRevisionDays: 0, obsoleteComputerDays: 1 } };
const DAY = 86_400_000;
/** progress lines of `wsus cleanup` on stderr: kill points in every step */
const MARKERS = ['cleanup: superseded', 'cleanup: expired', 'cleanup: unused revisions', 'cleanup: obsolete computers', 'cleanup: obsolete-computers'];
/** where kills wait: the content step (after obsolete-computers) twice as often */
const KILL_AT = [...MARKERS, 'cleanup: obsolete-computers'];

async function prepareTemplate(dir: string): Promise<void> {
  writeServerConfig(dir, SETTINGS);
  const config = testConfig(dir, SETTINGS);
  assert.equal(importInto(config, [...CATALOG.documents].map((d) => ({ name: d.fileName, read: () => d.xml }))).failed, 0);
  const h = adminHandle(config);
  const content = createContentStore({ db: h.db, dir: config.contentDir, log: quietLog, clock: () => new Date() });
  try {
    for (const f of CATALOG.contentFiles) await content.ingestStream(Readable.from([f.bytes()]), f.sha1Hex);
    const approvable = (h.db.prepare(`SELECT update_id AS id FROM update_summary WHERE update_type IN ('Software', 'Driver')
      AND explicitly_deployable = 1 ORDER BY update_id`).all() as Array<{ id: string }>).map((r) => r.id);
    // every third update declined: its files become unneeded content
    approvable.forEach((id, i) => { if (i % 3 === 0) h.targeting.setDeclined(id, true, new Date()); });
    // computers silent for weeks, with events, and a few recent ones that stay
    const insertComputer = h.db.prepare('INSERT INTO computers (client_id, dns_name, registered_at, last_sync_at) VALUES (?, ?, ?, ?)');
    const insertEvent = h.db.prepare(`INSERT INTO events (event_instance_id, client_id, event_id, namespace_id, source_id, update_id, revision_number,
      time_at_target, win32_hresult, app_name, replacement_strings, misc_data, received_at) VALUES (?, ?, 162, 1, 101, ?, 200, ?, 0, 'test', '[]', '[]', ?)`);
    h.db.transaction(() => {
      for (let i = 0; i < 40; i++) {
        const id = randomUUID();
        const at = new Date(Date.now() - (i % 4 === 0 ? 0.1 : 5 + i) * DAY).toISOString();
        insertComputer.run(id, `pc${i}.lab.invalid`, at, at);
        for (let e = 0; e < 40; e++) insertEvent.run(randomUUID(), id, '00000000-0000-0000-0000-000000000000', at, at);
      }
    })();
    // the files of the declined updates are marked now: the next run deletes them (grace 0)
    const maintenance = createMaintenance({
      db: h.db, config, targeting: h.targeting, content, log: quietLog, clock: () => new Date(), sync: { run: () => Promise.reject(new Error('no sync here')) },
    });
    const marked = await maintenance.jobs.run('cleanup', { trigger: 'cli', dryRun: false, only: ['unneeded-content'] });
    assert.ok(marked.counts['unneeded-content']!.marked > 20, 'files of declined updates marked');
    await maintenance.scheduler.stop();
  } finally {
    await content.close();
    h.close();
  }
}

/**
 * One `wsus cleanup` (the re-run an admin does), then in-process runs until one changes nothing
 * (grace 0: a file is marked by one run and deleted by the next). Returns the runs it took.
 */
async function cleanupToTheEnd(dir: string, tag: string): Promise<number> {
  const file = join(dir, 'wsus.db');
  const r = await wsusRun(['cleanup', '--local', '--data', dir, '--json']);
  assert.equal(r.code, 0, `${tag} cleanup: ${r.stderr}`);
  const config = testConfig(dir, SETTINGS);
  const h = adminHandle(config);
  const content = createContentStore({ db: h.db, dir: config.contentDir, log: quietLog, clock: () => new Date(), orphanGraceHours: 0 });
  const maintenance = createMaintenance({
    db: h.db, config, targeting: h.targeting, content, log: quietLog, clock: () => new Date(),
    sync: { run: () => Promise.reject(new Error('no sync here')) },
  });
  try {
    let before = JSON.stringify(canonicalState(file));
    for (let runs = 2; runs <= 6; runs++) {
      const run = await maintenance.jobs.run('cleanup', { trigger: 'cli', dryRun: false });
      assert.equal(run.state, 'succeeded', `${tag} run ${runs}: ${run.error ?? ''}`);
      const after = JSON.stringify(canonicalState(file));
      if (after === before) return runs;
      before = after;
    }
  } finally {
    await maintenance.scheduler.stop();
    await content.close();
    h.close();
  }
  assert.fail(`${tag} cleanup did not settle in 6 runs`);
}

test('kill -9 during wsus cleanup: sound after every kill, only whole files in the store, re-running ends as uninterrupted cleanup', async (t) => {
  const c = campaign(t, 'cleanup', 2);
  const template = tempDataDir();
  const dirs: Array<{ cleanup(): void }> = [template];
  try {
    await prepareTemplate(template.dir);
    const start = canonicalState(join(template.dir, 'wsus.db'));

    const refDir = copyDataDir(template.dir, dirs);
    const first = await wsusRun(['cleanup', '--local', '--data', refDir.dir, '--json']);
    assert.equal(first.code, 0, first.stderr);
    for (const m of MARKERS) assert.match(first.stderr, new RegExp(m), 'the progress lines the kill points wait for');
    const runs = await cleanupToTheEnd(refDir.dir, 'reference');
    const reference = canonicalState(join(refDir.dir, 'wsus.db'));
    assert.ok(reference.content!.length < start.content!.length, 'the reference deleted content');
    assert.ok(reference.computers!.length < start.computers!.length, 'the reference deleted computers');
    assert.ok(reference.revisions!.length < start.revisions!.length, 'the reference deleted revisions');
    c.note(`settled after ${runs + 1} runs: content ${start.content!.length} → ${reference.content!.length}, `
      + `computers ${start.computers!.length} → ${reference.computers!.length}, revisions ${start.revisions!.length} → ${reference.revisions!.length}`);

    for (let round = 1; round <= c.rounds; round++) {
      const dir = copyDataDir(template.dir, dirs);
      const file = join(dir.dir, 'wsus.db');
      const seen: string[] = [];
      for (let k = 1, kills = c.rng.int(2, 3); k <= kills; k++) {
        // a step's progress line (printed as it starts a batch, or as it ends), plus a little
        const marker = c.rng.pick(KILL_AT);
        const jitter = c.rng.int(0, 40);
        const at = `${marker} + ${jitter} ms`;
        const tag = c.tag(round, `kill ${k} at ${at}`);
        const run = wsus(['cleanup', '--local', '--data', dir.dir, '--json']);
        await run.waitForStderr(new RegExp(marker));
        const exit = await killAfter(run, jitter);
        if (exit.signal !== 'SIGKILL') {
          assert.equal(exit.code, 0, `${tag} ${exit.stderr}`);
          seen.push(`${at}: finished first`);
          continue;
        }
        assertDatabaseSound(file, tag);
        assertContentOnDisk(join(dir.dir, 'content'), tag);
        const now = canonicalState(file, ['content', 'computers', 'revisions', 'declined']);
        seen.push(`${at}: content ${now.content!.length}, computers ${now.computers!.length}, revisions ${now.revisions!.length}, declined ${now.declined!.length}`);
      }
      const tag = c.tag(round, 'rerun');
      await cleanupToTheEnd(dir.dir, tag);
      assertDatabaseSound(file, tag);
      assertContentOnDisk(join(dir.dir, 'content'), tag);
      assertSameState(canonicalState(file), reference, tag);
      const db = new Database(file, { readonly: true, fileMustExist: true });
      try {
        assert.equal((db.prepare('SELECT count(*) AS n FROM job_locks').get() as { n: number }).n, 0, `${tag} no lock left`);
        assert.equal((db.prepare("SELECT count(*) AS n FROM maintenance_runs WHERE state = 'running'").get() as { n: number }).n, 0, `${tag} no run left running`);
      } finally {
        db.close();
      }
      c.note(`round ${round}: ${seen.join('; ')}`);
    }
  } finally {
    for (const d of dirs) d.cleanup();
  }
});
