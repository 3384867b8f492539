// Content benchmark: Delivery-Optimization-style downloads (shuffled 1 MiB closed ranges, 7
// keep-alive connections per simulated client) from our /Content handler and from nginx serving
// the same files, side by side in one run. Prints figures and a verdict per bar; asserts nothing.
//
//   1. files    random files of 1 MB to 2 GB under a temporary directory (removed at the end),
//               laid out as Content/XX/<SHA1>.cab for every server
//   2. servers  nginx (Debian package, stock settings) and ours (bench/support/content-server.js
//               over a directory locator), once per mounting mode: `direct` (the handler called
//               before Express, like the SOAP POSTs) and `router` (an Express router); each a child
//   3. runs     per file size one client, then BENCH_CLIENTS clients over every file; in each
//               round every server is measured in turn, after waiting for the machine to be quiet
//               (other processes' CPU and steal are reported per run); throughput is the median of
//               the rounds. Our servers' VmRSS is sampled throughout.
//
// Knobs: BENCH_SIZES_MB (1,32,256,2048), BENCH_SECONDS per run (6), BENCH_ROUNDS (3),
// BENCH_CLIENTS for the mixed run (4), BENCH_MODES (direct,router), BENCH_QUIET_WAIT_S (30).

import { spawn, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { crossCheck, makeFile } from './support/content-files.js';
import type { ContentLoadFigures, ContentLoadTask } from './support/content-load.js';
import { nginxBinary, nginxVersion, startNginx, type NginxChild } from './support/nginx.js';
import { ask, cpuSecondsOf, distRoot, forkModule, freePort, killAll, machineCpuSeconds, RssSampler, rssOf, stopChild } from './support/processes.js';
import { mb, num, table } from './support/stats.js';

const env = (name: string, def: string): string => process.env[name] ?? def;
const SIZES_MB = env('BENCH_SIZES_MB', '1,32,256,2048').split(',').map(Number).filter((n) => n > 0);
const SECONDS = Number(env('BENCH_SECONDS', '6'));
const ROUNDS = Number(env('BENCH_ROUNDS', '3'));
const CLIENTS = Number(env('BENCH_CLIENTS', '4'));
const MODES = env('BENCH_MODES', 'direct,router').split(',').filter((m) => m === 'direct' || m === 'router');
const QUIET_WAIT_S = Number(env('BENCH_QUIET_WAIT_S', '30'));
const CONNECTIONS = 7;
const BARS = { ratio: 0.9, rssBytes: 150 * 1024 * 1024 };

const bin = nginxBinary();
if (!bin) {
  process.stderr.write('nginx is not installed: the benchmark compares against it. Install it (Debian: `apt-get install -y nginx-light`) and run again.\n');
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'wsus-bench-content-'));
const root = join(work, 'www');
mkdirSync(root);
let nginx: NginxChild | null = null;
const ours: ChildProcess[] = [];
process.on('exit', () => {
  nginx?.killNow();
  for (const c of ours) c.kill('SIGKILL');
  killAll();
  rmSync(work, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

async function startOurs(port: number, mode: string): Promise<ChildProcess> {
  const c = spawn(process.execPath, [join(distRoot, 'bench/support/content-server.js'), root, String(port), mode], { stdio: ['ignore', 'inherit', 'inherit'] });
  ours.push(c);
  for (let i = 0; i < 200; i++) {
    try {
      const r = await request(`http://127.0.0.1:${port}/Content/anonymousCheckFile.txt`);
      await r.body.dump();
      if (r.statusCode === 200) return c;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`our content server (${mode}) did not start`);
}

/** Waits until other processes use less than a quarter of a core and the hypervisor steals little (or gives up). */
async function waitQuiet(): Promise<void> {
  const deadline = Date.now() + QUIET_WAIT_S * 1000;
  for (;;) {
    const before = machineCpuSeconds();
    await new Promise((r) => setTimeout(r, 1000));
    const after = machineCpuSeconds();
    if ((after.busy - before.busy < 0.25 && after.steal - before.steal < 0.1) || Date.now() > deadline) return;
  }
}

const cpuOf = (pids: number[]): number => pids.reduce((s, p) => s + cpuSecondsOf(p), 0);
const rssSum = (pids: number[]): number => pids.reduce((s, p) => s + (rssOf(p) ?? 0), 0);

interface Target {
  name: string;
  port: number;
  pids: () => number[];
  sampler?: RssSampler;
}

interface RunFigures {
  gbps: number;
  cpuPerGB: number;
  loaderCpuPerGB: number;
  /** cores used meanwhile by processes outside the benchmark (other work on the machine) */
  othersCores: number;
  /** cores the hypervisor gave to other guests while this guest wanted them */
  stealCores: number;
  errors: number;
  firstError?: string;
}

async function main(): Promise<void> {
  console.log(`content benchmark: ${nginxVersion(bin!)}, node ${process.version}, ${SECONDS} s per run, ${ROUNDS} rounds, ${CONNECTIONS} connections per client`);
  const block = randomFillSync(Buffer.allocUnsafe(16 * 1024 * 1024));
  const t0 = Date.now();
  const files = SIZES_MB.map((m) => makeFile(root, m === 1 ? 1_000_000 : m * 2 ** 20 + 4321, block));
  console.log(`files: ${files.map((f) => f.label).join(', ')} (${mb(files.reduce((s, f) => s + f.size, 0))} written in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  const nginxPort = await freePort();
  nginx = await startNginx(bin!, join(work, 'nginx'), root, nginxPort);
  const targets: Target[] = [{ name: 'nginx', port: nginxPort, pids: () => nginx!.pids() }];
  for (const mode of MODES) {
    const port = await freePort();
    const c = await startOurs(port, mode);
    const sampler = new RssSampler(c.pid!, 100);
    sampler.start();
    targets.push({ name: `ours ${mode}`, port, pids: () => [c.pid!], sampler });
  }
  await crossCheck(files, targets.map((t) => t.port));
  const loader = forkModule('content-load.js');

  const runOnce = async (t: Target, task: Omit<ContentLoadTask, 'port'>): Promise<RunFigures> => {
    await waitQuiet();
    const ps = t.pids();
    const [cpu0, load0, machine0] = [cpuOf(ps), cpuSecondsOf(loader.pid!), machineCpuSeconds()];
    const f = await ask<ContentLoadFigures>(loader, { ...task, port: t.port }, (task.seconds + 60) * 1000);
    const gb = f.bytes / 1e9;
    const server = cpuOf(ps) - cpu0;
    const load = cpuSecondsOf(loader.pid!) - load0;
    const machine1 = machineCpuSeconds();
    const others = Math.max(0, machine1.busy - machine0.busy - server - load);
    return { gbps: gb / f.seconds, cpuPerGB: server / gb, loaderCpuPerGB: load / gb, othersCores: others / f.seconds, stealCores: (machine1.steal - machine0.steal) / f.seconds, errors: f.errors, firstError: f.firstError };
  };
  type Figure = 'gbps' | 'cpuPerGB' | 'loaderCpuPerGB' | 'othersCores' | 'stealCores';
  const mean = (a: RunFigures[], k: Figure): number => a.reduce((s, x) => s + x[k], 0) / a.length;
  // Throughput is the median of the rounds: on a shared machine one round now and then runs
  // while something outside the benchmark (or the hypervisor) takes the CPU, and a mean would
  // let that one round decide the ratio. Every round is printed.
  const median = (a: RunFigures[], k: Figure): number => {
    const v = a.map((x) => x[k]).sort((p, q) => p - q);
    return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  };

  const ourTargets = targets.slice(1);
  const rows: string[][] = [['files', 'clients', ...targets.map((t) => `${t.name} GB/s`), ...ourTargets.map((t) => `${t.name} ratio`),
    ...targets.map((t) => `${t.name} CPU s/GB`), ...ourTargets.map((t) => `${t.name} RSS`), 'nginx RSS', 'others (cores)']];
  const ratios = new Map<string, number[]>(ourTargets.map((t) => [t.name, []]));
  const phases = [...files.map((f) => ({ name: f.label, files: [f], clients: 1 })), { name: 'all', files, clients: CLIENTS }];
  for (const phase of phases) {
    for (const t of ourTargets) t.sampler!.phase(phase.name);
    const task = { files: phase.files, clients: phase.clients, connectionsPerClient: CONNECTIONS, seconds: SECONDS };
    const runs = new Map<string, RunFigures[]>(targets.map((t) => [t.name, []]));
    let nginxRss = 0;
    for (let r = 0; r < ROUNDS; r++) {
      // A different server goes first in each round, so none always gets the quietest slot.
      const order = [...targets.slice(r % targets.length), ...targets.slice(0, r % targets.length)];
      for (const t of order) runs.get(t.name)!.push(await runOnce(t, task));
      nginxRss = Math.max(nginxRss, rssSum(nginx.pids()));
    }
    const all = [...runs.values()].flat();
    const errors = all.filter((x) => x.errors > 0);
    if (errors.length) console.log(`  ${phase.name}: ${errors.reduce((s, x) => s + x.errors, 0)} errors, first: ${errors[0]!.firstError}`);
    const gbps = (t: Target): number => median(runs.get(t.name)!, 'gbps');
    for (const t of ourTargets) ratios.get(t.name)!.push(gbps(t) / gbps(targets[0]!));
    console.log(`  ${phase.name}: ${targets.map((t) => `${t.name} ${runs.get(t.name)!.map((x) => num(x.gbps, 2)).join('/')}`).join(', ')} GB/s; others ${all.map((x) => num(x.othersCores, 1)).join(' ')} cores, steal ${all.map((x) => num(x.stealCores, 1)).join(' ')}; load generator ${num(mean(all, 'loaderCpuPerGB'), 3)} CPU s/GB`);
    rows.push([phase.name, String(phase.clients), ...targets.map((t) => num(gbps(t), 2)), ...ourTargets.map((t) => num(gbps(t) / gbps(targets[0]!), 2)),
      ...targets.map((t) => num(mean(runs.get(t.name)!, 'cpuPerGB'), 3)), ...ourTargets.map((t) => mb(t.sampler!.phases.at(-1)!.max)), mb(nginxRss), num(mean(all, 'othersCores'), 2)]);
  }
  console.log('');
  console.log(table(rows));
  console.log('');
  for (const t of ourTargets) {
    const s = t.sampler!;
    s.stop();
    const r = ratios.get(t.name)!;
    const w = Math.min(...r);
    const peaks = s.phases.map((p) => p.max);
    console.log(`${t.name}: throughput / nginx, worst phase ${num(w, 3)}, mean of phases ${num(r.reduce((a, b) => a + b, 0) / r.length, 3)} (bar ≥ ${BARS.ratio}) → ${w >= BARS.ratio ? 'MET' : 'MISSED'}; ` +
      `RSS peak ${mb(s.overallMax)}, per-phase peaks ${mb(Math.min(...peaks))}–${mb(Math.max(...peaks))} (bar < ${mb(BARS.rssBytes)}, flat) → ${s.overallMax < BARS.rssBytes ? 'MET' : 'MISSED'}`);
  }
  await Promise.all([...ours.map((c) => stopChild(c)), nginx.stop(), stopChild(loader)]);
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(e.stack ?? String(e));
    process.exit(1);
  },
);
