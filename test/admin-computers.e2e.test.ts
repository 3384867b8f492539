import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { startServer, type RunningServer } from '../src/app/server.js';
import { adminHandle, importInto, quietLog, tempDataDir, testConfig, withServer } from './support/test-server.js';
import { cliFor, json, type CliResult } from './support/admin-cli.js';
import { reportingEvent, WuaClient } from './support/wua-client.js';

// `wsus groups …` and `wsus computers …` as an administrator runs them: the CLI as a process
// against a running server with real (simulated) Windows Update clients registered on it.

const catalog = generateCatalog({ updates: 30, seed: 5 });
const sources = [...catalog.documents].map((d) => ({ name: d.fileName, read: () => d.xml }));
const bundleId = catalog.summary.interesting.bundle!.updateId;

interface GroupItem { id: string; name: string; parentId: string; path: string; builtin: boolean; computers: number; approvals: number }
interface ComputerItem {
  clientId: string; dnsName: string; osDescription: string; manufacturer: string; model: string; address: string; group: string;
  lastSyncAt: string | null; duplicate: boolean; status: { needed: number; failed: number } | null;
}
interface ComputerList { total: number; computers: ComputerItem[] }

function actionOf(c: WuaClient, updateId: string): string | undefined {
  return [...c.received.values()].find((u) => u.core.toLowerCase().startsWith(`<updateidentity updateid="${updateId}"`))?.action;
}

async function client(url: string, dnsName: string, clientId: string = randomUUID()): Promise<WuaClient> {
  const c = new WuaClient(url, clientId, { dnsName });
  await c.handshake();
  await c.fullScan();
  return c;
}

describe('wsus groups and wsus computers against a running server', () => {
  let tmp: ReturnType<typeof tempDataDir>;
  let server: RunningServer;
  let wsus: (...args: string[]) => Promise<CliResult>;
  const count = (sql: string, ...p: unknown[]): number => server.db.prepare(sql).pluck().get(...p) as number;
  const groups = async (): Promise<GroupItem[]> => json<GroupItem[]>(await wsus('groups', 'list', '--json'));
  const audit = (action: string): Array<{ outcome: string; dry_run: number }> =>
    server.db.prepare('SELECT outcome, dry_run FROM admin_audit WHERE action = ? ORDER BY id').all(action) as Array<{ outcome: string; dry_run: number }>;
  let pc01: WuaClient;
  const cloneId = randomUUID();
  let staleId: string;

  before(async () => {
    tmp = tempDataDir();
    const config = testConfig(tmp.dir);
    importInto(config, sources);
    server = await startServer(config, quietLog);
    wsus = cliFor(server, 'admin', 'bob');
    pc01 = await client(server.url, 'pc01.corp.test');
    await client(server.url, 'pc02.corp.test');
    // A cloned image: one SusClientId, two machines.
    await client(server.url, 'lab-a.corp.test', cloneId);
    await client(server.url, 'lab-b.corp.test', cloneId);
    await client(server.url, 'lab-a.corp.test', cloneId);
    // A re-imaged machine: same name, new client id; and one nobody has heard from for months.
    await client(server.url, 'twin.corp.test');
    await client(server.url, 'twin.corp.test');
    const old = await client(server.url, 'old.corp.test');
    staleId = old.clientId;
    server.flush();
    const h = adminHandle(config);
    try {
      h.db.prepare("UPDATE computers SET registered_at = '2025-01-01T00:00:00.000Z', last_sync_at = '2025-02-01T00:00:00.000Z' WHERE client_id = ?").run(staleId);
    } finally {
      h.close();
    }
  });
  after(async () => {
    await server.close();
    tmp.cleanup();
  });

  it('groups: create, nest, rename, list with paths', async () => {
    assert.equal((await wsus('groups', 'create', 'Ring0')).status, 0);
    assert.equal((await wsus('groups', 'create', 'Ring1', '--parent', 'ring0')).status, 0);
    assert.equal((await wsus('groups', 'create', 'Leaf', '--parent', 'Ring1')).status, 0);
    const r = await wsus('groups', 'rename', 'Ring1', 'Ring 1');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /renamed group "Ring1" to "Ring 1"/);
    const list = await groups();
    assert.equal(list.find((g) => g.name === 'Leaf')?.path, 'All Computers / Ring0 / Ring 1 / Leaf');
    assert.equal(list.find((g) => g.name === 'Unassigned Computers')?.computers, 6, 'every registered computer starts unassigned');
    const human = await wsus('groups', 'list');
    assert.match(human.stdout, /All Computers \/ Ring0 \/ Ring 1\s*\n/);
    assert.deepEqual(audit('groups.rename').map((a) => a.outcome), ['ok']);
  });

  it('groups: circular nesting, built-ins, unknown names and Unassigned parents are refused; nothing changes', async () => {
    const before = JSON.stringify(await groups());
    const cases: Array<[string[], number, RegExp]> = [
      [['groups', 'move', 'Ring0', '--parent', 'Leaf'], 2, /circular nesting refused: "Leaf" is "Ring0" itself or one of its subgroups/],
      [['groups', 'move', 'Ring0', '--parent', 'Ring0'], 2, /circular nesting refused/],
      [['groups', 'move', 'Ring0', '--parent', 'Unassigned Computers'], 2, /cannot be placed under Unassigned Computers/],
      [['groups', 'rename', 'All Computers', 'Everyone'], 4, /"All Computers" is a built-in group and cannot be renamed/],
      [['groups', 'delete', 'Unassigned Computers'], 4, /built-in group and cannot be deleted/],
      [['groups', 'move', 'Unassigned Computers', '--parent', 'Ring0'], 4, /built-in/],
      [['groups', 'rename', 'Ring0', 'ring 1'], 4, /group "ring 1" already exists/],
      [['groups', 'rename', 'Ring0', 'a;b'], 2, /without ";"/],
      [['groups', 'move', 'Nope', '--parent', 'Ring0'], 3, /group "Nope" not found/],
      [['groups', 'delete', 'Ring0'], 4, /has subgroups \(Leaf, Ring 1\)|has subgroups \(Ring 1, Leaf\)/],
      [['groups', 'create', 'X', '--parent', 'Unassigned Computers'], 2, /Unassigned Computers/],
    ];
    for (const [args, code, message] of cases) {
      const r = await wsus(...args);
      assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.equal(JSON.stringify(await groups()), before, 'nothing changed');
    const moved = await wsus('groups', 'move', 'Leaf', '--parent', 'Ring0');
    assert.equal(moved.status, 0, moved.stderr);
    assert.equal((await groups()).find((g) => g.name === 'Leaf')?.path, 'All Computers / Ring0 / Leaf');
  });

  it('computers list: OS, make/model, IP, group, last sync, status counts, paging', async () => {
    await pc01.report(reportingEvent(pc01.clientId, 156, randomUUID(), undefined, [`U=${bundleId.toUpperCase()}`, 'g=']));
    const all = json<ComputerList>(await wsus('computers', 'list', '--json'));
    assert.equal(all.total, 6);
    const pc = all.computers.find((c) => c.dnsName === 'pc01.corp.test')!;
    assert.deepEqual([pc.osDescription, pc.manufacturer, pc.model, pc.address, pc.group], ['Windows 11 Pro', 'QEMU', 'Standard PC', '127.0.0.1', 'Unassigned Computers']);
    assert.ok(pc.lastSyncAt);
    assert.deepEqual(pc.status && [pc.status.needed, pc.status.failed], [1, 0]);
    assert.deepEqual(all.computers.map((c) => c.dnsName), [...all.computers.map((c) => c.dnsName)].sort());
    const page = json<ComputerList>(await wsus('computers', 'list', '--limit', '2', '--offset', '2', '--json'));
    assert.deepEqual(page.computers.map((c) => c.clientId), all.computers.slice(2, 4).map((c) => c.clientId));
    const text = json<ComputerList>(await wsus('computers', 'list', '--text', 'PC0', '--json'));
    assert.deepEqual(text.computers.map((c) => c.dnsName), ['pc01.corp.test', 'pc02.corp.test']);
    const human = await wsus('computers', 'list');
    assert.match(human.stdout, /^NAME\s+IP\s+OS/);
    assert.match(human.stderr, /showing 1-6 of 6/);
  });

  it('computers list --stale-days and --duplicates (one SusClientId, several names)', async () => {
    const stale = json<ComputerList>(await wsus('computers', 'list', '--stale-days', '30', '--json'));
    assert.deepEqual(stale.computers.map((c) => c.clientId), [staleId]);
    const dup = json<ComputerList>(await wsus('computers', 'list', '--duplicates', '--json'));
    assert.deepEqual(dup.computers.map((c) => c.clientId), [cloneId]);
    assert.equal(dup.computers[0]!.duplicate, true);
    const shown = json<{ sightings: Array<{ dnsName: string; address: string }>; duplicate: boolean; effectiveGroups: Array<{ name: string }> }>(
      await wsus('computers', 'show', cloneId, '--json'));
    assert.deepEqual(shown.sightings.map((s) => s.dnsName).sort(), ['lab-a.corp.test', 'lab-b.corp.test']);
    assert.deepEqual(shown.effectiveGroups.map((g) => g.name).sort(), ['All Computers', 'Unassigned Computers']);
    assert.equal((await wsus('computers', 'list', '--stale-days', '0')).status, 2);
  });

  it('computers show: by name, short name or id; ambiguous and unknown names', async () => {
    const byShort = await wsus('computers', 'show', 'PC01');
    assert.equal(byShort.status, 0, byShort.stderr);
    assert.match(byShort.stdout, /^pc01\.corp\.test\n\s+client id\s+/);
    assert.match(byShort.stdout, new RegExp(`needs ${bundleId}`));
    const twin = await wsus('computers', 'show', 'twin.corp.test');
    assert.equal(twin.status, 2);
    assert.match(twin.stderr, /"twin.corp.test" matches 2 computers \(name one by its client id\)/);
    const none = await wsus('computers', 'show', 'ghost');
    assert.equal(none.status, 3);
    assert.match(none.stderr, /computers not found: "ghost"/);
  });

  it('computers move: into a group; a client that already scanned gets the group\'s approvals as changed updates', async () => {
    assert.equal((await wsus('approve', bundleId, '--group', 'Ring0')).status, 0);
    await pc01.syncPage();
    assert.equal(actionOf(pc01, bundleId), 'PreDeploymentCheck', 'not yet in Ring0');
    const dry = json<{ moved: number; changes: Array<{ changed: boolean }> }>(await wsus('computers', 'move', 'pc01', 'pc02.corp.test', '--group', 'Ring0', '--what-if', '--json'));
    assert.deepEqual([dry.moved, dry.changes.filter((c) => c.changed).length], [0, 2]);
    assert.equal(count("SELECT count(*) FROM computers WHERE assigned_group_id IS NOT NULL"), 0, 'what-if moved nothing');
    const r = await wsus('computers', 'move', 'pc01', 'pc02.corp.test', '--group', 'Ring0');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /moved 2 computer\(s\) to "Ring0"/);
    const revisionId = [...pc01.received.values()].find((u) => u.core.toLowerCase().startsWith(`<updateidentity updateid="${bundleId}"`))!.revisionId;
    const page = await pc01.syncPage();
    assert.equal(page.changed.find((u) => u.revisionId === revisionId)?.action, 'Install', 'the cached update comes back as a changed update with Install');
    const inRing = json<ComputerList>(await wsus('computers', 'list', '--group', 'Ring0', '--json'));
    assert.deepEqual(inRing.computers.map((c) => c.dnsName), ['pc01.corp.test', 'pc02.corp.test']);
    assert.equal(json<ComputerList>(await wsus('computers', 'list', '--group', 'Ring 1', '--json')).total, 0);
    assert.equal(json<ComputerList>(await wsus('computers', 'list', '--group', 'All Computers', '--json')).total, 6);
    assert.equal(json<ComputerList>(await wsus('computers', 'list', '--group', 'Unassigned Computers', '--json')).total, 4);

    const before = count('SELECT count(*) FROM computers WHERE assigned_group_id IS NOT NULL');
    for (const [args, code, message] of [
      [['computers', 'move', 'ghost', '--group', 'Ring0'], 3, /computers not found: "ghost"/],
      [['computers', 'move', 'pc01', '--group', 'Nowhere'], 3, /group "Nowhere" not found/],
      [['computers', 'move', 'pc01', '--group', 'All Computers'], 2, /every computer is in All Computers/],
      [['computers', 'move', 'twin', '--group', 'Ring0'], 2, /matches 2 computers/],
      [['computers', 'move', 'pc01'], 2, /--group is required/],
    ] as Array<[string[], number, RegExp]>) {
      const x = await wsus(...args);
      assert.equal(x.status, code, `${args.join(' ')}: ${x.stderr}`);
      assert.match(x.stderr, message);
    }
    assert.equal(count('SELECT count(*) FROM computers WHERE assigned_group_id IS NOT NULL'), before, 'nothing changed');
  });

  it('groups delete of a non-empty group: computers to Unassigned, approvals removed (what-if first)', async () => {
    assert.equal((await wsus('groups', 'create', 'Doomed')).status, 0);
    assert.equal((await wsus('computers', 'move', 'pc02', '--group', 'Doomed')).status, 0);
    assert.equal((await wsus('approve', bundleId, '--group', 'Doomed')).status, 0);
    const approvalsBefore = count('SELECT count(*) FROM approvals');
    const dry = json<{ whatIf: boolean; computersToUnassigned: Array<{ dnsName: string }>; approvalsRemoved: number }>(await wsus('groups', 'delete', 'Doomed', '--what-if', '--json'));
    assert.deepEqual([dry.whatIf, dry.computersToUnassigned.map((c) => c.dnsName), dry.approvalsRemoved], [true, ['pc02.corp.test'], 1]);
    assert.ok((await groups()).some((g) => g.name === 'Doomed'), 'what-if deleted nothing');
    const r = await wsus('groups', 'delete', 'Doomed');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /deleted "Doomed": 1 approval\(s\) removed, 1 computer\(s\) moved to Unassigned Computers\n\s+pc02.corp.test \(was in "Doomed"\)/);
    assert.equal(count('SELECT count(*) FROM approvals'), approvalsBefore - 1);
    assert.equal(json<{ group: string }>(await wsus('computers', 'show', 'pc02', '--json')).group, 'Unassigned Computers');
    const sub = await wsus('groups', 'delete', 'Ring 1', '--recursive');
    assert.equal(sub.status, 0, sub.stderr);
    assert.deepEqual(audit('groups.delete').map((a) => [a.outcome, a.dry_run]), [['Conflict', 0], ['Conflict', 0], ['ok', 1], ['ok', 0], ['ok', 0]]);
  });

  it('computers delete: by name, and stale ones by last contact, with --what-if; a deleted computer registers again', async () => {
    const dry = json<{ whatIf: boolean; computers: Array<{ clientId: string }> }>(await wsus('computers', 'delete', '--stale-days', '30', '--what-if', '--json'));
    assert.deepEqual(dry.computers.map((c) => c.clientId), [staleId]);
    assert.equal(count('SELECT count(*) FROM computers'), 6, 'what-if deleted nothing');
    const stale = await wsus('computers', 'delete', '--stale-days', '30');
    assert.equal(stale.status, 0, stale.stderr);
    assert.match(stale.stdout, /deleted 1 computer\(s\)\n\s+old.corp.test/);
    const byName = await wsus('computers', 'delete', 'pc01');
    assert.equal(byName.status, 0, byName.stderr);
    assert.equal(count('SELECT count(*) FROM computers'), 4);
    assert.equal(count('SELECT count(*) FROM events WHERE client_id = ?', pc01.clientId), 0, 'its reports went with it');
    assert.equal(count('SELECT count(*) FROM computer_sightings WHERE client_id = ?', pc01.clientId), 0);
    assert.equal((await wsus('computers', 'delete', 'pc01')).status, 3);
    assert.equal((await wsus('computers', 'delete', 'pc02', '--stale-days', '3')).status, 2);
    assert.deepEqual(audit('computers.delete').map((a) => [a.outcome, a.dry_run]), [['ok', 1], ['ok', 0], ['ok', 0], ['NotFound', 0]]);
    // It comes back: the next scan is told to register, and it does.
    await client(server.url, 'pc01.corp.test', pc01.clientId);
    server.flush();
    assert.equal(json<ComputerList>(await wsus('computers', 'list', '--text', 'pc01', '--json')).total, 1);
    assert.equal(count('SELECT count(*) FROM computer_sightings WHERE client_id = ?', pc01.clientId), 1, 'sighted again');
  });

  it('reporters read but cannot move or delete (exit 5)', async () => {
    const reporter = cliFor(server, 'reporter', 'rita');
    assert.equal((await reporter('computers', 'list', '--limit', '1')).status, 0);
    assert.equal((await reporter('groups', 'list')).status, 0);
    const move = await reporter('computers', 'move', 'pc02', '--group', 'Ring0');
    assert.equal(move.status, 5);
    assert.equal((await reporter('groups', 'create', 'Sneaky')).status, 5);
  });
});

describe('client-side targeting', () => {
  it('computers are listed by the groups they name; moving them is refused (exit 4)', async () => {
    await withServer({ targetingMode: 'client' }, (config) => { importInto(config, sources); }, async (server) => {
      const wsus = cliFor(server);
      assert.equal((await wsus('groups', 'create', 'Pilot')).status, 0);
      const c = new WuaClient(server.url, randomUUID(), { dnsName: 'kiosk.corp.test', targetGroup: 'Pilot' });
      await c.handshake();
      await client(server.url, 'other.corp.test');
      const pilot = json<ComputerList>(await wsus('computers', 'list', '--group', 'Pilot', '--json'));
      assert.deepEqual(pilot.computers.map((x) => [x.dnsName, x.group]), [['kiosk.corp.test', 'Pilot']]);
      const unassigned = json<ComputerList>(await wsus('computers', 'list', '--group', 'Unassigned Computers', '--json'));
      assert.deepEqual(unassigned.computers.map((x) => x.dnsName), ['other.corp.test']);
      assert.equal((await groups(wsus)).find((g) => g.name === 'Pilot')?.computers, 1);
      const move = await wsus('computers', 'move', 'kiosk', '--group', 'Pilot');
      assert.equal(move.status, 4);
      assert.match(move.stderr, /targetingMode is "client"/);
    });
  });
});

async function groups(wsus: (...args: string[]) => Promise<CliResult>): Promise<GroupItem[]> {
  return json<GroupItem[]>(await wsus('groups', 'list', '--json'));
}
