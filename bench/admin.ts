// Admin API benchmark: `updates list|show` over the generated catalog of ~50,000 current
// revisions, `computers list|show` over 20,000 synthetic computers (with status (bench/support/fleet.ts),
// duplicate client ids and stale machines), and a bulk approval of 1,000 updates to 10 groups —
// all through the real admin API of `wsus serve` running as a child process (HTTP, bearer
// token, audit). Prints medians and p90 per request shape and a verdict per bar; asserts nothing.
//
//   npm run bench:admin [-- --updates 13700 --seed 1 --computers 20000 --reps 15]   (BENCH_KEEP=1 keeps the data directory)

import { join } from 'node:path';
import { request } from 'undici';
import { openDatabase } from '../src/store/database.js';
import { loadServerIdentity } from '../src/store/server-identity.store.js';
import { createAdminTokensStore } from '../src/store/admin-tokens.store.js';
import { createAdminTokensService } from '../src/services/admin/admin-tokens.service.js';
import { seedFleet } from './support/fleet.js';
import { prepareCatalog } from './support/catalog.js';
import { killAll, startServerChild, stopChild } from './support/processes.js';
import { ms, num, summarizeLatencies, table } from './support/stats.js';
import { argNumber } from './support/knobs.js';

const UPDATES = argNumber('updates', 13_700);
const SEED = argNumber('seed', 1);
const COMPUTERS = argNumber('computers', 20_000);
const REPS = argNumber('reps', 15);
const GROUPS = 10;
const BULK_UPDATES = 1000;
const BARS = { listMs: 300, bulkMs: 2000 };

interface Seeded { token: string; groups: string[]; approvable: string[]; kb: string; bundleId: string; someComputer: string }

/** Groups, 20,000 computers (sightings, status reports), and an admin token, written before the server starts. */
function seed(dataDir: string): Seeded {
  const db = openDatabase(join(dataDir, 'wsus.db'));
  try {
    const now = new Date();
    loadServerIdentity(db, now);
    const approvable = db.prepare(`SELECT s.update_id FROM update_summary s JOIN updates u ON u.id = s.update_pk
      WHERE s.update_type = 'Software' AND s.explicitly_deployable = 1 AND s.publication_state != 'Expired' AND u.declined = 0
      ORDER BY s.update_pk`).pluck().all() as string[];
    // a KB that names exactly one approvable update (show by KB must not be ambiguous)
    const kb = db.prepare(`SELECT trim(kb) FROM update_summary WHERE explicitly_deployable = 1 AND update_type = 'Software' AND kb != ''
      GROUP BY kb HAVING count(*) = 1 ORDER BY kb LIMIT 1 OFFSET 500`).pluck().get() as string;
    const bundleId = db.prepare(`SELECT s.update_id FROM update_summary s WHERE s.explicitly_deployable = 1
      AND EXISTS (SELECT 1 FROM revision_bundles b WHERE b.revision_id = s.revision_id) LIMIT 1 OFFSET 100`).pluck().get() as string;

    const updates = db.prepare(`SELECT s.update_pk AS pk, s.update_id AS id FROM update_summary s JOIN updates u ON u.id = s.update_pk
      WHERE s.update_type = 'Software' AND s.explicitly_deployable = 1 AND u.declined = 0 ORDER BY s.update_pk`).all() as Array<{ pk: number; id: string }>;
    const fleet = seedFleet(db, { computers: COMPUTERS, groups: GROUPS, seed: SEED, updates, applicable: 50 / updates.length, eventsPerComputer: 0 }, now);
    const someComputer = fleet.someComputer;
    db.pragma('wal_checkpoint(TRUNCATE)');
    const { token } = createAdminTokensService(createAdminTokensStore(db), () => now).create({ name: 'bench', role: 'admin', expiresDays: null, createdBy: 'bench' });
    return { token, groups: fleet.groups, approvable, kb, bundleId, someComputer };
  } finally {
    db.close();
  }
}

async function main(): Promise<void> {
  process.stdout.write(`preparing the catalog (${UPDATES} top-level updates, seed ${SEED})…\n`);
  const prepared = prepareCatalog(UPDATES, SEED);
  try {
    const t0 = performance.now();
    const s = seed(prepared.dataDir);
    process.stdout.write(`catalog: ${num(prepared.revisions)} revisions (${prepared.reused ? 'cached' : `imported in ${prepared.importSeconds.toFixed(0)} s`}); `
      + `seeded ${num(COMPUTERS)} computers, ${GROUPS} groups in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    const child = await startServerChild(prepared.dataDir);
    const server = { proc: child.proc, admin: child.adminUrl };
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
