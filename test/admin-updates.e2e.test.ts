import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { startServer, type RunningServer } from '../src/app/server.js';
import type { ServerConfig } from '../src/config/config.js';
import { importInto, quietLog, tempDataDir, testConfig, withServer } from './support/test-server.js';
import { cliFor, json, type CliResult } from './support/admin-cli.js';
import { reportingEvent, WuaClient } from './support/wua-client.js';

// `wsus updates list|show`, `approve|unapprove|decline|undecline` as an administrator runs them:
// the CLI as a process against a running server's admin API. Bad input exits non-zero with a
// message and changes nothing; every change leaves an audit row.

const catalog = generateCatalog({ updates: 80, seed: 11 });
const summary = catalog.summary.interesting;
const documents = [...catalog.documents];
// A second update with the same title (the real catalog has those): a copy under a new GUID.
const twinSource = documents.find((d) => d.xml.includes(summary.standalone!.updateId))!;
const twinId = randomUUID();
const twin = { name: 'twin.xml', read: () => twinSource.xml.split(summary.standalone!.updateId).join(twinId) };
const sources = [...documents.map((d) => ({ name: d.fileName, read: () => d.xml })), twin];

interface ListResult {
  total: number; offset: number; limit: number;
  updates: Array<{ updateId: string; title: string; kb: string[]; classifications: string[]; products: string[]; approvedGroups: number;
    declined: boolean; superseded: boolean; expired: boolean; needed: number; arrivedAt: string }>;
}

function count(db: RunningServer['db'], sql: string, ...params: unknown[]): number {
  return db.prepare(sql).pluck().get(...params) as number;
}

describe('wsus updates / approve / decline against a running server', () => {
  let tmp: ReturnType<typeof tempDataDir>;
  let config: ServerConfig;
  let server: RunningServer;
  let wsus: (...args: string[]) => Promise<CliResult>;
  let reporter: (...args: string[]) => Promise<CliResult>;
  const approvals = (): number => count(server.db, 'SELECT count(*) FROM approvals');
  const audit = (action: string): Array<{ outcome: string; dry_run: number; actor_name: string }> =>
    server.db.prepare('SELECT outcome, dry_run, actor_name FROM admin_audit WHERE action = ? ORDER BY id').all(action) as Array<{ outcome: string; dry_run: number; actor_name: string }>;

  before(async () => {
    tmp = tempDataDir();
    config = testConfig(tmp.dir);
    importInto(config, sources);
    server = await startServer(config, quietLog);
    wsus = cliFor(server, 'admin', 'alice');
    reporter = cliFor(server, 'reporter', 'rita');
    for (const g of ['Pilot', 'Ring 1']) assert.equal((await wsus('groups', 'create', g)).status, 0);
  });
  after(async () => {
    await server.close();
    tmp.cleanup();
  });

  it('list: the approvable updates, newest first, with paging and a total', async () => {
    const expected = count(server.db, `SELECT count(*) FROM update_summary WHERE update_type IN ('Software','Driver') AND explicitly_deployable = 1`);
    const all = json<ListResult>(await wsus('updates', 'list', '--limit', '5000', '--json'));
    assert.equal(all.total, expected);
    assert.equal(all.updates.length, expected);
    assert.ok(all.updates.every((u, i) => i === 0 || all.updates[i - 1]!.arrivedAt >= u.arrivedAt));
    const page = json<ListResult>(await wsus('updates', 'list', '--limit', '7', '--offset', '7', '--json'));
    assert.deepEqual(page.updates.map((u) => u.updateId), all.updates.slice(7, 14).map((u) => u.updateId));
    assert.equal(page.total, expected);
    const withMembers = json<ListResult>(await wsus('updates', 'list', '--all', '--limit', '1', '--json'));
    assert.equal(withMembers.total, count(server.db, 'SELECT count(*) FROM update_summary'));
    const human = await wsus('updates', 'list', '--limit', '3');
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /^UPDATE ID\s+KB\s+CLASSIFICATION/);
    assert.match(human.stderr, new RegExp(`showing 1-3 of ${expected}`));
  });

  it('list filters: classification, product, text/KB, states, dates; bad filters exit 2', async () => {
    const security = json<ListResult>(await wsus('updates', 'list', '--classification', 'security updates', '--limit', '5000', '--json'));
    assert.ok(security.total > 0);
    assert.ok(security.updates.every((u) => u.classifications.includes('Security Updates')));
    const bundle = summary.bundle!;
    const byGuid = json<ListResult>(await wsus('updates', 'list', '--classification', bundle.classificationId, '--product', bundle.productId, '--limit', '5000', '--json'));
    assert.ok(byGuid.updates.some((u) => u.updateId === bundle.updateId));

    const kb = summary.security!.kbArticleId;
    const byKb = json<ListResult>(await wsus('updates', 'list', '--text', `KB${kb}`, '--json'));
    assert.ok(byKb.updates.length >= 1 && byKb.updates.every((u) => u.kb.includes(kb) || u.title.includes(kb)));
    const byTitle = json<ListResult>(await wsus('updates', 'list', '--text', summary.standalone!.title.slice(0, 30).toUpperCase(), '--json'));
    assert.ok(byTitle.updates.some((u) => u.updateId === summary.standalone!.updateId), 'title text matches ignoring case');

    const superseded = json<ListResult>(await wsus('updates', 'list', '--state', 'superseded', '--limit', '5000', '--json'));
    assert.ok(superseded.updates.some((u) => u.updateId === summary.superseded!.updateId));
    assert.ok(superseded.updates.every((u) => u.superseded));
    const notSuperseded = json<ListResult>(await wsus('updates', 'list', '--state', 'not-superseded', '--limit', '1', '--json'));
    const everything = json<ListResult>(await wsus('updates', 'list', '--limit', '1', '--json'));
    assert.equal(superseded.total + notSuperseded.total, everything.total);
    const expired = json<ListResult>(await wsus('updates', 'list', '--state', 'expired', '--limit', '5000', '--json'));
    assert.ok(expired.updates.some((u) => u.updateId === summary.expired!.updateId) && expired.updates.every((u) => u.expired));

    const future = json<ListResult>(await wsus('updates', 'list', '--arrived-after', '2999-01-01', '--json'));
    assert.equal(future.total, 0);
    const past = json<ListResult>(await wsus('updates', 'list', '--created-before', '2999-01-01', '--limit', '1', '--json'));
    assert.equal(past.total, everything.total);

    const badState = await wsus('updates', 'list', '--state', 'pending');
    assert.equal(badState.status, 2);
    assert.match(badState.stderr, /unknown state "pending"/);
    assert.equal((await wsus('updates', 'list', '--arrived-after', 'yesterday')).status, 2);
    const noSuch = await wsus('updates', 'list', '--classification', 'Nonsense Updates');
    assert.equal(noSuch.status, 3);
    assert.match(noSuch.stderr, /classification not found: "Nonsense Updates"/);
  });

  it('show: by GUID, KB or title — revisions, supersedence, bundle members, files, approvals', async () => {
    const b = summary.bundle!;
    const d = json<{
      updateId: string; title: string; bundleMembers: Array<{ updateId: string }>; files: Array<{ updateId: string; content: string }>;
      classifications: Array<{ id: string; title: string }>; products: Array<{ id: string }>; revisions: Array<{ current: boolean }>;
    }>(await wsus('updates', 'show', b.updateId, '--json'));
    assert.equal(d.title, b.title);
    assert.deepEqual(d.bundleMembers.map((m) => m.updateId).sort(), [...b.childIds].sort());
    assert.ok(d.files.length > 0 && d.files.every((f) => b.childIds.includes(f.updateId) && f.content === 'missing'), 'members carry the files; none downloaded');
    assert.deepEqual(d.classifications.map((c) => c.id), [b.classificationId]);
    assert.deepEqual(d.products.map((p) => p.id), [b.productId]);
    assert.equal(d.revisions.filter((r) => r.current).length, 1);

    const s = json<{ supersededBy: Array<{ updateId: string }> }>(await wsus('updates', 'show', summary.superseded!.updateId, '--json'));
    assert.ok(s.supersededBy.some((x) => x.updateId === summary.superseded!.supersededBy));
    const sup = json<{ supersedes: Array<{ updateId: string }> }>(await wsus('updates', 'show', summary.superseding!.updateId, '--json'));
    for (const id of summary.superseding!.supersededIds) assert.ok(sup.supersedes.some((x) => x.updateId === id));

    const byKb = await wsus('updates', 'show', `KB${summary.security!.kbArticleId}`);
    assert.equal(byKb.status, 0, byKb.stderr);
    assert.match(byKb.stdout, /approvals: none/);
    const byTitle = await wsus('updates', 'show', summary.bundle!.title.toLowerCase());
    assert.equal(byTitle.status, 0, byTitle.stderr);
    assert.match(byTitle.stdout, new RegExp(b.updateId));
    const human = await wsus('updates', 'show', b.updateId);
    assert.match(human.stdout, /bundle members \(\d+\):/);
    assert.match(human.stdout, /files \(\d+\):\n\s+missing/);
  });

  it('show: unknown → 3, ambiguous KB or title → 2 listing the candidates', async () => {
    const unknown = await wsus('updates', 'show', '11111111-2222-3333-4444-555555555555');
    assert.equal(unknown.status, 3);
    assert.match(unknown.stderr, /not found/);
    const defender = count(server.db, `SELECT count(*) FROM update_summary WHERE kb = ' 2267602 ' AND explicitly_deployable = 1`);
    assert.ok(defender > 1, 'the generated catalog ships many definition updates under one KB');
    const ambiguousKb = await wsus('updates', 'show', 'KB2267602');
    assert.equal(ambiguousKb.status, 2);
    assert.match(ambiguousKb.stderr, new RegExp(`"KB2267602" matches ${defender} updates \\(name one by its id\\)`));
    const ambiguousTitle = await wsus('updates', 'show', summary.standalone!.title);
    assert.equal(ambiguousTitle.status, 2);
    assert.ok(ambiguousTitle.stderr.includes(twinId) && ambiguousTitle.stderr.includes(summary.standalone!.updateId), ambiguousTitle.stderr);
  });

  it('approve several updates for several groups in one action; --what-if changes nothing; audited', async () => {
    const target = [...new Set([summary.bundle!.updateId, summary.security!.updateId, summary.superseding!.updateId])];
    const before = approvals();
    const dry = json<{ whatIf: boolean; counts: { new: number }; written: number }>(
      await wsus('approve', ...target, '--group', 'Pilot', '--group', 'ring 1', '--deadline', '2030-01-31', '--what-if', '--json'));
    assert.equal(dry.whatIf, true);
    assert.equal(dry.counts.new, target.length * 2);
    assert.equal(dry.written, 0);
    assert.equal(approvals(), before, 'what-if wrote nothing');
    assert.equal(audit('updates.approve').at(-1)?.dry_run, 1);

    const r = await wsus('approve', ...target, '--group', 'Pilot', '--group', 'Ring 1', '--deadline', '2030-01-31');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`approved ${target.length} updates for Install to "Pilot", "Ring 1" with deadline 2030-01-31T00:00:00.000Z \\(${target.length * 2} new, 0 changed, 0 unchanged\\)`));
    assert.equal(approvals(), before + target.length * 2);
    const last = audit('updates.approve').at(-1)!;
    assert.deepEqual([last.outcome, last.dry_run, last.actor_name], ['ok', 0, 'alice']);

    // Same again: nothing new; a different action replaces (changed).
    const again = json<{ counts: { unchanged: number }; written: number }>(await wsus('approve', target[0]!, '--group', 'Pilot', '--deadline', '2030-01-31', '--json'));
    assert.deepEqual([again.counts.unchanged, again.written], [1, 0]);
    const changed = json<{ counts: { changed: number } }>(await wsus('approve', target[0]!, '--group', 'Pilot', '--action', 'uninstall', '--json'));
    assert.equal(changed.counts.changed, 1);
    const shown = json<{ approvals: Array<{ groupName: string; action: string; deadline: string | null; approvedBy: string }> }>(await wsus('updates', 'show', target[0]!, '--json'));
    assert.deepEqual(shown.approvals.map((a) => [a.groupName, a.action, a.deadline, a.approvedBy]),
      [['Pilot', 'Uninstall', null, 'alice'], ['Ring 1', 'Install', '2030-01-31T00:00:00.000Z', 'alice']]);
    const listed = json<ListResult>(await wsus('updates', 'list', '--state', 'approved', '--limit', '5000', '--json'));
    assert.ok(target.slice(0, 2).every((id) => listed.updates.some((u) => u.updateId === id && u.approvedGroups === 2)));

    // The scan sees it: a fresh client in Pilot... (server-side targeting: unassigned clients do not)
    const client = new WuaClient(server.url, randomUUID());
    await client.handshake();
    await client.fullScan();
    const offered = [...client.received.values()].find((u) => u.core.toLowerCase().startsWith(`<updateidentity updateid="${summary.security!.updateId}"`));
    assert.equal(offered?.action, 'PreDeploymentCheck', 'unassigned computers are not in Pilot');

    const un = json<{ counts: { removed: number; notApproved: number } }>(await wsus('unapprove', target[1]!, '--group', 'Ring 1', '--group', 'Pilot', '--json'));
    assert.deepEqual(un.counts, { removed: 2, notApproved: 0 });
    assert.equal(audit('updates.unapprove').at(-1)?.outcome, 'ok');
  });

  it('approve refuses bad input with the documented exit codes and changes nothing', async () => {
    const before = approvals();
    const auditRows = count(server.db, 'SELECT count(*) FROM admin_audit');
    const id = summary.standalone!.updateId;
    const cases: Array<[string[], number, RegExp]> = [
      [['approve', '11111111-2222-3333-4444-555555555555', id, '--group', 'Pilot'], 3, /not found: update "11111111-2222-3333-4444-555555555555"/],
      [['approve', id, '--group', 'Pilot', '--group', 'No Such Group'], 3, /not found: group "No Such Group"/],
      [['approve', 'KB2267602', '--group', 'Pilot'], 2, /"KB2267602" matches \d+ updates/],
      [['approve', summary.standalone!.title, '--group', 'Pilot'], 2, /matches 2 updates/],
      [['approve', id, '--group', 'Pilot', '--deadline', 'next tuesday'], 2, /bad deadline "next tuesday"/],
      [['approve', id, '--group', 'Pilot', '--deadline', '2026-02-30'], 2, /no such calendar date/],
      [['approve', id, '--group', 'Pilot', '--deadline', '1999-12-31'], 2, /between 2000 and 9998/],
      [['approve', id, '--group', 'Pilot', '--action', 'reboot'], 2, /--action must be install or uninstall/],
      [['approve', id], 2, /--group is required/],
      [['approve', summary.bundleChild!.updateId, '--group', 'Pilot'], 2, /bundle members follow their bundle/],
      [['approve', summary.expired!.updateId, '--group', 'Pilot'], 4, /expired updates cannot be approved/],
      [['unapprove', id, '--group', 'Nowhere'], 3, /not found: group "Nowhere"/],
      [['decline', '99999999-2222-3333-4444-555555555555'], 3, /not found/],
    ];
    for (const [args, code, message] of cases) {
      const r = await wsus(...args);
      assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.equal(approvals(), before, 'nothing changed');
    // Refusals that reached the server are audited with their error code.
    const refused = server.db.prepare('SELECT outcome FROM admin_audit WHERE id > ? ORDER BY id').pluck().all(auditRows) as string[];
    assert.ok(refused.includes('NotFound') && refused.includes('InvalidInput') && refused.includes('Conflict'), refused.join(','));

    const rep = await reporter('approve', id, '--group', 'Pilot');
    assert.equal(rep.status, 5);
    assert.match(rep.stderr, /reporter token/);
    assert.equal((await reporter('updates', 'list', '--limit', '1')).status, 0, 'reporters read');
  });

  it('decline removes approvals and blocks approving; undecline; --what-if', async () => {
    const id = summary.standalone!.updateId;
    assert.equal((await wsus('approve', id, '--group', 'Pilot')).status, 0);
    const dry = json<{ counts: { changed: number; approvalsRemoved: number } }>(await wsus('decline', id, '--what-if', '--json'));
    assert.deepEqual(dry.counts, { changed: 1, unchanged: 0, approvalsRemoved: 1 });
    assert.equal(count(server.db, 'SELECT declined FROM updates WHERE update_id = ?', id), 0, 'what-if declined nothing');
    const r = await wsus('decline', id);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /declined \(1 approval\(s\) removed\)/);
    assert.equal(count(server.db, 'SELECT count(*) FROM approvals a JOIN updates u ON u.id = a.update_pk WHERE u.update_id = ?', id), 0);
    const blocked = await wsus('approve', id, '--group', 'Pilot');
    assert.equal(blocked.status, 4);
    assert.match(blocked.stderr, /declined updates cannot be approved/);
    const listed = json<ListResult>(await wsus('updates', 'list', '--state', 'declined', '--json'));
    assert.deepEqual(listed.updates.map((u) => u.updateId), [id]);
    assert.match((await wsus('decline', id)).stdout, /already declined/);
    assert.equal((await wsus('undecline', id)).status, 0);
    assert.equal(count(server.db, 'SELECT declined FROM updates WHERE update_id = ?', id), 0);
    assert.deepEqual(audit('updates.decline').filter((a) => a.outcome === 'ok').map((a) => a.dry_run), [1, 0, 0], 'what-if, decline, decline again');
    assert.equal(audit('updates.undecline').at(-1)?.outcome, 'ok');
  });

  it('--needed-min: computers whose latest status report lists the update as needed', async () => {
    const [needed, installed, old] = server.db.prepare(`SELECT update_id FROM update_summary
      WHERE update_type = 'Software' AND explicitly_deployable = 1 ORDER BY update_pk LIMIT 3`).pluck().all() as [string, string, string];
    for (const [i, lists] of [[`U=${needed.toUpperCase()}`, `V=${installed.toUpperCase()}`], [`U=${needed.toUpperCase()};${installed.toUpperCase()}`]].entries()) {
      const c = new WuaClient(server.url, randomUUID(), { dnsName: `needy${i}.lab.invalid` });
      await c.handshake();
      // an older status report that the newer one replaces
      await c.report(reportingEvent(c.clientId, 156, randomUUID(), undefined, [`U=${old.toUpperCase()}`]).replace(/<TimeAtTarget>[^<]+/, '<TimeAtTarget>2020-01-01T00:00:00Z'));
      await c.report(reportingEvent(c.clientId, 156, randomUUID(), undefined, lists as string[]));
    }
    const two = json<ListResult>(await wsus('updates', 'list', '--needed-min', '2', '--json'));
    assert.deepEqual(two.updates.map((u) => [u.updateId, u.needed]), [[needed, 2]]);
    const one = json<ListResult>(await wsus('updates', 'list', '--needed-min', '1', '--limit', '5000', '--json'));
    assert.deepEqual(one.updates.map((u) => u.updateId).sort(), [needed, installed].sort());
    assert.ok(!one.updates.some((u) => u.updateId === old), 'only the latest report counts');
    const shown = json<{ needed: number; neededBy: Array<{ name: string }> }>(await wsus('updates', 'show', needed, '--json'));
    assert.equal(shown.needed, 2);
    assert.deepEqual(shown.neededBy.map((n) => n.name).sort(), ['needy0.lab.invalid', 'needy1.lab.invalid']);
  });

  it('bulk: 300 updates × 3 groups in one action', async () => {
    const ids = server.db.prepare(`SELECT s.update_id FROM update_summary s JOIN updates u ON u.id = s.update_pk
      WHERE s.update_type = 'Software' AND s.explicitly_deployable = 1 AND u.declined = 0 AND s.publication_state != 'Expired' LIMIT 300`).pluck().all() as string[];
    assert.equal((await wsus('groups', 'create', 'Broad')).status, 0);
    const seqBefore = count(server.db, "SELECT value FROM counters WHERE name = 'change_seq'");
    const r = json<{ counts: { new: number; changed: number; unchanged: number }; written: number }>(
      await wsus('approve', ...ids, '--group', 'Pilot', '--group', 'Ring 1', '--group', 'Broad', '--json'));
    assert.equal(r.counts.new + r.counts.changed + r.counts.unchanged, ids.length * 3);
    assert.equal(count(server.db, "SELECT value FROM counters WHERE name = 'change_seq'"), seqBefore + 1, 'one change_seq for the whole action');
    assert.equal(count(server.db, `SELECT count(*) FROM approvals a JOIN target_groups g ON g.id = a.group_id WHERE g.name = 'Broad'`), ids.length);
  });
});

describe('a replica refuses approvals, declines and group changes (exit 4), changing nothing', () => {
  it('approve, unapprove, decline, groups create through the API', async () => {
    await withServer({ sync: { mode: 'replica', upstream: 'http://127.0.0.1:9' } }, (config) => { importInto(config, sources); }, async (server) => {
      const wsus = cliFor(server);
      const id = summary.standalone!.updateId;
      for (const args of [['approve', id, '--group', 'All Computers'], ['unapprove', id, '--group', 'All Computers'], ['decline', id],
        ['undecline', id, '--what-if'], ['groups', 'create', 'Pilot']]) {
        const r = await wsus(...args);
        assert.equal(r.status, 4, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /this server is a replica of http:\/\/127\.0\.0\.1:9/);
      }
      assert.equal(count(server.db, 'SELECT count(*) FROM approvals'), 0);
      assert.equal(count(server.db, 'SELECT count(*) FROM target_groups'), 2);
      assert.equal(count(server.db, "SELECT count(*) FROM admin_audit WHERE outcome = 'Conflict'"), 5);
      assert.equal((await wsus('updates', 'list', '--limit', '1')).status, 0, 'reads work on a replica');
    });
  });
});
