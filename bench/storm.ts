// Scan-storm benchmark: what admission control buys when far more clients scan at once than the
// server can answer (Patch Tuesday). Two real servers (`wsus serve` children) on copies of one
// generated catalog: one with the default limits, one with admission disabled
// (limits.maxConcurrentSoap 0, no connection cap). Prints figures; asserts nothing.
//
//   1. ramp      real-shape delta scans (an up-to-date client's SyncUpdates, ~1,500 cached ids) at
//                10, 50, 100 connections against both servers, interleaved: the sustainable rate,
//                and the cost of admission on the hot path (on vs off at equal load)
//   2. storm     10x the best ramp concurrency, and more (BENCH_STORM, default 10x and 2,500
//                connections): clients that retry at once (ignoring Retry-After, the worst case)
//                and, on the admission server, clients that back off for Retry-After (jittered) as
//                Windows Update does.
//                Per run: 200/s vs the peak, share of 503s and their latency, p50/p99 of the
//                admitted, server RSS peak, and one normal scan right after the storm.
//   3. shutdown  SIGTERM to each server: how long the graceful stop took, and its exit code
//
// Knobs: BENCH_UPDATES (5000), BENCH_SEED (1), BENCH_SECONDS per run (10), BENCH_STORM
// (comma-separated connection counts; default 10x the best ramp count and 2500),
// BENCH_RETRY_AFTER (Retry-After the admission server sends, default 2 s to keep runs short).

import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { envelope } from '../test/support/wua-client.js';
import { prepareCatalog, type PreparedCatalog } from './support/catalog.js';
import { ask, cpuSecondsOf, distRoot, forkModule, killAll, RssSampler, startServerChild, type ServerChild } from './support/processes.js';
import { DESKTOP_PROFILE, installedNonLeafIds, ProfileClient } from './support/profile.js';
import { mb, ms, num, pct, table } from './support/stats.js';
import type { StormFigures, StormTask } from './support/storm-worker.js';
import { envInt } from './support/knobs.js';


const UPDATES = envInt('BENCH_UPDATES', 5000);
const SEED = envInt('BENCH_SEED', 1);
const SECONDS = envInt('BENCH_SECONDS', 10);
const RETRY_AFTER = envInt('BENCH_RETRY_AFTER', 2);
const STORM = (process.env.BENCH_STORM ?? '').split(',').filter((s) => /^\d+$/.test(s)).map(Number);
const RAMP = [10, 50, 100];
const WATCHDOG_MS = 30 * 60_000;
const CLIENT_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService';
const PATH = '/ClientWebService/client.asmx';
const repoRoot = join(distRoot, '..');

const log = (line = ''): void => void process.stdout.write(`${line}\n`);
const section = (title: string): void => log(`\n== ${title} ${'='.repeat(Math.max(0, 70 - title.length))}`);

const HEADERS = {
  'content-type': 'text/xml; charset=utf-8',
  soapaction: `"${CLIENT_NS}/SyncUpdates"`,
  'user-agent': 'Windows-Update-Agent/1507.2601.30012.0 Client-Protocol/2.90',
  'accept-encoding': 'xpress',
};

const CAPTURE = [
  process.env.BENCH_CAPTURE,
  join(repoRoot, '..', 'shared', 'captures', 'wsus-m0-native', 'flow', '000013', 'request.body'),
].find((p): p is string => typeof p === 'string' && existsSync(p));

const ints = (name: string, ids: readonly number[]): string =>
  ids.length ? `<${name}>${ids.map((i) => `<int>${i}</int>`).join('')}</${name}>` : '';

/** The delta request: the native capture with this client's cookie and cached ids, or the simulated client's own. */
function deltaBody(c: ProfileClient): string {
  if (!CAPTURE) return envelope(c.syncRequest());
  return readFileSync(CAPTURE, 'utf8')
    .replace(/<cookie>[\s\S]*?<\/cookie>/, () => c.cookieXml())
    .replace(/<InstalledNonLeafUpdateIDs>[\s\S]*?<\/InstalledNonLeafUpdateIDs>/, () => ints('InstalledNonLeafUpdateIDs', c.installedNonLeaf))
    .replace(/<OtherCachedUpdateIDs>[\s\S]*?<\/OtherCachedUpdateIDs>/, () => ints('OtherCachedUpdateIDs', c.otherCached));
}

/** One delta scan on a fresh connection, timed to the last byte. */
async function oneScan(url: string, body: string): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  const res = await request(`${url}${PATH}`, { method: 'POST', headers: HEADERS, body, reset: true });
  await res.body.dump();
  return { status: res.statusCode, ms: performance.now() - t0 };
}

interface Target {
  name: 'admission on' | 'admission off';
  cat: PreparedCatalog;
  server: ServerChild;
  rss: RssSampler;
  body: string;
}

interface Run {
  target: Target['name'];
  clients: number;
  honor: boolean;
  f: StormFigures;
  rssMax: number;
  /** server CPU per answer (200 or 503), microseconds */
  cpuPerAnswerUs: number;
  after?: { status: number; ms: number };
}

function writeLimits(cat: PreparedCatalog, limits: Record<string, number>): void {
  const file = join(cat.dataDir, 'config.json');
  const cfg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...cfg, limits }, null, 2));
}

async function main(): Promise<void> {
  const watchdog = setTimeout(() => {
    process.stderr.write('storm: watchdog: giving up\n');
    killAll();
    process.exit(1);
  }, WATCHDOG_MS);
  watchdog.unref();

  log('scan-storm benchmark: admission control on vs off (loopback, child processes)');
  log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}; ${SECONDS} s per run; Retry-After ${RETRY_AFTER} s`);

  section('setup');
  const catOn = prepareCatalog(UPDATES, SEED);
  const catOff = prepareCatalog(UPDATES, SEED);
  log(`catalog: ${num(catOn.revisions)} revisions (updates=${UPDATES} seed=${SEED})`);
  // Every simulated client comes from 127.0.0.1, which the per-address rate limit exempts.
  writeLimits(catOn, { retryAfterSeconds: RETRY_AFTER });
  writeLimits(catOff, { maxConcurrentSoap: 0, maxConcurrentDownloads: 0, maxConnections: 0, clientRequestsPerMinute: 0 });
  const targets: Target[] = [];
  const worker = forkModule('storm-worker.js');
  const runs: Run[] = [];
  try {
    for (const [name, cat] of [['admission on', catOn], ['admission off', catOff]] as const) {
      const server = await startServerChild(cat.dataDir);
      const rss = new RssSampler(server.pid);
      rss.start();
      rss.phase('idle');
      targets.push({ name, cat, server, rss, body: '' });
      log(`${name}: pid ${server.pid} at ${server.url}`);
    }
    const installed = installedNonLeafIds(UPDATES, SEED, DESKTOP_PROFILE);
    // Each server has its own cookie key: one up-to-date client per server, and its delta request.
    for (const t of targets) {
      const client = new ProfileClient(t.server.url, randomUUID(), installed, { xpress: true });
      await client.handshake();
      await client.fullScan();
      t.body = deltaBody(client);
      const s = await oneScan(t.server.url, t.body);
      if (s.status !== 200) throw new Error(`${t.name}: the delta request answered ${s.status}`);
      log(`${t.name}: delta request ${num(Buffer.byteLength(t.body))} bytes, ${num(client.installedNonLeaf.length + client.otherCached.length)} cached ids${CAPTURE ? ' (native capture shape)' : ''}`);
    }

    const storm = async (t: Target, clients: number, honor: boolean, seconds: number, label: string): Promise<Run> => {
      t.rss.phase(label);
      const bodyBase64 = Buffer.from(t.body, 'utf8').toString('base64');
      const task: StormTask = { kind: 'storm', origin: t.server.url, path: PATH, headers: HEADERS, bodyBase64, clients, durationSec: seconds, honorRetryAfter: honor };
      const cpu0 = cpuSecondsOf(t.server.pid);
      const f = await ask<StormFigures>(worker, task, (seconds + 120) * 1000);
      const cpuPerAnswerUs = ((cpuSecondsOf(t.server.pid) - cpu0) * 1e6) / Math.max(1, f.ok + f.busy);
      const rssMax = t.rss.phases[t.rss.phases.length - 1]!.max;
      const run: Run = { target: t.name, clients, honor, f, rssMax, cpuPerAnswerUs };
      runs.push(run);
      return run;
    };
    const rate = (r: Run): number => r.f.ok / r.f.elapsedSec;

    section('1. ramp (sustainable rate; hot-path cost of admission)');
    for (const t of targets) await storm(t, 50, false, 3, 'warm-up');
    const rampRows: string[][] = [['connections', 'server', '200/s', 'p50', 'p99', '503', 'errors', 'server CPU/request', 'loadgen CPU']];
    const ramp: Run[] = [];
    for (const clients of [...RAMP, RAMP[RAMP.length - 1]!]) {
      for (const t of targets) {
        const r = await storm(t, clients, false, SECONDS, `ramp ${clients}`);
        ramp.push(r);
        rampRows.push([String(clients), t.name, num(rate(r)), ms(r.f.okLatency.p50), ms(r.f.okLatency.p99), num(r.f.busy), num(r.f.errors), `${num(r.cpuPerAnswerUs)} µs`, `${r.f.cpuCores.toFixed(2)} cores`]);
        log(`  ${clients} connections, ${t.name}: ${num(rate(r))} req/s, p99 ${ms(r.f.okLatency.p99)}`);
      }
    }
    log(table(rampRows));
    const mean = (name: Target['name'], f: (r: Run) => number): number => {
      const rs = ramp.filter((r) => r.target === name);
      return rs.reduce((a, r) => a + f(r), 0) / rs.length;
    };
    const top = RAMP[RAMP.length - 1]!;
    const topRate = (name: Target['name']): number => {
      const rs = ramp.filter((r) => r.target === name && r.clients === top);
      return rs.reduce((a, r) => a + rate(r), 0) / rs.length;
    };
    const cpuOn = mean('admission on', (r) => r.cpuPerAnswerUs);
    const cpuOff = mean('admission off', (r) => r.cpuPerAnswerUs);
    log(`hot path: server CPU per request over all ramp runs: admission on ${num(cpuOn, 1)} µs, off ${num(cpuOff, 1)} µs (${cpuOn >= cpuOff ? '+' : ''}${pct((cpuOn - cpuOff) / cpuOff)}); `
      + `at ${top} connections (mean of 2 interleaved runs each): on ${num(topRate('admission on'))} req/s, off ${num(topRate('admission off'))} req/s`);
    const onRamp = ramp.filter((r) => r.target === 'admission on');
    const best = onRamp.reduce((a, r) => (rate(r) > rate(a) ? r : a));
    const peak = rate(best);
    log(`sustainable: ${num(peak)} req/s at ${best.clients} connections (p99 ${ms(best.f.okLatency.p99)}) — the peak the storms are measured against`);

    section('2. storm');
    const sizes = STORM.length ? STORM : [best.clients * 10, 2500];
    const stormRows: string[][] = [['server', 'connections', 'clients', '200/s', 'vs peak', '503 share', '503 p50 / p99', 'admitted p50 / p99', 'errors', 'server CPU/answer', 'RSS peak', 'scan after', 'loadgen CPU']];
    const plan: Array<{ t: Target; clients: number; honor: boolean }> = [];
    for (const clients of sizes) {
      for (const t of targets) plan.push({ t, clients, honor: false });
      plan.push({ t: targets[0]!, clients, honor: true });
    }
    for (const p of plan) {
      const label = `storm ${p.clients}${p.honor ? ' (backing off for Retry-After)' : ''}`;
      const r = await storm(p.t, p.clients, p.honor, SECONDS, label);
      r.after = await oneScan(p.t.server.url, p.t.body);
      const total = r.f.ok + r.f.busy + r.f.otherStatus + r.f.errors;
      stormRows.push([p.t.name, num(p.clients), p.honor ? 'back off' : 'retry at once', num(rate(r)), pct(rate(r) / peak),
        total ? pct(r.f.busy / total) : '-', r.f.busy ? `${ms(r.f.busyLatency.p50)} / ${ms(r.f.busyLatency.p99)}` : '-',
        `${ms(r.f.okLatency.p50)} / ${ms(r.f.okLatency.p99)}`, num(r.f.errors + r.f.otherStatus), `${num(r.cpuPerAnswerUs)} µs`, mb(r.rssMax),
        `${r.after.status} in ${ms(r.after.ms)}`, `${r.f.cpuCores.toFixed(2)} cores`]);
      log(`  ${p.t.name}, ${label}: ${num(rate(r))} 200/s, ${num(r.f.busy)} × 503, p99 admitted ${ms(r.f.okLatency.p99)}; then a scan: ${r.after.status} in ${ms(r.after.ms)}`
        + (r.f.errorSamples.length ? `; errors e.g. ${r.f.errorSamples.slice(0, 2).join(' | ')}` : ''));
    }
    log();
    log(table(stormRows));
    log('vs peak: 200/s over the sustainable rate of the admission server; 503 share: of all answers and connection errors;');
    log('scan after: one delta scan on a fresh connection as soon as the storm ended; RSS peak: server VmRSS during the run.');

    section('3. graceful shutdown (SIGTERM)');
    for (const t of targets) {
      t.rss.stop();
      const t0 = performance.now();
      const exited = new Promise<number | null>((resolve) => t.server.proc.once('exit', (code) => resolve(code)));
      t.server.proc.kill('SIGTERM');
      const code = await exited;
      log(`${t.name}: exited ${code} ${ms(performance.now() - t0)} after SIGTERM; RSS peak over the whole run ${mb(t.rss.overallMax)}`);
    }
  } finally {
    for (const t of targets) t.rss.stop();
    killAll();
    catOn.cleanup();
    catOff.cleanup();
  }
}

main().then(
  () => {
    process.exitCode = 0;
  },
  (e: unknown) => {
    process.stderr.write(`storm: ${(e as Error).stack ?? String(e)}\n`);
    killAll();
    process.exitCode = 1;
  },
);
