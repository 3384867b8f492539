import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths.js';
import type { RunningServer } from '../../src/app/server.js';

// The `wsus` CLI as a child process against an in-process server's admin API (asynchronous:
// a synchronous spawn would block the very server it talks to).

export const MAIN = join(projectRoot, 'dist', 'src', 'cli', 'main.js');

export interface CliResult { status: number | null; stdout: string; stderr: string }

export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { ...process.env, WSUS_LOG_LEVEL: 'error', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A token of `role` on this server, and a runner that uses it. */
export function cliFor(server: RunningServer, role: 'admin' | 'reporter' = 'admin', name = `test-${role}`) {
  const { token } = server.adminDeps.tokens.create({ name, role, expiresDays: null, createdBy: 'test' });
  const env = { WSUS_ADMIN_URL: server.admin.url, WSUS_TOKEN: token };
  return (...args: string[]): Promise<CliResult> => runCli(args, env);
}

/** Parses a --json answer, failing with the CLI's stderr when it did not succeed. */
export function json<T>(r: CliResult): T {
  if (r.status !== 0) throw new Error(`wsus exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
