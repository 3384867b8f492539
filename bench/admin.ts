// Admin API benchmark: `updates list|show` over the generated catalog of ~50,000 current
// revisions, `computers list|show` over 20,000 synthetic computers (with status reports,
// duplicate client ids and stale machines), and a bulk approval of 1,000 updates to 10 groups —
// all through the real admin API of `wsus serve` running as a child process (HTTP, bearer
// token, audit). Prints medians and p90 per request shape and a verdict per bar; asserts nothing.
//
//   npm run bench:admin [-- --updates 13700 --seed 1 --computers 20000 --reps 15]   (BENCH_KEEP=1 keeps the data directory)

import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { request } from 'undici';
import { openDatabase } from '../src/store/database.js';
import { loadServerIdentity } from '../src/store/server-identity.store.js';
import { createTargetingStore } from '../src/store/targeting.store.js';
import { createAdminTokensStore } from '../src/store/admin-tokens.store.js';
import { createAdminTokensService } from '../src/services/admin/admin-tokens.service.js';
import { createComputerStatusStore } from '../src/store/computer-status.store.js';
import { createNeededIndex } from '../src/services/admin/needed-index.js';
import { prepareCatalog } from './support/catalog.js';
import { distRoot, freePort, killAll, stopChild } from './support/processes.js';
import { ms, num, summarizeLatencies, table } from './support/stats.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const UPDATES = arg('updates', 13_700);
const SEED = arg('seed', 1);
const COMPUTERS = arg('computers', 20_000);
const REPS = arg('reps', 15);
const GROUPS = 10;
const BULK_UPDATES = 1000;
const BARS = { listMs: 300, bulkMs: 2000 };

/** A deterministic PRNG (mulberry32) so every run seeds the same fleet. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Seeded { token: string; groups: string[]; approvable: string[]; kb: string; bundleId: string; someComputer: string }

/** Groups, 20,000 computers (sightings, status reports), and an admin token, written before the server starts. */
function seed(dataDir: string): Seeded {
  const db = openDatabase(join(dataDir, 'wsus.db'));
  try {
    const now = new Date();
    loadServerIdentity(db, now);
    const targeting = createTargetingStore(db);
    targeting.ensureBuiltinGroups(now);
    const groups = Array.from({ length: GROUPS }, (_, i) => `Ring ${i}`);
    for (const g of groups) if (!targeting.groupIdByName(g)) targeting.createGroup(g, undefined, now);
    const groupIds = groups.map((g) => targeting.groupIdByName(g)!);
    const approvable = db.prepare(`SELECT s.update_id FROM update_summary s JOIN updates u ON u.id = s.update_pk
      WHERE s.update_type = 'Software' AND s.explicitly_deployable = 1 AND s.publication_state != 'Expired' AND u.declined = 0
      ORDER BY s.update_pk`).pluck().all() as string[];
    // a KB that names exactly one approvable update (show by KB must not be ambiguous)
    const kb = db.prepare(`SELECT trim(kb) FROM update_summary WHERE explicitly_deployable = 1 AND update_type = 'Software' AND kb != ''
      GROUP BY kb HAVING count(*) = 1 ORDER BY kb LIMIT 1 OFFSET 500`).pluck().get() as string;
    const bundleId = db.prepare(`SELECT s.update_id FROM update_summary s WHERE s.explicitly_deployable = 1
      AND EXISTS (SELECT 1 FROM revision_bundles b WHERE b.revision_id = s.revision_id) LIMIT 1 OFFSET 100`).pluck().get() as string;

    const rnd = prng(SEED);
    const insertComputer = db.prepare(`INSERT INTO computers (client_id, dns_name, requested_groups, assigned_group_id, os_major, os_minor, os_build,
      os_sp_major, os_locale, os_description, manufacturer, model, processor_architecture, client_version, registered_at, last_sync_at, last_report_at, last_address)
      VALUES (?, ?, '', ?, 10, 0, ?, 0, 'en-US', ?, ?, ?, 'AMD64', '1507.2601.30012.0', ?, ?, ?, ?)`);
    const insertSighting = db.prepare('INSERT OR IGNORE INTO computer_sightings (client_id, dns_name, address, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?)');
    const insertEvent = db.prepare(`INSERT INTO events (event_instance_id, client_id, event_id, namespace_id, source_id, update_id, revision_number,
      time_at_target, win32_hresult, app_name, replacement_strings, misc_data, received_at) VALUES (?, ?, 156, 1, 101, '00000000-0000-0000-0000-000000000000', 0, ?, 0, 'AutomaticUpdates', '[]', ?, ?)`);
    const models = [['Dell Inc.', 'OptiPlex 7090'], ['HP', 'EliteBook 840 G8'], ['LENOVO', 'ThinkPad T14'], ['Microsoft Corporation', 'Surface Laptop 5'], ['QEMU', 'Standard PC']];
    const oses = [['Windows 11 Enterprise', 26100], ['Windows 11 Pro', 22631], ['Windows 10 Enterprise', 19045], ['Windows Server 2022 Standard', 20348]];
    const day = 86_400_000;
    let someComputer = '';
    db.transaction(() => {
      db.prepare('DELETE FROM computers').run();
      for (let i = 0; i < COMPUTERS; i++) {
        const id = randomUUID();
        const name = `pc-${String(i).padStart(5, '0')}.corp.example`;
        if (i === 4321) someComputer = name;
        const [make, model] = models[Math.floor(rnd() * models.length)]!;
        const [os, build] = oses[Math.floor(rnd() * oses.length)]!;
        // 5% have not been heard from for 30–120 days
        const age = rnd() < 0.05 ? (30 + rnd() * 90) * day : rnd() * 2 * day;
        const lastSync = new Date(now.getTime() - age).toISOString();
        const registered = new Date(now.getTime() - age - 90 * day).toISOString();
        const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
        const group = rnd() < 0.1 ? null : groupIds[Math.floor(rnd() * GROUPS)]!;
        const reported = rnd() < 0.7;
        insertComputer.run(id, name, group, build, os, make, model, registered, lastSync, reported ? lastSync : null, address);
        insertSighting.run(id, name, address, registered, lastSync);
        // 1% are cloned images: a second machine under the same SusClientId
        if (rnd() < 0.01) insertSighting.run(id, `clone-${i}.corp.example`, `10.200.${(i >> 8) & 255}.${i & 255}`, registered, lastSync);
        if (reported) {
          const needed = Array.from({ length: 5 + Math.floor(rnd() * 25) }, () => approvable[Math.floor(rnd() * approvable.length)]!.toUpperCase());
          const installed = Array.from({ length: 20 }, () => approvable[Math.floor(rnd() * approvable.length)]!.toUpperCase());
          insertEvent.run(randomUUID(), id, lastSync, JSON.stringify(['G=1507.2601.30012.0', `U=${needed.join(';')}`, `V=${installed.join(';')}`]), lastSync);
        }
      }
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    const { token } = createAdminTokensService(createAdminTokensStore(db), () => now).create({ name: 'bench', role: 'admin', expiresDays: null, createdBy: 'bench' });
    return { token, groups, approvable, kb, bundleId, someComputer };
  } finally {
    db.close();
  }
}

async function startServer(dataDir: string): Promise<{ proc: ChildProcess; admin: string }> {
  const port = await freePort();
  const adminPort = await freePort();
  const proc = spawn(process.execPath, [join(distRoot, 'src/cli/main.js'), 'serve', '--data', dataDir, '--port', String(port), '--host', '127.0.0.1', '--admin-port', String(adminPort)], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WSUS_LOG_LEVEL: 'error' },
  });
  let tail = '';
  proc.stderr!.on('data', (b: Buffer) => { tail = (tail + b.toString()).slice(-4000); });
  process.on('exit', () => proc.kill('SIGKILL'));
  const admin = `http://127.0.0.1:${adminPort}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited during start:\n${tail}`);
    if (Date.now() > deadline) throw new Error(`server did not start within 180 s:\n${tail}`);
    try {
      const r = await request(`${admin}/api/groups`, { headersTimeout: 2000, bodyTimeout: 2000 });
      await r.body.dump();
      if (r.statusCode === 401) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { proc, admin };
}

async function main(): Promise<void> {
  process.stdout.write(`preparing the catalog (${UPDATES} top-level updates, seed ${SEED})…\n`);
  const prepared = prepareCatalog(UPDATES, SEED);
  try {
    const t0 = performance.now();
    const s = seed(prepared.dataDir);
    process.stdout.write(`catalog: ${num(prepared.revisions)} revisions (${prepared.reused ? 'cached' : `imported in ${prepared.importSeconds.toFixed(0)} s`}); `
      + `seeded ${num(COMPUTERS)} computers, ${GROUPS} groups in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    const server = await startServer(prepared.dataDir);
    const auth = { authorization: `Bearer ${s.token}` };
    const call = async (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<{ ms: number; json: Record<string, unknown> }> => {
      const t = performance.now();
      const r = await request(`${server.admin}${path}`, {
        method, headers: body === undefined ? auth : { ...auth, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.body.text();
      const elapsed = performance.now() - t;
      if (r.statusCode !== 200) throw new Error(`${method} ${path}: ${r.statusCode} ${text.slice(0, 300)}`);
      return { ms: elapsed, json: JSON.parse(text) as Record<string, unknown> };
    };
    const rows: string[][] = [['request', 'rows', 'total', 'median', 'p90', 'max', `< ${BARS.listMs} ms`]];
    const measure = async (label: string, path: string): Promise<void> => {
      await call('GET', path); // warm: statement preparation, page cache
      const times: number[] = [];
      let last: Record<string, unknown> = {};
      for (let i = 0; i < REPS; i++) {
        const r = await call('GET', path);
        times.push(r.ms);
        last = r.json;
      }
      const st = summarizeLatencies(times);
      const list = (last.updates ?? last.computers) as unknown[] | undefined;
      rows.push([label, list ? num(list.length) : '1', typeof last.total === 'number' ? num(last.total) : '-', ms(st.p50), ms(st.p90), ms(st.max), st.p50 < BARS.listMs ? 'yes' : 'NO']);
    };
    const q = (o: Record<string, string | number>): string => new URLSearchParams(Object.entries(o).map(([k, v]): [string, string] => [k, String(v)])).toString();

    await measure('updates list (first page of 100)', '/api/updates');
    await measure('updates list --all (bundle members too)', `/api/updates?${q({ all: 'true' })}`);
    await measure('  --classification "Security Updates" --state unapproved', `/api/updates?${q({ classification: 'Security Updates', state: 'unapproved' })}`);
    await measure('  --product "Windows 11" --sort title --offset 1000', `/api/updates?${q({ product: 'Windows 11', sort: 'title', offset: 1000 })}`);
    await measure(`  --text KB${s.kb}`, `/api/updates?${q({ text: `KB${s.kb}` })}`);
    await measure('  --text "cumulative" --state superseded --limit 500', `/api/updates?${q({ text: 'cumulative', state: 'superseded', limit: 500 })}`);
    await measure('  --state expired --created-after 2024-01-01', `/api/updates?${q({ state: 'expired', createdAfter: '2024-01-01' })}`);
    await measure(`  --needed-min 5 (status of ${num(COMPUTERS)} computers)`, `/api/updates?${q({ neededMin: 5 })}`);
    await measure('updates show <bundle>', `/api/updates/${s.bundleId}`);
    await measure(`updates show KB${s.kb}`, `/api/updates/KB${s.kb}`);
    await measure('computers list (first page of 100)', '/api/computers');
    await measure('  --group "Ring 3"', `/api/computers?${q({ group: 'Ring 3' })}`);
    await measure('  --stale-days 30', `/api/computers?${q({ staleDays: 30 })}`);
    await measure('  --text pc-012 --limit 500', `/api/computers?${q({ text: 'pc-012', limit: 500 })}`);
    await measure('  --duplicates', `/api/computers?${q({ duplicates: 'true' })}`);
    await measure('  --sort last-contact --offset 19000', `/api/computers?${q({ sort: 'last-contact', offset: 19_000 })}`);
    await measure(`computers show ${s.someComputer.split('.')[0]}`, `/api/computers/${s.someComputer.split('.')[0]}`);
    process.stdout.write(`\n${table(rows)}\n`);

    // Bulk approvals: 1,000 updates × 10 groups = 10,000 approvals per action, one transaction.
    const ids = s.approvable.slice(0, BULK_UPDATES);
    const bulk: string[][] = [['action', 'approvals', 'median', 'min', 'max', `< ${BARS.bulkMs} ms`]];
    const bulkRun = async (label: string, body: (i: number) => unknown, path: string, reps: number): Promise<void> => {
      const times: number[] = [];
      let written = 0;
      for (let i = 0; i < reps; i++) {
        const r = await call('POST', path, body(i));
        times.push(r.ms);
        written = Number((r.json.written ?? (r.json.counts as { removed?: number } | undefined)?.removed) ?? 0);
      }
      const st = summarizeLatencies(times);
      bulk.push([label, num(written), ms(st.p50), ms(Math.min(...times)), ms(st.max), st.p50 < BARS.bulkMs ? 'yes' : 'NO']);
    };
    const approveBody = (i: number, whatIf = false) => ({
      updates: ids, groups: s.groups, action: 'install', deadline: `2031-01-${String(1 + (i % 28)).padStart(2, '0')}`, whatIf,
    });
    await bulkRun(`approve --what-if (${BULK_UPDATES} × ${GROUPS})`, (i) => approveBody(i, true), '/api/updates/approve', 3);
    await bulkRun(`approve, new (${BULK_UPDATES} × ${GROUPS})`, (i) => approveBody(i), '/api/updates/approve', 1);
    await bulkRun('approve again, new deadline (replaces all)', (i) => approveBody(i + 1), '/api/updates/approve', 5);
    await bulkRun(`unapprove (${BULK_UPDATES} × ${GROUPS})`, () => ({ updates: ids, groups: s.groups }), '/api/updates/unapprove', 1);
    process.stdout.write(`\n${table(bulk)}\n`);
    await stopChild(server.proc);

    // The "needed" counts: built from every computer's latest status report the first time they
    // are asked for, then kept up to date from the computers that reported since (incremental).
    const db = openDatabase(join(prepared.dataDir, 'wsus.db'));
    try {
      const index = createNeededIndex(createComputerStatusStore(db));
      let t = performance.now();
      index.counts();
      const full = performance.now() - t;
      const ids = db.prepare('SELECT client_id FROM computers LIMIT 100').pluck().all() as string[];
      const insert = db.prepare(`INSERT INTO events (event_instance_id, client_id, event_id, namespace_id, source_id, update_id, revision_number,
        time_at_target, win32_hresult, app_name, replacement_strings, misc_data, received_at) VALUES (?, ?, 156, 1, 101, '00000000-0000-0000-0000-000000000000', 0, ?, 0, 'AutomaticUpdates', '[]', ?, ?)`);
      const at = new Date(Date.now() + 60_000).toISOString();
      db.transaction(() => {
        for (const id of ids) {
          insert.run(randomUUID(), id, at, JSON.stringify([`U=${s.approvable.slice(0, 20).join(';').toUpperCase()}`]), at);
          db.prepare('UPDATE computers SET last_report_at = ? WHERE client_id = ?').run(at, id);
        }
      })();
      t = performance.now();
      index.counts();
      const incremental = performance.now() - t;
      process.stdout.write(`\nneeded counts over ${num(COMPUTERS)} computers: first build ${ms(full)} (once, at the first request that needs them); `
        + `after 100 new status reports ${ms(incremental)}\n`);
    } finally {
      db.close();
    }
  } finally {
    killAll();
    if (process.env.BENCH_KEEP === '1') process.stdout.write(`data directory kept: ${prepared.dataDir}\n`);
    else prepared.cleanup();
  }
}

main().catch((e: unknown) => {
  killAll();
  process.stderr.write(`bench:admin failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
