// Child processes of the benchmark: the real server, the static responder and the load
// generators, each in its own process so none shares an event loop with another. Every child is
// registered and killed on exit, on error and on Ctrl-C.

import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitUntilServing } from '../../test/support/server-ready.js';

export { freePort };

const here = dirname(fileURLToPath(import.meta.url));
/** dist/ */
export const distRoot = join(here, '..', '..');

const children = new Set<ChildProcess>();

export function killAll(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  children.clear();
}

let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

function track(c: ChildProcess): ChildProcess {
  hookExit();
  children.add(c);
  c.once('exit', () => children.delete(c));
  return c;
}

/** Stops a child: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(c: ChildProcess, graceMs = 5000): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
  c.kill('SIGTERM');
  const timer = setTimeout(() => c.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface ServerChild {
  proc: ChildProcess;
  pid: number;
  url: string;
  /** the admin API (http://127.0.0.1:port) */
  adminUrl: string;
  stderrTail(): string;
}

/** The real server (`wsus serve`) on a loopback port, ready when its version URL answers. */
export async function startServerChild(dataDir: string, nodeArgs: string[] = []): Promise<ServerChild> {
  const port = await freePort();
  const adminPort = await freePort();
  const proc = track(spawn(process.execPath, [...nodeArgs, join(distRoot, 'src/cli/main.js'), 'serve', '--data', dataDir, '--port', String(port), '--host', '127.0.0.1', '--admin-port', String(adminPort)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WSUS_LOG_LEVEL: 'error' },
  }));
  let tail = '';
  const keep = (b: Buffer): void => {
    tail = (tail + b.toString('utf8')).slice(-4000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  await waitUntilServing({
    url, adminUrl, timeoutMs: 180_000, output: () => tail,
    exited: () => (proc.exitCode !== null || proc.signalCode !== null ? `\n${tail}` : null),
  });
  return { proc, pid: proc.pid!, url, adminUrl, stderrTail: () => tail };
}

/** Forks a compiled bench/support module as an IPC child. */
export function forkModule(module: string, execArgv: string[] = []): ChildProcess {
  return track(fork(join(distRoot, 'bench/support', module), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv }));
}

/** Sends one request to an IPC child and waits for its one answer (or its death). */
export function ask<T>(c: ChildProcess, message: unknown, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`child ${c.pid} did not answer within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    const onMessage = (m: unknown): void => {
      cleanup();
      const msg = m as { error?: string };
      if (msg && typeof msg === 'object' && typeof msg.error === 'string') reject(new Error(msg.error));
      else resolve(m as T);
    };
    const onExit = (code: number | null, signal: string | null): void => {
      cleanup();
      reject(new Error(`child ${c.pid} exited (${code ?? signal}) before answering`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      c.off('message', onMessage);
      c.off('exit', onExit);
    };
    c.on('message', onMessage);
    c.on('exit', onExit);
    c.send(message as object);
  });
}

/** VmRSS of a process in bytes, or null when it is gone. */
export function rssOf(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a process (or one of its threads: `tid`) has used so far. */
export function cpuSecondsOf(pid: number, tid?: number): number {
  try {
    const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11] = utime, fields[12] = stime (clock ticks; 100 per second on Linux)
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Whole-machine CPU seconds from /proc/stat: busy (everything but idle and iowait) and stolen by the hypervisor. */
export function machineCpuSeconds(): { busy: number; steal: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user)
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    return { busy: (user + nice + system + irq + softirq) / 100, steal: steal / 100 };
  } catch {
    return { busy: 0, steal: 0 };
  }
}

export interface PhaseMemory {
  phase: string;
  samples: number;
  min: number;
  max: number;
  last: number;
}

/** Samples a process's VmRSS every `everyMs`, attributing samples to the current phase. */
export class RssSampler {
  private timer: NodeJS.Timeout | null = null;
  private current: PhaseMemory | null = null;
  readonly phases: PhaseMemory[] = [];
  overallMax = 0;

  constructor(private readonly pid: number, private readonly everyMs = 200) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), this.everyMs);
    this.timer.unref();
  }

  phase(name: string): void {
    this.sample();
    this.current = { phase: name, samples: 0, min: Infinity, max: 0, last: 0 };
    this.phases.push(this.current);
    this.sample();
  }

  sample(): number | null {
    const rss = rssOf(this.pid);
    if (rss === null || !this.current) return rss;
    const p = this.current;
    p.samples++;
    p.min = Math.min(p.min, rss);
    p.max = Math.max(p.max, rss);
    p.last = rss;
    this.overallMax = Math.max(this.overallMax, rss);
    return rss;
  }

  stop(): void {
    this.sample();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
