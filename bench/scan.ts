// Scan benchmark: simulated Windows Update clients against the real server (a child process) on
// a catalog of ≥ 20,000 revisions. Prints figures and a verdict per bar; asserts nothing.
//
//   1. prepare   a generated catalog imported once (cached under the temp folder), copied per run
//   2. server    `wsus serve` as a child; its VmRSS sampled every 200 ms through every phase
//   3. delta     an up-to-date client's real-shape SyncUpdates (~1,500 cached ids) under 100
//                connections (autocannon, in a child), against the server and against a static
//                responder that reads the same request and sends the same bytes; xpress on/off
//   4. first     N fresh clients: handshake, staged scan from an empty cache, then
//                GetExtendedUpdateInfo in batches of 50 for every leaf, repeated until the deadline
//   5. memory    the delta run once more: RSS after the first delta run vs after the last phase
//
// Environment knobs (all optional): BENCH_UPDATES (top-level updates, default 5000 → ~20,300
// revisions), BENCH_SEED (1), BENCH_SECONDS per run (10), BENCH_CONNECTIONS (100),
// BENCH_CLIENTS first-scan clients (16), BENCH_ONLY=delta|first, BENCH_CPU_PROF=1 (profile the
// server child with --cpu-prof and print its hottest functions at the end).

import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { xpressDecompress } from '../src/protocol/xpress/index.js';
import { envelope } from '../test/support/wua-client.js';
import { prepareCatalog, type PreparedCatalog } from './support/catalog.js';
import { latestProfile, topSelfTime } from './support/cpu-profile.js';
import type { AutocannonFigures, AutocannonTask, FirstScanFigures, FirstScanTask } from './support/load-worker.js';
import { ask, cpuSecondsOf, distRoot, forkModule, freePort, killAll, machineCpuSeconds, RssSampler, startServerChild, stopChild, type ServerChild } from './support/processes.js';
import { DESKTOP_PROFILE, installedNonLeafIds, ProfileClient } from './support/profile.js';
import type { CannedResponse } from './support/static-responder.js';
import { mb, ms, num, pct, table } from './support/stats.js';
import { envInt } from './support/knobs.js';


const UPDATES = envInt('BENCH_UPDATES', 5000);
const SEED = envInt('BENCH_SEED', 1);
const SECONDS = envInt('BENCH_SECONDS', 10);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 100);
const CLIENTS = envInt('BENCH_CLIENTS', 16);
const ONLY = process.env.BENCH_ONLY ?? '';
const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
const PAGE_SIZE = 30; // the server's default pageSize (config.json of the run does not change it)
const EXTENDED_BATCH = 50;
const WATCHDOG_MS = 20 * 60_000;

const BARS = {
  minRevisions: 20_000,
  deltaRatio: 0.25,
  deltaP99Ms: 50,
  firstScanFullPagesPerSec: 200,
  rssBytes: 400 * 1024 * 1024,
};

const CLIENT_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService';
const SYNC_ACTION = `${CLIENT_NS}/SyncUpdates`;
const repoRoot = join(distRoot, '..');

function log(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function section(title: string): void {
  log();
  log(`== ${title} ${'='.repeat(Math.max(0, 70 - title.length))}`);
}

// ---------------------------------------------------------------------------------------------
// The delta request: a captured native SyncUpdates body with our cookie and cached-id arrays.

const CAPTURE_CANDIDATES = [
  process.env.BENCH_CAPTURE,
  join(repoRoot, '..', 'shared', 'captures', 'wsus-m0-native', 'flow', '000013', 'request.body'),
  join(repoRoot, 'shared', 'captures', 'wsus-m0-native', 'flow', '000013', 'request.body'),
].filter((p): p is string => typeof p === 'string');

const ints = (name: string, ids: readonly number[]): string =>
  ids.length ? `<${name}>${ids.map((i) => `<int>${i}</int>`).join('')}</${name}>` : '';

function deltaRequestBody(c: ProfileClient): { body: string; source: string } {
  const capture = CAPTURE_CANDIDATES.find((p) => existsSync(p));
  if (capture) {
    let xml = readFileSync(capture, 'utf8');
    const replace = (re: RegExp, by: string): void => {
      if (!re.test(xml)) throw new Error(`capture ${capture} has no ${re.source}`);
      xml = xml.replace(re, () => by);
    };
    replace(/<cookie>[\s\S]*?<\/cookie>/, c.cookieXml());
    replace(/<InstalledNonLeafUpdateIDs>[\s\S]*?<\/InstalledNonLeafUpdateIDs>/, ints('InstalledNonLeafUpdateIDs', c.installedNonLeaf));
    replace(/<OtherCachedUpdateIDs>[\s\S]*?<\/OtherCachedUpdateIDs>/, ints('OtherCachedUpdateIDs', c.otherCached));
    return { body: xml, source: `native capture ${capture.slice(capture.indexOf('captures/'))} (cookie and id arrays replaced)` };
  }
  return { body: envelope(c.syncRequest()), source: 'WuaClient.syncRequest() (native capture not found)' };
}

function deltaHeaders(xpress: boolean): Record<string, string> {
  return {
    'content-type': 'text/xml; charset=utf-8',
    soapaction: `"${SYNC_ACTION}"`,
    'user-agent': 'Windows-Update-Agent/1507.2601.30012.0 Client-Protocol/2.90',
    'cache-control': 'no-cache',
    pragma: 'no-cache',
    ...(xpress ? { 'accept-encoding': 'xpress' } : {}),
  };
}

async function capture(url: string, body: string, xpress: boolean): Promise<CannedResponse & { bytes: Buffer; xml: string }> {
  const res = await request(`${url}/ClientWebService/client.asmx`, { method: 'POST', headers: deltaHeaders(xpress), body });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  const headers: Record<string, string> = {};
  for (const k of ['content-type', 'cache-control', 'content-encoding', 'content-length']) {
    const v = res.headers[k];
    if (typeof v === 'string') headers[k] = v;
  }
  const xml = (res.headers['content-encoding'] === 'xpress' ? xpressDecompress(bytes, 64 * 1024 * 1024) : bytes).toString('utf8');
  if (res.statusCode !== 200) throw new Error(`delta request answered ${res.statusCode}: ${xml.slice(0, 500)}`);
  return { status: res.statusCode, headers, bodyBase64: bytes.toString('base64'), bytes, xml };
}

// ---------------------------------------------------------------------------------------------

interface DeltaRun {
  target: 'ours' | 'static';
  xpress: boolean;
  figures: AutocannonFigures;
  /** CPU of the responding process during the run, in cores */
  serverCpuCores: number;
  rssMaxDuring: number;
  machine: MachineLoad;
}

interface FirstScanRun {
  xpress: boolean;
  figures: FirstScanFigures;
  serverCpuCores: number;
  rssMaxDuring: number;
  machine: MachineLoad;
}

/** Machine-wide CPU during a run, in cores: all busy time, and time stolen by the hypervisor. */
interface MachineLoad {
  busyCores: number;
  stealCores: number;
}

function machineMeter(): () => MachineLoad {
  const m0 = machineCpuSeconds();
  const t0 = performance.now();
  return () => {
    const m1 = machineCpuSeconds();
    const s = (performance.now() - t0) / 1000;
    return { busyCores: (m1.busy - m0.busy) / s, stealCores: (m1.steal - m0.steal) / s };
  };
}

/** Delta figures of one target: ours as measured, static as the mean of its bracketing runs. */
function deltaOf(runs: readonly DeltaRun[], target: 'ours' | 'static', xpress: boolean): { reqPerSec: number; p50: number; p99: number } | undefined {
  const rs = runs.filter((r) => r.target === target && r.xpress === xpress);
  if (!rs.length) return undefined;
  const mean = (f: (r: DeltaRun) => number): number => rs.reduce((a, r) => a + f(r), 0) / rs.length;
  return { reqPerSec: mean((r) => r.figures.reqPerSec), p50: mean((r) => r.figures.p50), p99: mean((r) => r.figures.p99) };
}

/** CPU used by processes other than the responder and the load generator (other sessions, kernel threads). */
const otherCores = (m: MachineLoad, responder: number, loadgen: number): string => Math.max(0, m.busyCores - responder - loadgen).toFixed(2);

async function main(): Promise<void> {
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: watchdog: still running after ${WATCHDOG_MS / 60000} min, giving up\n`);
    killAll();
    process.exit(1);
  }, WATCHDOG_MS);
  watchdog.unref();

  log('scan benchmark: simulated WUA clients against the real server (loopback, child processes)');
  log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}`);
  log(`settings: ${SECONDS} s per run, ${CONNECTIONS} connections, ${CLIENTS} first-scan clients, pageSize ${PAGE_SIZE}, extended batch ${EXTENDED_BATCH}`);

  section('1. catalog');
  const t0 = performance.now();
  const cat: PreparedCatalog = prepareCatalog(UPDATES, SEED);
  log(`catalog: updates=${UPDATES} seed=${SEED} → ${num(cat.revisions)} revisions (${cat.revisionsPerUpdate.toFixed(3)} per update)`);
  log(`import: ${cat.importSeconds.toFixed(1)} s${cat.reused ? ' (earlier run; cached database reused)' : ''}; data dir ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  log(`fragments (escaped chars): Core avg ${num(cat.fragments.coreAvg)} (p95 ${num(cat.fragments.coreP95)}), Extended avg ${num(cat.fragments.extendedAvg)}, `
    + `LocalizedProperties avg ${num(cat.fragments.localizedAvg)}; update document avg ${num(cat.fragments.documentAvg)}`);
  log(`cache: ${cat.cacheDir}`);

  const serverDir = CPU_PROF ? mkdtempSync(join(tmpdir(), 'wsus-bench-prof-')) : null;
  let server: ServerChild | null = null;
  const deltaRuns: DeltaRun[] = [];
  let deltaDistinct: DeltaRun | undefined;
  const firstRuns: FirstScanRun[] = [];
  let sampler: RssSampler | null = null;
  try {
    section('2. server');
    server = await startServerChild(cat.dataDir, serverDir ? ['--cpu-prof', `--cpu-prof-dir=${serverDir}`] : []);
    sampler = new RssSampler(server.pid);
    sampler.start();
    sampler.phase('startup (idle)');
    await new Promise((r) => setTimeout(r, 1000));
    const rssIdle = sampler.sample() ?? 0;
    log(`server: pid ${server.pid} at ${server.url}${serverDir ? ` (cpu profile → ${serverDir})` : ''}; RSS idle after catalog load ${mb(rssIdle)}`);

    const installed = installedNonLeafIds(UPDATES, SEED, DESKTOP_PROFILE);
    const worker = forkModule('load-worker.js');
    const serverPid = server.pid;
    const serverUrl = server.url;

    // ---- delta scan ---------------------------------------------------------------------
    let rssAfterFirstLoad = 0;
    let requestsAfterFirstLoad = 0;
    let requestsTotal = 0;
    let deltaCached = 0;
    let deltaBodyBase64: string | null = null;
    if (ONLY !== 'first') {
      section('3. delta scan (client up to date)');
      sampler.phase('delta setup (one full scan)');
      const client = new ProfileClient(serverUrl, randomUUID(), installed, { xpress: true });
      const ts = performance.now();
      await client.handshake();
      const pages = await client.fullScan();
      deltaCached = client.installedNonLeaf.length + client.otherCached.length;
      log(`machine profile: ${DESKTOP_PROFILE.products.join(', ')} on ${DESKTOP_PROFILE.arch}, OS build ${DESKTOP_PROFILE.osBuilds.join('/')}`);
      log(`up-to-date client: ${pages} pages in ${((performance.now() - ts) / 1000).toFixed(2)} s; cache ${num(deltaCached)} ids `
        + `(InstalledNonLeaf ${client.installedNonLeaf.length}, OtherCached ${num(client.otherCached.length)}) — native capture: 1,431 (94 + 1,337)`);
      const { body, source } = deltaRequestBody(client);
      log(`request: ${num(Buffer.byteLength(body))} bytes, from ${source}`);
      const plain = await capture(serverUrl, body, false);
      const xp = await capture(serverUrl, body, true);
      const newUpdates = (plain.xml.match(/<UpdateInfo>/g) ?? []).length;
      if (newUpdates || !plain.xml.includes('<Truncated>false</Truncated>')) {
        throw new Error(`the delta response is not "up to date" (${newUpdates} UpdateInfo): ${plain.xml.slice(0, 400)}`);
      }
      if (xp.headers['content-encoding'] !== 'xpress') throw new Error('the server did not answer Accept-Encoding: xpress with xpress');
      log(`response: ${num(plain.bytes.length)} bytes plain, ${num(xp.bytes.length)} bytes xpress (${num(xpressDecompress(xp.bytes, 1 << 26).length)} decoded); no updates, not truncated`);
      requestsTotal += 4 + pages;

      const staticPort = await freePort();
      const responder = forkModule('static-responder.js');
      const canned = (r: CannedResponse): CannedResponse => ({ status: r.status, headers: r.headers, bodyBase64: r.bodyBase64 });
      await ask(responder, { port: staticPort, plain: canned(plain), xpress: canned(xp) }, 30_000);
      const staticUrl = `http://127.0.0.1:${staticPort}`;
      const bodyBase64 = Buffer.from(body, 'utf8').toString('base64');
      deltaBodyBase64 = bodyBase64;

      const run = async (target: 'ours' | 'static', xpress: boolean, seconds: number, label: string, distinct = false): Promise<DeltaRun> => {
        const pid = target === 'ours' ? serverPid : responder.pid!;
        sampler!.phase(label);
        const cpu0 = cpuSecondsOf(pid);
        const w0 = performance.now();
        const meter = machineMeter();
        const task: AutocannonTask = {
          kind: 'autocannon', url: `${target === 'ours' ? serverUrl : staticUrl}/ClientWebService/client.asmx`,
          headers: deltaHeaders(xpress), bodyBase64, connections: CONNECTIONS, durationSec: seconds, distinct,
        };
        const figures = await ask<AutocannonFigures>(worker, task, (seconds + 60) * 1000);
        const machine = meter();
        const serverCpuCores = (cpuSecondsOf(pid) - cpu0) / ((performance.now() - w0) / 1000);
        const phase = sampler!.phases[sampler!.phases.length - 1]!;
        if (target === 'ours') requestsTotal += figures.total;
        return { target, xpress, figures, serverCpuCores, rssMaxDuring: phase.max, machine };
      };

      // Warm both sides up (JIT, connection pools) before anything is measured.
      await run('static', true, 2, 'warm-up static');
      await run('ours', true, 2, 'warm-up ours');
      const rows: string[][] = [['run', 'req/s', 'p50', 'p90', 'p99', 'p99.9', 'max', 'non-2xx', 'errors', 'resp bytes', 'responder CPU', 'loadgen CPU', 'other CPU', 'steal', 'server RSS max']];
      // Static runs bracket ours (static, ours, static) and the floor is their mean, so a
      // neighbour's burst of CPU during one of them does not decide the ratio.
      for (const xpress of [false, true]) {
        for (const [k, target] of (['static', 'ours', 'static'] as const).entries()) {
          const label = `delta ${target} xpress=${xpress ? 'on' : 'off'}${target === 'static' ? ` (${k === 0 ? 'before' : 'after'})` : ''}`;
          const r = await run(target, xpress, SECONDS, label);
          deltaRuns.push(r);
          if (target === 'ours' && rssAfterFirstLoad === 0) {
            rssAfterFirstLoad = sampler.sample() ?? 0;
            requestsAfterFirstLoad = requestsTotal;
          }
          const f = r.figures;
          rows.push([label.slice('delta '.length), num(f.reqPerSec), ms(f.p50), ms(f.p90), ms(f.p99), ms(f.p999), ms(f.max), num(f.non2xx), num(f.errors),
            num(f.bytesPerResponse), `${r.serverCpuCores.toFixed(2)} cores`, `${f.cpuCores.toFixed(2)} cores`, otherCores(r.machine, r.serverCpuCores, f.cpuCores),
            r.machine.stealCores.toFixed(2), target === 'ours' ? mb(r.rssMaxDuring) : '(idle)']);
          log(`  ${rows[rows.length - 1]![0]}: ${rows[rows.length - 1]![1]} req/s, p99 ${ms(f.p99)}`);
        }
      }
      // The server memoizes identical scan requests (a fleet of one image sends many); this run
      // makes every request distinct so the figure without that help is on record too.
      {
        const r = await run('ours', false, SECONDS, 'delta ours xpress=off, every request distinct', true);
        deltaDistinct = r;
        const f = r.figures;
        rows.push(['ours xpress=off, distinct requests', num(f.reqPerSec), ms(f.p50), ms(f.p90), ms(f.p99), ms(f.p999), ms(f.max), num(f.non2xx), num(f.errors),
          num(f.bytesPerResponse), `${r.serverCpuCores.toFixed(2)} cores`, `${f.cpuCores.toFixed(2)} cores`, otherCores(r.machine, r.serverCpuCores, f.cpuCores),
          r.machine.stealCores.toFixed(2), mb(r.rssMaxDuring)]);
        log(`  ${rows[rows.length - 1]![0]}: ${rows[rows.length - 1]![1]} req/s, p99 ${ms(f.p99)}`);
      }
      log();
      log(table(rows));
      log('responder CPU: the process answering (our server or the static responder); other CPU: machine busy time minus responder and');
      log('load generator (other processes, kernel threads); steal: time the hypervisor gave to other guests. All in cores.');
      for (const xpress of [false, true]) {
        const ours = deltaOf(deltaRuns, 'ours', xpress)!;
        const stat = deltaOf(deltaRuns, 'static', xpress)!;
        log(`ratio ours/static, xpress ${xpress ? 'on ' : 'off'}: ${(ours.reqPerSec / stat.reqPerSec).toFixed(3)} `
          + `(${num(ours.reqPerSec)} / ${num(stat.reqPerSec)} req/s, static = mean of the runs before and after)`);
      }
      if (deltaDistinct) {
        const stat = deltaOf(deltaRuns, 'static', false)!;
        log(`ratio ours/static, xpress off, every request distinct (no memoized scan): ${(deltaDistinct.figures.reqPerSec / stat.reqPerSec).toFixed(3)} `
          + `(${num(deltaDistinct.figures.reqPerSec)} / ${num(stat.reqPerSec)} req/s)`);
      }
      const saturated = deltaRuns.filter((r) => r.figures.cpuCores > 0.9);
      if (saturated.length) {
        log(`note: the load generator used > 0.9 core in ${saturated.map((r) => `${r.target}/xpress=${r.xpress ? 'on' : 'off'}`).join(', ')}: `
          + 'on 2 cores it competes with the responder, so those figures are floors of what the responder could do');
      }
      await stopChild(responder);
    }

    // ---- first scan ---------------------------------------------------------------------
    if (ONLY !== 'delta') {
      section('4. first scan (empty cache → staged pages → GetExtendedUpdateInfo)');
      const rows: string[][] = [['run', 'full pages/s', 'pages/s', 'page p50', 'page p99', 'ext calls/s', 'ext p99', 'scans done', 'clients done',
        'server CPU', 'loadgen CPU', 'other CPU', 'steal', 'server RSS max']];
      for (const xpress of [true, false]) {
        sampler.phase(`first scan xpress=${xpress ? 'on' : 'off'}`);
        const cpu0 = cpuSecondsOf(serverPid);
        const w0 = performance.now();
        const meter = machineMeter();
        const task: FirstScanTask = {
          kind: 'firstScan', base: serverUrl, clients: CLIENTS, durationMs: SECONDS * 1000, pageSize: PAGE_SIZE,
          installed: [...installed], xpress, extendedBatch: EXTENDED_BATCH,
        };
        const f = await ask<FirstScanFigures>(worker, task, (SECONDS + 120) * 1000);
        const machine = meter();
        const serverCpuCores = (cpuSecondsOf(serverPid) - cpu0) / ((performance.now() - w0) / 1000);
        const phase = sampler.phases[sampler.phases.length - 1]!;
        firstRuns.push({ xpress, figures: f, serverCpuCores, rssMaxDuring: phase.max, machine });
        requestsTotal += f.pages + f.extendedCalls + f.handshakeCalls;
        if (rssAfterFirstLoad === 0) {
          rssAfterFirstLoad = sampler.sample() ?? 0;
          requestsAfterFirstLoad = requestsTotal;
        }
        const s = f.elapsedSec || 1;
        rows.push([`xpress=${xpress ? 'on' : 'off'}`, num(f.fullPages / s, 1), num(f.pages / s, 1), ms(f.pageLatency.p50), ms(f.pageLatency.p99),
          num(f.extendedCalls / s, 1), ms(f.extendedLatency.p99), num(f.scansCompleted), num(f.clientsCompleted),
          `${serverCpuCores.toFixed(2)} cores`, `${f.cpuCores.toFixed(2)} cores`, otherCores(machine, serverCpuCores, f.cpuCores),
          machine.stealCores.toFixed(2), mb(phase.max)]);
        log(`  xpress=${xpress ? 'on' : 'off'}: ${num(f.pages)} pages (${num(f.fullPages)} full, ${num(f.updatesDelivered)} updates, avg ${num(f.pageWireBytesAvg)} wire bytes), `
          + `${num(f.extendedCalls)} GetExtendedUpdateInfo (avg ${num(f.extendedWireBytesAvg)} wire bytes), ${num(f.handshakeCalls)} handshake calls in ${f.elapsedSec.toFixed(1)} s; `
          + `${f.pagesPerScan.toFixed(1)} pages and ${num(f.cachedIdsPerScan)} cached ids per completed scan`);
        if (f.errors.length) log(`  errors: ${f.errors.join(' | ')}`);
        if (f.cpuCores > 0.9) log(`  note: the load generator was saturated (${f.cpuCores.toFixed(2)} cores: XML parsing and xpress decoding of the pages); the figure is a floor`);
      }
      log();
      log(table(rows));
    }

    // ---- memory growth --------------------------------------------------------------------
    section('5. memory');
    if (deltaBodyBase64 !== null && ONLY === '') {
      // The same delta load once more: RSS after it vs after the first measured phase.
      sampler.phase('delta ours xpress=on (repeat)');
      const task: AutocannonTask = {
        kind: 'autocannon', url: `${serverUrl}/ClientWebService/client.asmx`, headers: deltaHeaders(true),
        bodyBase64: deltaBodyBase64, connections: CONNECTIONS, durationSec: SECONDS,
      };
      const f = await ask<AutocannonFigures>(worker, task, (SECONDS + 60) * 1000);
      requestsTotal += f.total;
      log(`delta ours xpress=on once more: ${num(f.reqPerSec)} req/s, p99 ${ms(f.p99)}, ${num(f.non2xx)} non-2xx`);
    }
    await new Promise((r) => setTimeout(r, 1000));
    const rssEnd = sampler.sample() ?? 0;
    sampler.stop();
    const rows: string[][] = [['phase', 'samples', 'RSS min', 'RSS max', 'RSS at end']];
    for (const p of sampler.phases) rows.push([p.phase, num(p.samples), mb(p.min), mb(p.max), mb(p.last)]);
    log(table(rows));
    log(`RSS after the first measured load phase: ${mb(rssAfterFirstLoad)} (${num(requestsAfterFirstLoad)} requests served so far)`);
    log(`RSS after the last phase:                ${mb(rssEnd)} (${num(requestsTotal)} requests served; ${num(requestsTotal - requestsAfterFirstLoad)} more)`);
    const growth = rssEnd - rssAfterFirstLoad;
    log(`growth: ${growth >= 0 ? '+' : ''}${mb(growth)} over ${num(requestsTotal - requestsAfterFirstLoad)} requests`
      + ` (${num((growth / Math.max(1, requestsTotal - requestsAfterFirstLoad)), 1)} bytes/request); peak RSS ${mb(sampler.overallMax)}`);

    // ---- summary ----------------------------------------------------------------------------
    section('summary');
    const verdicts: string[] = [];
    const verdict = (name: string, value: number, bar: number, higherIsBetter: boolean, fmt: (v: number) => string): void => {
      const met = higherIsBetter ? value >= bar : value < bar;
      const by = higherIsBetter ? (bar - value) / bar : (value - bar) / bar;
      verdicts.push(`${met ? 'MET   ' : 'MISSED'} ${name}: ${fmt(value)} (bar ${higherIsBetter ? '≥' : '<'} ${fmt(bar)})${met ? '' : ` — missed by ${pct(by)}`}`);
    };
    verdict('catalog revisions', cat.revisions, BARS.minRevisions, true, (v) => num(v));
    const summary: string[][] = [['figure', 'xpress off', 'xpress on']];
    if (deltaRuns.length) {
      const d = (target: 'ours' | 'static', x: boolean) => deltaOf(deltaRuns, target, x)!;
      const cell = (f: (x: boolean) => string): string[] => [f(false), f(true)];
      summary.push(['delta: ours req/s', ...cell((x) => num(d('ours', x).reqPerSec))]);
      summary.push(['delta: static req/s (mean of 2)', ...cell((x) => num(d('static', x).reqPerSec))]);
      summary.push(['delta: ratio ours/static', ...cell((x) => (d('ours', x).reqPerSec / d('static', x).reqPerSec).toFixed(3))]);
      summary.push(['delta: ours p50 / p99', ...cell((x) => `${ms(d('ours', x).p50)} / ${ms(d('ours', x).p99)}`)]);
      summary.push(['delta: static p50 / p99', ...cell((x) => `${ms(d('static', x).p50)} / ${ms(d('static', x).p99)}`)]);
      summary.push(['delta: cached ids in request', num(deltaCached), num(deltaCached)]);
      for (const x of [false, true]) {
        const o = d('ours', x);
        const st = d('static', x);
        const tag = `xpress ${x ? 'on' : 'off'}`;
        verdict(`delta ratio ours/static (${tag})`, o.reqPerSec / st.reqPerSec, BARS.deltaRatio, true, (v) => v.toFixed(3));
        verdict(`delta p99 at ${CONNECTIONS} connections (${tag})`, o.p99, BARS.deltaP99Ms, false, ms);
        const run = deltaRuns.find((r) => r.target === 'ours' && r.xpress === x)!;
        if (run.figures.non2xx || run.figures.errors) verdicts.push(`WARN   delta ours (${tag}): ${run.figures.non2xx} non-2xx, ${run.figures.errors} errors`);
      }
    }
    if (firstRuns.length) {
      const fr = (x: boolean): FirstScanRun | undefined => firstRuns.find((r) => r.xpress === x);
      const cell = (f: (r: FirstScanRun) => string): string[] => [fr(false) ? f(fr(false)!) : '-', fr(true) ? f(fr(true)!) : '-'];
      summary.push(['first scan: full pages/s', ...cell((r) => num(r.figures.fullPages / (r.figures.elapsedSec || 1), 1))]);
      summary.push(['first scan: all pages/s', ...cell((r) => num(r.figures.pages / (r.figures.elapsedSec || 1), 1))]);
      summary.push(['first scan: page p50 / p99', ...cell((r) => `${ms(r.figures.pageLatency.p50)} / ${ms(r.figures.pageLatency.p99)}`)]);
      summary.push(['first scan: GetExtendedUpdateInfo/s', ...cell((r) => num(r.figures.extendedCalls / (r.figures.elapsedSec || 1), 1))]);
      summary.push(['first scan: loadgen CPU (cores)', ...cell((r) => r.figures.cpuCores.toFixed(2))]);
      for (const r of firstRuns) {
        verdict(`first scan full pages/s (xpress ${r.xpress ? 'on' : 'off'})`, r.figures.fullPages / (r.figures.elapsedSec || 1), BARS.firstScanFullPagesPerSec, true, (v) => num(v, 1));
        if (r.figures.errors.length) verdicts.push(`WARN   first scan (xpress ${r.xpress ? 'on' : 'off'}): ${r.figures.errors.length} client errors`);
      }
    }
    summary.push(['server RSS peak (all phases)', mb(sampler.overallMax), '']);
    summary.push(['server RSS after first load / end', `${mb(rssAfterFirstLoad)} / ${mb(rssEnd)}`, '']);
    log(table(summary));
    log();
    verdict('server RSS peak', sampler.overallMax, BARS.rssBytes, false, mb);
    // "Does not grow with request count": allow GC noise of 10% of the first-load RSS.
    const allowed = Math.max(20 * 1024 * 1024, rssAfterFirstLoad * 0.1);
    verdicts.push(`${growth <= allowed ? 'MET   ' : 'MISSED'} memory does not grow with request count: ${growth >= 0 ? '+' : ''}${mb(growth)} over `
      + `${num(requestsTotal - requestsAfterFirstLoad)} more requests (tolerance ${mb(allowed)} for GC noise)`
      + (growth <= allowed ? '' : ` — missed by ${pct((growth - allowed) / allowed)}`));
    for (const v of verdicts) log(v);
  } finally {
    sampler?.stop();
    if (server) await stopChild(server.proc, 20_000);
    killAll();
    cat.cleanup();
  }

  if (serverDir) {
    section('server CPU profile (self time, whole run)');
    const file = latestProfile(serverDir);
    if (!file) {
      log(`no profile written in ${serverDir}`);
    } else {
      const prof = topSelfTime(file, repoRoot, 25);
      log(`profile: ${file}; ${(prof.totalMs / 1000).toFixed(1)} s sampled, ${(prof.idleMs / 1000).toFixed(1)} s idle`);
      log(table([['self ms', 'share of busy', 'function', 'location'],
        ...prof.top.map((h) => [num(h.selfMs), pct(h.share), h.name, h.location])]));
      if (process.env.BENCH_KEEP_PROF !== '1') rmSync(serverDir, { recursive: true, force: true });
    }
  }
}

main().then(
  () => {
    process.exitCode = 0;
  },
  (e: unknown) => {
    process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
    killAll();
    process.exitCode = 1;
  },
);
