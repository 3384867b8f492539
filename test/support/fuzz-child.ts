import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitUntilServing } from './server-ready.js';
import { projectRoot } from '../../src/paths.js';

// The server under fuzz as a child process (`wsus serve`, as deployed): a crash shows as the
// process exiting, its memory is sampled from /proc, and its JSON log lines (warn and up) are
// kept so the campaign can prove no request ended in an unexpected error.

const MAIN = join(projectRoot, 'dist/src/cli/main.js');

export interface FuzzChild {
  proc: ChildProcess;
  url: string;
  adminUrl: string;
  port: number;
  /** null while running */
  exit(): { code: number | null; signal: NodeJS.Signals | null } | null;
  /** highest VmRSS seen, in MB (sampled every 50 ms; 0 where /proc is missing) */
  peakRssMb(): number;
  /** parsed log records (level warn and up) */
  logs: Array<Record<string, unknown>>;
  /** the last 4 KB of anything the child wrote that was not a JSON log line */
  otherOutput(): string;
  stop(): Promise<void>;
}

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

export async function startFuzzChild(dataDir: string): Promise<FuzzChild> {
  const port = await freePort();
  const adminPort = await freePort();
  const proc = spawn(process.execPath, [MAIN, 'serve', '--data', dataDir, '--port', String(port), '--host', '127.0.0.1', '--admin-port', String(adminPort)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WSUS_LOG_LEVEL: 'warn' },
  });
  const killOnExit = (): void => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const logs: Array<Record<string, unknown>> = [];
  let other = '';
  let partial = '';
  const onData = (b: Buffer): void => {
    const lines = (partial + b.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        other = (other + line + '\n').slice(-4096);
      }
    }
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  let peak = 0;
  const sampler = setInterval(() => {
    if (proc.pid) peak = Math.max(peak, rssMb(proc.pid));
  }, 50);
  sampler.unref();
  const exit = (): { code: number | null; signal: NodeJS.Signals | null } | null =>
    proc.exitCode === null && proc.signalCode === null ? null : { code: proc.exitCode, signal: proc.signalCode };

  const url = `http://127.0.0.1:${port}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  await waitUntilServing({
    url, adminUrl, timeoutMs: 60_000, output: () => other,
    exited: () => (exit() ? `${JSON.stringify(exit())}\n${other}${JSON.stringify(logs.slice(-5))}` : null),
  });
  return {
    proc, url, adminUrl, port, exit, logs,
    peakRssMb: () => Math.round(peak),
    otherOutput: () => other,
    async stop() {
      clearInterval(sampler);
      process.off('exit', killOnExit);
      if (exit()) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}
