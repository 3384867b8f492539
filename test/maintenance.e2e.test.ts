import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateCatalog, type GeneratedDocument } from '../src/fixtures/catalog-generator.js';
import type { CleanupRunResult, RulesRunResult } from '../src/services/maintenance/maintenance-types.js';
import type { RuleChange, RuleView } from '../src/services/maintenance/rules-admin.service.js';
import type { MaintenanceStatus } from '../src/services/maintenance/maintenance.js';
import type { MaintenanceRunRow } from '../src/store/maintenance-runs.store.js';
import { cliFor, json } from './support/admin-cli.js';
import { importInto, withServer } from './support/test-server.js';
import { WuaClient } from './support/wua-client.js';

// `wsus rules` and `wsus cleanup` as processes against a running server: rules made, dry-run,
// applied and audited; a client that cached revisions cleanup removes gets them back as
// OutOfScope and takes the current ones; history and status; bad input exits with the
// documented codes and changes nothing.

const catalog = generateCatalog({ updates: 40, seed: 3 });
const docs = [...catalog.documents];
/** the newest revision of each update is held back: imported after the client scanned */
const latest = new Map<string, GeneratedDocument>();
for (const d of docs) if ((latest.get(d.updateId)?.revisionNumber ?? -1) < d.revisionNumber) latest.set(d.updateId, d);
const revised = new Set(docs.filter((d) => latest.get(d.updateId) !== d).map((d) => d.updateId));
const firstImport = docs.filter((d) => !revised.has(d.updateId) || latest.get(d.updateId) !== d);
const heldBack = docs.filter((d) => revised.has(d.updateId) && latest.get(d.updateId) === d);
const asSources = (list: GeneratedDocument[]) => list.map((d) => ({ name: d.fileName, read: () => d.xml }));

/**
 * The CLI process. Until src/cli/main.ts dispatches `rules` and `cleanup`, a stand-in entry runs
 * the same commands with main.ts's exit codes; with the main.ts lines in, point this at
 * dist/src/cli/main.js.
 */

test('rules and cleanup through the CLI: approve by rule, remove old revisions a client cached (OutOfScope), history, audit', async () => {
  assert.ok(heldBack.length >= 2, 'the catalog has revised updates');
  const settings = { maintenance: { schedule: null, unusedRevisionDays: 0, batchSize: 3 } };
  await withServer(settings, (config) => {
    assert.equal(importInto(config, asSources(firstImport)).failed, 0);
  }, async (server, config) => {
    const wsus = cliFor(server);
    const db = server.db;
    const approvals = () => (db.prepare('SELECT count(*) AS n FROM approvals').get() as { n: number }).n;

    // The seeded decline rules are there; an approval rule for every update, to All Computers.
    const listed = json<{ rules: RuleView[] }>(await wsus('rules', 'list', '--json'));
    assert.deepEqual(listed.rules.map((r) => r.name), ['Expired updates', 'Superseded updates not needed for 30 days']);
    const human = await wsus('rules', 'list');
    assert.match(human.stdout, /decline +on +Expired updates\n {8}expired/);
    const added = json<RuleChange>(await wsus('rules', 'add', 'approval', 'Everything', '--group', 'All Computers', '--deadline-days', '7', '--json'));
    assert.equal(added.rule.description, 'every update → Install for All Computers, deadline 7 day(s) after approval');
    assert.equal((await wsus('rules', 'disable', 'Expired updates')).status, 0);
    assert.equal((await wsus('rules', 'disable', '2')).status, 0);

    const dry = json<RulesRunResult>(await wsus('rules', 'run', '--dry-run', '--json'));
    assert.ok(dry.approved.count > 10, `planned ${dry.approved.count}`);
    assert.equal(approvals(), 0, 'a dry run changes nothing');
    const run = await wsus('rules', 'run');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^rules run \\d+: 0 declined, ${dry.approved.count} approved`));
    assert.equal(approvals(), dry.approved.count);

    // A client scans and caches what it is offered (the revisions imported so far).
    const client = new WuaClient(server.url, '0a7c2f3e-1111-4222-8333-944455556666');
    await client.handshake();
    await client.fullScan();
    const cachedRevisionIds = new Set(client.received.keys());
    const oldIds = (db.prepare(
      `SELECT r.id FROM revisions r JOIN updates u ON u.id = r.update_pk WHERE u.update_id IN (${[...revised].map(() => '?').join(',')})`,
    ).all(...revised) as Array<{ id: number }>).map((r) => r.id);
    const cachedOld = oldIds.filter((id) => cachedRevisionIds.has(id));
    assert.ok(cachedOld.length >= 1, 'the client holds revisions that will become old');

    // Newer revisions arrive; cleanup removes the old ones (dry run first) before the client scans again.
    assert.equal(importInto(config, asSources(heldBack)).failed, 0);
    const preview = json<CleanupRunResult>(await wsus('cleanup', '--dry-run', '--only', 'unused-revisions', '--json'));
    assert.equal(preview.dryRun, true);
    const removable = preview.counts['unused-revisions']!.candidates;
    assert.ok(removable >= 1);
    const revisionsBefore = (db.prepare('SELECT count(*) AS n FROM revisions').get() as { n: number }).n;
    const done = await wsus('cleanup', '--only', 'unused-revisions');
    assert.equal(done.status, 0, done.stderr);
    assert.match(done.stdout, new RegExp(`cleanup succeeded .*\\n  unused-revisions: ${removable} of ${removable} removed`));
    assert.equal((db.prepare('SELECT count(*) AS n FROM revisions').get() as { n: number }).n, revisionsBefore - removable);
    // An old member revision pinned only by an old bundle revision is freed once that one is gone: the next run.
    const again = json<CleanupRunResult>(await wsus('cleanup', '--only', 'unused-revisions', '--json'));
    assert.equal(again.state, 'succeeded');
    const oldLeft = (db.prepare('SELECT count(*) AS n FROM revisions r JOIN updates u ON u.id = r.update_pk WHERE r.id <> u.current_revision_id').get() as { n: number }).n;
    assert.equal(oldLeft, 0, 'every old revision removed after two runs');
    for (const id of cachedOld) assert.equal(db.prepare('SELECT id FROM revisions WHERE id = ?').get(id), undefined, `revision ${id} removed`);

    const page = await client.syncPage();
    for (const id of cachedOld) assert.ok(page.outOfScope.includes(id), `cached revision ${id} comes back as OutOfScope`);
    await client.fullScan();
    const currentIds = new Set((db.prepare('SELECT current_revision_id AS id FROM updates').all() as Array<{ id: number }>).map((r) => r.id));
    for (const id of client.received.keys()) assert.ok(currentIds.has(id), `the client holds only current revisions (${id})`);
    assert.ok([...client.received.values()].some((u) => u.deadline !== null), 'rule deadlines reach the client');

    // History, status, audit.
    const history = json<{ runs: MaintenanceRunRow[] }>(await wsus('cleanup', 'history', '--json'));
    assert.deepEqual(history.runs.map((r) => `${r.job}:${r.dryRun}:${r.state}`), ['cleanup:false:succeeded', 'cleanup:false:succeeded', 'cleanup:true:succeeded', 'rules:false:succeeded', 'rules:true:succeeded']);
    assert.equal(history.runs[0]!.actor, 'test-admin');
    const status = json<MaintenanceStatus>(await wsus('cleanup', 'status', '--json'));
    assert.equal(status.schedule, null);
    assert.equal(status.last.cleanup?.state, 'succeeded');
    const audited = server.adminDeps.audit.query({ limit: 50 }).map((a) => `${a.action}${a.dryRun ? '(dry)' : ''}`);
    for (const a of ['rules.create', 'rules.update', 'rules.run(dry)', 'rules.run', 'cleanup.run(dry)', 'cleanup.run']) assert.ok(audited.includes(a), `${a} audited: ${audited.join(' ')}`);
  });
});

test('bad input exits with the documented codes and changes nothing; reporters cannot change rules; a replica refuses rules', async () => {
  await withServer({ maintenance: { schedule: null } }, () => {}, async (server) => {
    const wsus = cliFor(server);
    const reporter = cliFor(server, 'reporter');
    const count = () => (server.db.prepare('SELECT count(*) AS n FROM maintenance_rules').get() as { n: number }).n;
    const before = count();
    const cases: Array<[string[], number, RegExp]> = [
      [['rules', 'add', 'approval', 'No group'], 2, /needs --group/],
      [['rules', 'add', 'approval', 'X', '--group', 'Nobody'], 3, /group "Nobody" not found/],
      [['rules', 'add', 'approval', 'X', '--group', 'All Computers', '--classification', 'No Such'], 3, /classification "No Such"/],
      [['rules', 'add', 'decline', 'Y', '--expired', '--superseded'], 2, /exactly one of/],
      [['rules', 'add', 'decline', 'Y', '--title', '/(/'], 2, /bad regular expression/],
      [['rules', 'add', 'decline', 'Expired updates', '--expired'], 4, /already exists/],
      [['rules', 'remove', 'Nope'], 3, /not found/],
      [['rules', 'frob'], 2, /unknown rules command/],
      [['cleanup', '--only', 'bogus'], 2, /unknown cleanup step "bogus"/],
    ];
    for (const [args, code, message] of cases) {
      const r = await wsus(...args);
      assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
    const forbidden = await reporter('rules', 'run', '--dry-run');
    assert.equal(forbidden.status, 5);
    assert.equal((await reporter('rules', 'list')).status, 0, 'reporters read');
    assert.equal(count(), before);
  });
  await withServer({ maintenance: { schedule: null }, sync: { mode: 'replica', upstream: 'http://parent.lab.invalid:8530' } }, () => {}, async (server) => {
    const wsus = cliFor(server);
    const r = await wsus('rules', 'add', 'approval', 'X', '--group', 'All Computers');
    assert.equal(r.status, 4);
    assert.match(r.stderr, /replica of http:\/\/parent\.lab\.invalid:8530/);
    assert.equal((await wsus('rules', 'run')).status, 4);
    const c = await wsus('cleanup', '--dry-run', '--json');
    assert.equal(c.status, 0, c.stderr);
    assert.match(json<CleanupRunResult>(c).counts.expired!.skipped ?? '', /replica/);
  });
});
