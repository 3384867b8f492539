import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DomainError } from '../src/core/errors.js';
import { CLASSIFICATION_IDS } from '../src/fixtures/well-known-ids.js';
import { readCounter } from '../src/store/server-identity.store.js';
import { maintenanceEnv, type MaintenanceEnv } from './support/maintenance-env.js';

// Store and service tier of automatic maintenance, on real SQLite with generated catalogs:
// dry runs change nothing; rules approve and decline exactly what their criteria say, through
// the targeting store; cleanup removes exactly the unused revisions, obsolete computers and
// unneeded content the rules define; one run of a job at a time; history of every run.

const SEC = CLASSIFICATION_IDS.securityUpdates;

/** Explicitly deployable software, not declined, not expired, whose current revision is a Security Update. */
function securityUpdates(e: MaintenanceEnv): string[] {
  return e.all<{ id: string }>(
    `SELECT u.update_id AS id FROM updates u JOIN revisions r ON r.id = u.current_revision_id
      WHERE r.update_type = 'Software' AND r.explicitly_deployable = 1 AND u.declined = 0 AND r.publication_state <> 'Expired'
        AND EXISTS (SELECT 1 FROM revision_categories rc WHERE rc.revision_id = r.id AND rc.category_update_id = ?) ORDER BY 1`, SEC,
  ).map((r) => r.id);
}

function addComputer(e: MaintenanceEnv, lastContactDaysAgo: number, events = 0): string {
  const id = randomUUID();
  const at = new Date(e.now.value.getTime() - lastContactDaysAgo * 86_400_000).toISOString();
  e.h.db.prepare('INSERT INTO computers (client_id, dns_name, registered_at, last_sync_at) VALUES (?, ?, ?, ?)').run(id, `${id.slice(0, 8)}.lab`, at, at);
  for (let i = 0; i < events; i++) addEvent(e, id, '00000000-0000-0000-0000-000000000000', at);
  return id;
}

function addEvent(e: MaintenanceEnv, clientId: string, updateId: string, at: string): void {
  e.h.db.prepare(
    `INSERT INTO events (event_instance_id, client_id, event_id, namespace_id, source_id, update_id, revision_number, time_at_target,
       win32_hresult, app_name, replacement_strings, misc_data, received_at) VALUES (?, ?, 162, 1, 101, ?, 200, ?, 0, 'test', '[]', '[]', ?)`,
  ).run(randomUUID(), clientId, updateId, at, at);
}

test('a dry run of rules and cleanup changes nothing, and says what a real run does', async () => {
  const e = await maintenanceEnv({ withContent: true });
  try {
    e.h.targeting.createGroup('Pilot', undefined, e.now.value);
    e.maintenance.rules.create({ kind: 'approval', name: 'Pilot security', classifications: ['Security Updates'], groups: ['Pilot'] });
    e.advance(45);
    addComputer(e, 60, 3);
    const before = e.snapshot();
    const rules = await e.maintenance.jobs.run('rules', { trigger: 'cli', dryRun: true, scope: 'all' });
    const cleanup = await e.maintenance.jobs.run('cleanup', { trigger: 'cli', dryRun: true });
    assert.equal(e.snapshot(), before, 'nothing changed');
    assert.equal(cleanup.state, 'succeeded', cleanup.error ?? '');
    assert.ok(rules.approved.count > 0 && rules.declined.count > 0, JSON.stringify({ a: rules.approved.count, d: rules.declined.count }));
    assert.ok(cleanup.counts.superseded!.declined + cleanup.counts.expired!.declined > 0);
    assert.ok(cleanup.counts['unused-revisions']!.candidates > 0);
    assert.equal(cleanup.counts['obsolete-computers']!.candidates, 1);
    assert.ok(cleanup.counts['unneeded-content']!.unneededFiles > 0);

    // The real runs do what the dry runs said.
    const real = await e.maintenance.jobs.run('cleanup', { trigger: 'cli', dryRun: false });
    assert.equal(real.state, 'succeeded', real.error ?? '');
    assert.equal(real.counts.superseded!.declined, cleanup.counts.superseded!.declined);
    assert.equal(real.counts.expired!.declined, cleanup.counts.expired!.declined);
    assert.equal(real.counts['unused-revisions']!.removed, cleanup.counts['unused-revisions']!.candidates);
    assert.equal(real.counts['obsolete-computers']!.removed, 1);
    assert.equal(real.counts['obsolete-computers']!.events, 3);
    assert.equal(real.counts['unneeded-content']!.marked, cleanup.counts['unneeded-content']!.marked);

    const history = e.maintenance.history(10);
    assert.deepEqual(history.map((h) => `${h.job}:${h.dryRun}:${h.state}`), ['cleanup:false:succeeded', 'cleanup:true:succeeded', 'rules:true:succeeded']);
    assert.equal((history[0]!.counts['obsolete-computers'] as { removed: number }).removed, 1);
  } finally {
    await e.close();
  }
});

test('approval rules approve exactly the matching updates through the targeting store, once; a declined update is never approved', async () => {
  const e = await maintenanceEnv({ updates: 60, seed: 5 });
  try {
    e.h.targeting.createGroup('Pilot', undefined, e.now.value);
    const expected = securityUpdates(e);
    assert.ok(expected.length > 3);
    // One of them is declined by the admin first: never approved by a rule.
    e.h.targeting.setDeclined(expected[0]!, true, e.now.value);
    const { rule, warnings } = e.maintenance.rules.create({
      kind: 'approval', name: 'Security to Pilot', classifications: ['security updates'], groups: ['pilot'], deadlineDays: 2,
    });
    assert.deepEqual(warnings, []);
    assert.deepEqual(rule.criteria, { classifications: [SEC], products: [], title: null, groups: [e.h.targeting.groupIdByName('Pilot')!], action: 'Install', deadlineDays: 2 });
    assert.match(rule.description, /^classification Security Updates → Install for Pilot, deadline 2 day/);
    // Only decline rules touch... nothing else: disable the seeded decline rules for this test.
    for (const r of e.maintenance.rules.list()) if (r.kind === 'decline') e.maintenance.rules.update(String(r.id), { enabled: false });

    const seqBefore = readCounter(e.h.db, 'change_seq');
    const run = await e.maintenance.jobs.run('rules', { trigger: 'cli', dryRun: false, scope: 'all' });
    assert.deepEqual(run.approved.items.map((a) => a.updateId).sort(), expected.slice(1));
    const rows = e.all<{ id: string; by: string; deadline: string }>(
      'SELECT u.update_id AS id, a.approved_by AS by, a.deadline FROM approvals a JOIN updates u ON u.id = a.update_pk ORDER BY 1');
    assert.deepEqual(rows.map((r) => r.id), expected.slice(1));
    assert.ok(rows.every((r) => r.by === 'rule:Security to Pilot' && Date.parse(r.deadline) - e.now.value.getTime() === 2 * 86_400_000));
    assert.ok(readCounter(e.h.db, 'change_seq') > seqBefore, 'clients and downstreams see the approvals');
    // A second run finds nothing new; removing the rule keeps its approvals.
    const again = await e.maintenance.jobs.run('rules', { trigger: 'cli', dryRun: false, scope: 'all' });
    assert.equal(again.approved.count, 0);
    e.maintenance.rules.remove('Security to Pilot');
    assert.equal(e.n('SELECT count(*) AS n FROM approvals'), expected.length - 1);
  } finally {
    await e.close();
  }
});

test('decline rules: expired, superseded and not needed (a recent client event keeps one), title, architecture', async () => {
  const e = await maintenanceEnv({ updates: 40, seed: 3 });
  try {
    const expired = e.all<{ id: string }>(
      `SELECT u.update_id AS id FROM updates u JOIN revisions r ON r.id = u.current_revision_id
        WHERE r.publication_state = 'Expired' AND r.explicitly_deployable = 1 ORDER BY 1`).map((r) => r.id);
    assert.ok(expired.length > 0);
    // Pattern rules (Processor rules read from the documents), as a dry run first.
    const arm = e.all<{ id: string; title: string }>(
      `SELECT u.update_id AS id, r.title FROM updates u JOIN revisions r ON r.id = u.current_revision_id
        WHERE r.explicitly_deployable = 1 AND r.update_type = 'Software' AND r.title LIKE '%arm64%' ORDER BY 1`);
    assert.ok(arm.length > 0);
    const noArm = e.maintenance.rules.create({ kind: 'decline', name: 'No ARM64', condition: 'architecture', architecture: 'arm64' }).rule;
    const dry = await e.maintenance.jobs.run('rules', { trigger: 'cli', dryRun: true, scope: 'all', ruleIds: [noArm.id] });
    assert.deepEqual(dry.declined.items.map((d) => d.updateId).sort(), arm.map((a) => a.id));
    e.maintenance.rules.remove('No ARM64');

    const r1 = await e.maintenance.jobs.run('rules', { trigger: 'cli', dryRun: false, scope: 'all' });
    // Nothing is superseded long enough yet: only the expired ones go.
    assert.deepEqual(r1.declined.items.map((d) => d.updateId).sort(), expired);
    assert.ok(r1.declined.items.every((d) => d.ruleName === 'Expired updates'));

    // 31 days later, superseded updates nobody needs are declined; one a client still reports on stays.
    e.advance(31);
    const superseded = e.all<{ id: string }>(
      `SELECT DISTINCT lower(j.value) AS id FROM updates s JOIN revisions cur ON cur.id = s.current_revision_id, json_each(cur.superseded_update_ids) j
        WHERE s.declined = 0 AND cur.publication_state <> 'Expired'`).map((r) => r.id)
      .filter((id) => e.n("SELECT count(*) AS n FROM updates u JOIN revisions r ON r.id = u.current_revision_id WHERE u.update_id = ? AND u.declined = 0 AND r.explicitly_deployable = 1", id) === 1);
    assert.ok(superseded.length > 2);
    const client = addComputer(e, 1);
    addEvent(e, client, superseded[0]!, new Date(e.now.value.getTime() - 5 * 86_400_000).toISOString());
    const r2 = await e.maintenance.jobs.run('rules', { trigger: 'cli', dryRun: false, scope: 'all' });
    assert.deepEqual(r2.declined.items.map((d) => d.updateId).sort(), superseded.slice(1).sort());
    assert.equal(e.n('SELECT declined AS n FROM updates WHERE update_id = ?', superseded[0]), 0);

  } finally {
    await e.close();
  }
});

test('cleanup removes exactly the unused revisions (never current, never pinned), incrementally, and bumps the catalog generation', async () => {
  const e = await maintenanceEnv({ updates: 120, seed: 7, settings: { maintenance: { batchSize: 2 } } });
  try {
    const old = () => e.all<{ id: number; u: string; n: number }>(
      `SELECT r.id, u.update_id AS u, r.revision_number AS n FROM revisions r JOIN updates u ON u.id = r.update_pk
        WHERE r.id <> u.current_revision_id ORDER BY r.id`);
    const pinned = () => new Set(e.all<{ k: string }>(
      `SELECT DISTINCT lower(json_extract(b.value, '$.updateId')) || ':' || json_extract(b.value, '$.revisionNumber') AS k
         FROM revisions r, json_each(r.bundled_updates) b`).map((r) => r.k));
    const before = old();
    assert.ok(before.length >= 3, `old revisions: ${before.length}`);
    // Not old enough yet (the current revisions arrived just now).
    const early = await e.maintenance.jobs.run('cleanup', { trigger: 'cli', dryRun: false, only: ['unused-revisions'] });
    assert.equal(early.counts['unused-revisions']!.candidates, 0);

    e.advance(31);
    const gen = readCounter(e.h.db, 'catalog_generation');
    const expectGone = before.filter((r) => !pinned().has(`${r.u}:${r.n}`));
    const r = await e.maintenance.jobs.run('cleanup', { trigger: 'cli', dryRun: false, only: ['unused-revisions'] });
    assert.equal(r.counts['unused-revisions']!.removed, expectGone.length);
    assert.equal(r.counts['unused-revisions']!.batches, Math.ceil(expectGone.length / 2));
    const left = old();
    assert.deepEqual(left.map((x) => x.id), before.filter((x) => !expectGone.includes(x)).map((x) => x.id));
    assert.ok(readCounter(e.h.db, 'catalog_generation') > gen);
    assert.equal(e.n(`SELECT count(*) AS n FROM files WHERE revision_id IN (${expectGone.map((x) => x.id).join(',') || 0})`), 0, 'files cascade');
    assert.equal(e.n('SELECT count(*) AS n FROM updates u LEFT JOIN revisions r ON r.id = u.current_revision_id WHERE r.id IS NULL'), 0, 'every current revision kept');
    // A revision pinned only by a bundle revision removed now is freed by the next run.
    const next = await e.maintenance.jobs.run('cleanup', { trigger: 'cli', dryRun: false, only: ['unused-revisions'] });
    const stillPinned = pinned();
    assert.ok(old().every((x) => stillPinned.has(`${x.u}:${x.n}`)), 'what remains is pinned');
    assert.equal(next.counts['unused-revisions']!.removed, left.length - old().length);
  } finally {
    await e.close();
  }
});

test('cleanup: obsolete computers (and their events) by last contact; unneeded content of declined updates after the grace period', async () => {
  const e = await maintenanceEnv({ withContent: true, settings: { maintenance: { batchSize: 1, obsoleteComputerDays: 10 } } });
  try {
    const keep = addComputer(e, 9, 2);
    const gone = [addComputer(e, 11, 3), addComputer(e, 400, 1)];
    // A computer that registered long ago but reported yesterday stays.
    const reporter = addComputer(e, 100);
    e.h.db.prepare('UPDATE computers SET last_report_at = ? WHERE client_id = ?').run(new Date(e.now.value.getTime() - 86_400_000).toISOString(), reporter);
    const r = await e.maintenance.jobs.run('cleanup', { trigger: 'cli', dryRun: false, only: ['obsolete-computers'] });
    assert.deepEqual({ removed: r.counts['obsolete-computers']!.removed, events: r.counts['obsolete-computers']!.events }, { removed: 2, events: 4 });
    assert.deepEqual(e.all<{ c: string }>('SELECT client_id AS c FROM computers ORDER BY 1').map((x) => x.c), [keep, reporter].sort());
    assert.equal(e.n('SELECT count(*) AS n FROM events WHERE client_id IN (?, ?)', gone[0], gone[1]), 0);
    assert.equal(e.n('SELECT count(*) AS n FROM events WHERE client_id = ?', keep), 2);

    // Decline a standalone update with files only it uses: its files go, after the grace period.
    const own = e.one<{ id: string; sha: string }>(
      `SELECT u.update_id AS id, f.sha1_hex AS sha FROM updates u JOIN revisions r ON r.id = u.current_revision_id JOIN files f ON f.revision_id = r.id
        WHERE r.explicitly_deployable = 1 AND r.bundled_updates = '[]' AND u.declined = 0 AND r.publication_state <> 'Expired'
          AND (SELECT count(*) FROM files f2 WHERE f2.sha1_hex = f.sha1_hex) = 1 LIMIT 1`);
    const live = e.one<{ sha: string }>(
      `SELECT f.sha1_hex AS sha FROM updates u JOIN revisions r ON r.id = u.current_revision_id JOIN files f ON f.revision_id = r.id
        WHERE r.explicitly_deployable = 1 AND r.bundled_updates = '[]' AND u.declined = 0 AND r.publication_state <> 'Expired' AND u.update_id <> ? LIMIT 1`, own.id);
    e.h.targeting.setDeclined(own.id, true, e.now.value);
    const c1 = await e.maintenance.jobs.run('cleanup', { trigger: 'cli', dryRun: false, only: ['unneeded-content'] });
    assert.ok(c1.counts['unneeded-content']!.unneededFiles >= 1);
    assert.equal(c1.counts['unneeded-content']!.deleted, 0, 'first seen: marked only');
    assert.ok(e.content.locate(own.sha), 'still served during the grace period');
    e.advance(1 / 12); // 2 h > contentOrphanGraceHours (1)
    const c2 = await e.maintenance.jobs.run('cleanup', { trigger: 'cli', dryRun: false, only: ['unneeded-content'] });
    assert.ok(c2.counts['unneeded-content']!.deleted >= 1);
    assert.equal(e.content.locate(own.sha), undefined);
    assert.ok(e.content.locate(live.sha), 'files of live updates stay');
    // Undeclining makes it needed again: the mark is cleared, the file would be fetched again on demand.
    e.h.targeting.setDeclined(own.id, false, e.now.value);
    const c3 = await e.maintenance.jobs.run('cleanup', { trigger: 'cli', dryRun: true, only: ['unneeded-content'] });
    assert.equal(c3.counts['unneeded-content']!.deleted, 0);
  } finally {
    await e.close();
  }
});

test('one run of a job at a time (Conflict names the holder); an interrupted cleanup keeps its batches and the next run continues', async () => {
  let release: (() => void) | null = null;
  let paused = 0;
  const e = await maintenanceEnv({
    updates: 120, seed: 7, settings: { maintenance: { batchSize: 1 } },
    yieldToEventLoop: () => new Promise<void>((r) => {
      paused++;
      if (paused === 2) release = r;
      else setImmediate(r);
    }),
  });
  try {
    e.advance(31);
    const total = e.n('SELECT count(*) AS n FROM revisions r JOIN updates u ON u.id = r.update_pk WHERE r.id <> u.current_revision_id');
    const controller = new AbortController();
    const first = e.maintenance.jobs.run('cleanup', { trigger: 'cli', dryRun: false, only: ['unused-revisions'], signal: controller.signal });
    while (!release) await new Promise((r) => setImmediate(r));
    await assert.rejects(e.maintenance.jobs.run('cleanup', { trigger: 'cli', dryRun: true }),
      (err: unknown) => err instanceof DomainError && err.code === 'Conflict' && /cleanup is already running/.test(err.message));
    assert.equal(e.maintenance.status().jobs.find((j) => j.name === 'cleanup')!.running?.pid, process.pid);
    controller.abort(new Error('stop for the test'));
    (release as unknown as () => void)();
    const r = await first;
    assert.equal(r.state, 'interrupted');
    const left = e.n('SELECT count(*) AS n FROM revisions r JOIN updates u ON u.id = r.update_pk WHERE r.id <> u.current_revision_id');
    assert.ok(left < total && left > 0, `some removed before the interruption (${total} → ${left})`);
    const next = await e.maintenance.jobs.run('cleanup', { trigger: 'cli', dryRun: false, only: ['unused-revisions'] });
    assert.equal(next.state, 'succeeded');
    assert.ok(next.counts['unused-revisions']!.removed > 0);
    assert.deepEqual(e.maintenance.history(5).map((h) => h.state), ['succeeded', 'interrupted']);
  } finally {
    await e.close();
  }
});

test('replica: rules are refused (listing works), cleanup skips the decline steps', async () => {
  const e = await maintenanceEnv({ settings: { sync: { mode: 'replica', upstream: 'http://upstream.lab.invalid:8530' } } });
  try {
    e.h.targeting.createGroup('Pilot', undefined, e.now.value);
    assert.throws(() => e.maintenance.rules.create({ kind: 'approval', name: 'x', groups: ['Pilot'] }),
      (err: unknown) => err instanceof DomainError && err.code === 'Conflict' && /replica/.test(err.message));
    await assert.rejects(e.maintenance.jobs.run('rules', { trigger: 'cli', dryRun: true, scope: 'all' }),
      (err: unknown) => err instanceof DomainError && err.code === 'Conflict');
    assert.equal(e.maintenance.rules.list().length, 2);
    e.maintenance.rules.update('Expired updates', { enabled: false });
    e.advance(40);
    const before = e.n('SELECT count(*) AS n FROM updates WHERE declined = 1');
    const r = await e.maintenance.jobs.run('cleanup', { trigger: 'cli', dryRun: false });
    assert.equal(r.state, 'succeeded');
    assert.match(r.counts.superseded!.skipped ?? '', /replica/);
    assert.equal(e.n('SELECT count(*) AS n FROM updates WHERE declined = 1'), before);
    assert.equal(await e.maintenance.afterSync({ state: 'succeeded' } as never), null);
  } finally {
    await e.close();
  }
});

test('rule admin: names or GUIDs resolve, bad input is refused and changes nothing', async () => {
  const e = await maintenanceEnv();
  try {
    const code = (fn: () => unknown): string => {
      try {
        fn();
        return 'ok';
      } catch (err) {
        return err instanceof DomainError ? err.code : String(err);
      }
    };
    e.h.targeting.createGroup('Pilot', undefined, e.now.value);
    const n = e.maintenance.rules.list().length;
    assert.equal(code(() => e.maintenance.rules.create({ kind: 'approval', name: 'a', classifications: ['No Such Class'], groups: ['Pilot'] })), 'NotFound');
    assert.equal(code(() => e.maintenance.rules.create({ kind: 'approval', name: 'a', groups: ['Nobody'] })), 'NotFound');
    assert.equal(code(() => e.maintenance.rules.create({ kind: 'approval', name: 'a' })), 'InvalidInput');
    assert.equal(code(() => e.maintenance.rules.create({ kind: 'sometimes', name: 'a' })), 'InvalidInput');
    assert.equal(code(() => e.maintenance.rules.create({ kind: 'decline', name: 'Expired updates', condition: 'expired' })), 'Conflict');
    assert.equal(code(() => e.maintenance.rules.update('99', { enabled: true })), 'NotFound');
    assert.equal(code(() => e.maintenance.rules.update('Expired updates', { kind: 'approval' })), 'InvalidInput');
    assert.equal(e.maintenance.rules.list().length, n);
    const unknownGuid = '12345678-1234-1234-1234-123456789abc';
    const r = e.maintenance.rules.create({ kind: 'approval', name: 'future', products: [unknownGuid], groups: ['Pilot'] });
    assert.equal(r.warnings.length, 1);
    const changed = e.maintenance.rules.update('future', { title: '/cumulative/', deadlineDays: 7 });
    assert.deepEqual({ ...changed.rule.criteria }, { classifications: [], products: [unknownGuid], title: '/cumulative/', groups: [e.h.targeting.groupIdByName('Pilot')], action: 'Install', deadlineDays: 7 });
    assert.equal(e.maintenance.rules.update('future', { enabled: false }).rule.enabled, false);
  } finally {
    await e.close();
  }
});
