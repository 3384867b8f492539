// nginx from the distribution as the content benchmark's reference: started in the foreground
// with a temporary configuration on a loopback port, serving the same directory. The settings
// are Debian's stock nginx.conf (sendfile, tcp_nopush, worker_processes auto, keep-alive
// defaults) minus the access log, which our server does not write either.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function nginxBinary(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v nginx || ls /usr/sbin/nginx 2>/dev/null'], { encoding: 'utf8' });
  const path = r.stdout.trim().split('\n')[0];
  return path ? path : null;
}

export function nginxVersion(bin: string): string {
  const r = spawnSync(bin, ['-v'], { encoding: 'utf8' });
  return (r.stderr || r.stdout).trim();
}

export interface NginxChild {
  proc: ChildProcess;
  /** master and workers */
  pids(): number[];
  stop(): Promise<void>;
  /** signals every process at once; safe in an exit handler */
  killNow(): void;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export async function startNginx(bin: string, workDir: string, root: string, port: number): Promise<NginxChild> {
  mkdirSync(workDir, { recursive: true });
  const conf = join(workDir, 'nginx.conf');
  const t = (name: string): string => join(workDir, name);
  writeFileSync(conf, [
    // The master runs as whoever runs the benchmark; as root, workers would switch to `nobody`,
    // which cannot read the benchmark's private temporary directory.
    process.getuid?.() === 0 ? 'user root;' : '',
    'worker_processes auto;',
    `pid ${t('nginx.pid')};`,
    `error_log ${t('error.log')} warn;`,
    'events { worker_connections 768; }',
    'http {',
    '  sendfile on;',
    '  tcp_nopush on;',
    '  types_hash_max_size 2048;',
    '  default_type application/octet-stream;',
    '  access_log off;',
    `  client_body_temp_path ${t('body')}; proxy_temp_path ${t('proxy')}; fastcgi_temp_path ${t('fastcgi')};`,
    `  uwsgi_temp_path ${t('uwsgi')}; scgi_temp_path ${t('scgi')};`,
    `  server { listen 127.0.0.1:${port}; root ${root}; location / { } }`,
    '}',
    '',
  ].join('\n'));
  const proc = spawn(bin, ['-p', workDir, '-c', conf, '-e', t('error.log'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const pids = (): number[] => (proc.pid ? [proc.pid, ...childrenOf(proc.pid)] : []);
  const deadline = Date.now() + 10_000;
  while (childrenOf(proc.pid ?? 0).length === 0) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`nginx did not start: ${stderr}${safeRead(t('error.log'))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    proc,
    pids,
    killNow: () => {
      for (const pid of pids()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
