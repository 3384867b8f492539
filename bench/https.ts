// HTTPS benchmark: GetConfig over HTTPS versus plain HTTP against the same request handler of
// the real server, side by side in one run, and what a new connection costs (TLS handshakes/s,
// full and resumed). Prints figures; asserts nothing.
//
//   server   a child: the real server (startServer) plus TLS listeners around the very handler
//            its HTTP listener uses, one with the RSA 3072 certificate `wsus cert create` makes
//            and one with RSA 2048
//   load     autocannon (keep-alive, the scan benchmark's worker) for requests/s, and a child of
//            this file opening fresh connections for handshakes/s
//
// Knobs: BENCH_SECONDS per keep-alive run (10), BENCH_HS_SECONDS per connection run (5),
// BENCH_HS_CONCURRENCY parallel connection attempts (16).

import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { validate } from '../src/config/config.js';
import { createLogger } from '../src/logger.js';
import { startServer } from '../src/app/server.js';
import { createSelfSignedCertificate } from '../src/cli/commands/cert.command.js';
import { startTlsListener } from '../src/http/tls-listener.js';
import { envelope } from '../test/support/wua-client.js';
import type { AutocannonFigures, AutocannonTask } from './support/load-worker.js';
import { ask, cpuSecondsOf, forkModule, killAll, machineCpuSeconds } from './support/processes.js';
import { ms, num, table } from './support/stats.js';
import { envInt } from './support/knobs.js';

const SECONDS = envInt('BENCH_SECONDS', 10);
const HS_SECONDS = envInt('BENCH_HS_SECONDS', 5);
const HS_CONCURRENCY = envInt('BENCH_HS_CONCURRENCY', 16);

const CLIENT_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService';
const BODY = envelope(`<GetConfig xmlns="${CLIENT_NS}"><protocolVersion>2.90</protocolVersion></GetConfig>`);
const HEADERS = { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${CLIENT_NS}/GetConfig"` };
const RAW_REQUEST = `POST /ClientWebService/client.asmx HTTP/1.1\r\nHost: localhost\r\nContent-Type: ${HEADERS['content-type']}\r\n` +
  `SOAPAction: ${HEADERS.soapaction}\r\nContent-Length: ${Buffer.byteLength(BODY)}\r\nConnection: close\r\n\r\n${BODY}`;

interface Ports { http: number; https3072: number; https2048: number }

interface ConnTask {
  tls: boolean;
  port: number;
  ca: string;
  maxVersion: 'TLSv1.2' | 'TLSv1.3';
  resume: boolean;
  /** one GetConfig on the connection (Connection: close) rather than the handshake alone */
  request: boolean;
  concurrency: number;
  durationMs: number;
}

interface ConnFigures { perSec: number; done: number; reused: number; failures: number; p50: number; p99: number; firstError: string; loaderCores: number }

// ---------------------------------------------------------------------------------------------
// Children

async function serverRole(dir: string): Promise<void> {
  const config = validate({ host: '127.0.0.1', httpPort: 0, seedDemoCatalog: false }, dir);
  const log = createLogger('error');
  const server = await startServer(config, log);
  const handler = server.http.listeners('request')[0] as Parameters<typeof startTlsListener>[0]['handler'];
  const listen = (bits: number): ReturnType<typeof startTlsListener> => startTlsListener({
    host: '127.0.0.1', port: 0, certFile: join(dir, `cert${bits}.pem`), keyFile: join(dir, `key${bits}.pem`), handler, log,
  });
  const [a, b] = [await listen(3072), await listen(2048)];
  process.send!({ http: server.port, https3072: a.port, https2048: b.port } satisfies Ports);
  process.on('disconnect', () => process.exit(0));
}

function oneConnection(t: ConnTask, context: SecureContext, session: Buffer | undefined): Promise<{ session?: Buffer; reused: boolean }> {
  return new Promise((resolve, reject) => {
    let sock: Socket;
    let next: Buffer | undefined;
    let reused = false;
    let secured = false;
    let head = '';
    const fail = (e: Error): void => {
      sock.destroy();
      reject(e);
    };
    const ready = (): void => {
      if (!t.request) {
        // The handshake alone. A full handshake under `resume` waits for the ticket (TLS 1.3
        // sends it after the handshake); a resumed one keeps using the ticket it came with.
        if (!t.resume || next || reused) sock.end();
        else setTimeout(() => sock.end(), 1000).unref();
        return;
      }
      sock.write(RAW_REQUEST);
    };
    if (t.tls) {
      const s: TLSSocket = tlsConnect({ port: t.port, host: '127.0.0.1', servername: 'localhost', secureContext: context, session });
      s.once('secureConnect', () => {
        secured = true;
        reused = s.isSessionReused();
        ready();
      });
      s.on('session', (b: Buffer) => {
        const first = !next;
        next = b;
        if (first && secured && t.resume && !t.request && !reused) s.end();
      });
      sock = s;
    } else {
      sock = netConnect({ port: t.port, host: '127.0.0.1' }, ready);
    }
    sock.on('data', (d: Buffer) => {
      if (head.length < 16) head += d.toString('latin1');
    });
    sock.once('error', fail);
    sock.once('close', () => {
      if (t.request && !head.startsWith('HTTP/1.1 200')) reject(new Error(`answer: ${head.slice(0, 40) || '(none)'}`));
      else resolve({ session: next, reused });
    });
    sock.resume();
  });
}

async function runConnections(t: ConnTask): Promise<ConnFigures> {
  // One context for the run, as a real client has: building one per connection (what passing
  // `ca` to tls.connect does) costs more than the handshake and would measure the loader.
  const context = createSecureContext({ ca: t.ca, maxVersion: t.maxVersion });
  const cpu0 = process.cpuUsage();
  const deadline = Date.now() + t.durationMs;
  const lat: number[] = [];
  let reused = 0, failures = 0, firstError = '';
  const start = performance.now();
  await Promise.all(Array.from({ length: t.concurrency }, async () => {
    let session: Buffer | undefined;
    while (Date.now() < deadline) {
      const t0 = performance.now();
      try {
        const r = await oneConnection(t, context, t.resume ? session : undefined);
        lat.push(performance.now() - t0);
        if (r.reused) reused++;
        session = r.session ?? session;
      } catch (e) {
        failures++;
        firstError ||= (e as Error).message;
      }
    }
  }));
  const sec = (performance.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  const at = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? NaN;
  const cpu = process.cpuUsage(cpu0);
  return { perSec: lat.length / sec, done: lat.length, reused, failures, p50: at(0.5), p99: at(0.99), firstError, loaderCores: (cpu.user + cpu.system) / 1e6 / sec };
}

function loadRole(): void {
  process.on('message', (m: unknown) => {
    runConnections(m as ConnTask).then((f) => process.send!(f), (e: unknown) => process.send!({ error: String((e as Error).stack ?? e) }));
  });
  process.on('disconnect', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// Orchestrator

const self = fileURLToPath(import.meta.url);
const kids: ChildProcess[] = [];
function forkSelf(role: string, dir: string): ChildProcess {
  const c = fork(self, [`--role=${role}`, dir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  kids.push(c);
  return c;
}

/** Runs `work` while measuring the server child's CPU (in cores: 1.0 = one core busy throughout). */
/**
 * Runs `work` while measuring the server child's CPU and the whole machine's (in cores: 1.0 = one
 * core busy throughout), so a run disturbed by other processes on the machine shows as such.
 */
async function measured<T>(serverPid: number, work: () => Promise<T>): Promise<{ r: T; serverCores: number; serverCpuSec: number; machineCores: number }> {
  const c0 = cpuSecondsOf(serverPid);
  const m0 = machineCpuSeconds().busy;
  const t0 = performance.now();
  const r = await work();
  const wall = (performance.now() - t0) / 1000;
  const serverCpuSec = cpuSecondsOf(serverPid) - c0;
  return { r, serverCpuSec, serverCores: serverCpuSec / wall, machineCores: (machineCpuSeconds().busy - m0) / wall };
}

async function orchestrate(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'wsus-bench-https-'));
  const out = (s = ''): void => void process.stdout.write(`${s}\n`);
  try {
    const ca: Record<number, string> = {};
    for (const bits of [3072, 2048]) {
      const pair = createSelfSignedCertificate({ hosts: ['localhost', '127.0.0.1'], days: 30, keyBits: bits });
      writeFileSync(join(dir, `cert${bits}.pem`), pair.certPem);
      writeFileSync(join(dir, `key${bits}.pem`), pair.keyPem, { mode: 0o600 });
      ca[bits] = pair.certPem;
    }
    const server = forkSelf('server', dir);
    const ports = await new Promise<Ports>((resolve, reject) => {
      server.once('message', (m) => resolve(m as Ports));
      server.once('exit', (code) => reject(new Error(`server child exited (${code})`)));
    });
    const cannon = forkModule('load-worker.js');
    const conns = forkSelf('load', dir);
    out(`HTTPS benchmark: GetConfig, same handler on HTTP and HTTPS; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), node ${process.version}`);
    out(`server, autocannon and connection loader each in its own process; ${SECONDS} s per keep-alive run, ${HS_SECONDS} s per connection run`);

    out('\n== keep-alive requests/s (autocannon; TLS 1.3, RSA 3072 certificate) ==');
    for (const port of [ports.http, ports.https3072]) {
      await ask<AutocannonFigures>(cannon, { kind: 'autocannon', url: `${port === ports.http ? 'http' : 'https'}://127.0.0.1:${port}/ClientWebService/client.asmx`,
        headers: HEADERS, bodyBase64: Buffer.from(BODY).toString('base64'), connections: 10, durationSec: 2 } satisfies AutocannonTask, 60_000);
    }
    const rows = [['transport', 'conns', 'req/s', 'p50', 'p99', 'errors', 'server CPU', 'loader CPU', 'machine CPU', 'req per server CPU-s', 'HTTPS / HTTP']];
    for (const connections of [10, 100]) {
      let httpRate = NaN, httpPerCpu = NaN;
      for (const scheme of ['http', 'https'] as const) {
        const port = scheme === 'http' ? ports.http : ports.https3072;
        const task: AutocannonTask = {
          kind: 'autocannon', url: `${scheme}://127.0.0.1:${port}/ClientWebService/client.asmx`, headers: HEADERS,
          bodyBase64: Buffer.from(BODY).toString('base64'), connections, durationSec: SECONDS,
        };
        const { r, serverCpuSec, serverCores, machineCores } = await measured(server.pid!, () => ask<AutocannonFigures>(cannon, task, (SECONDS + 60) * 1000));
        const perCpu = r.total / Math.max(serverCpuSec, 0.01);
        if (scheme === 'http') [httpRate, httpPerCpu] = [r.reqPerSec, perCpu];
        rows.push([scheme.toUpperCase(), String(connections), num(r.reqPerSec), ms(r.p50), ms(r.p99), String(r.errors + r.non2xx + r.timeouts),
          `${serverCores.toFixed(2)} cores`, `${r.cpuCores.toFixed(2)} cores`, `${machineCores.toFixed(2)} cores`, num(perCpu),
          scheme === 'https' ? `${(r.reqPerSec / httpRate).toFixed(2)} (per CPU-s ${(perCpu / httpPerCpu).toFixed(2)})` : '']);
      }
    }
    out(table(rows));

    out(`\n== new connections (${HS_CONCURRENCY} in parallel, each closed after use; the client verifies the certificate) ==`);
    const cases: Array<[string, Partial<ConnTask>]> = [
      ['TCP connect + GetConfig (plain HTTP)', { tls: false, port: ports.http, request: true }],
      ['TLS 1.3 full handshake, RSA 3072', { port: ports.https3072 }],
      ['TLS 1.3 full handshake, RSA 2048', { port: ports.https2048, ca: ca[2048] }],
      ['TLS 1.2 full handshake, RSA 3072', { port: ports.https3072, maxVersion: 'TLSv1.2' }],
      ['TLS 1.3 resumed handshake (ticket)', { port: ports.https3072, resume: true }],
      ['TLS 1.2 resumed handshake (ticket)', { port: ports.https3072, resume: true, maxVersion: 'TLSv1.2' }],
      ['TLS 1.3 full handshake + GetConfig', { port: ports.https3072, request: true }],
      ['TLS 1.3 resumed + GetConfig', { port: ports.https3072, request: true, resume: true }],
    ];
    const hs = [['connection', 'per second', 'p50', 'p99', 'resumed', 'failed', 'server CPU', 'loader CPU', 'machine CPU', 'server CPU per connection']];
    for (const [name, c] of cases) {
      const task: ConnTask = { tls: true, ca: ca[3072]!, maxVersion: 'TLSv1.3', resume: false, request: false, concurrency: HS_CONCURRENCY, durationMs: HS_SECONDS * 1000, port: 0, ...c };
      const { r, serverCores, serverCpuSec, machineCores } = await measured(server.pid!, () => ask<ConnFigures>(conns, task, (HS_SECONDS + 60) * 1000));
      hs.push([name, num(r.perSec), ms(r.p50), ms(r.p99), task.tls ? `${num((100 * r.reused) / Math.max(1, r.done))}%` : '', `${r.failures}${r.firstError ? ` (${r.firstError})` : ''}`,
        `${serverCores.toFixed(2)} cores`, `${r.loaderCores.toFixed(2)} cores`, `${machineCores.toFixed(2)} cores`, ms((serverCpuSec * 1000) / Math.max(1, r.done))]);
    }
    out(table(hs));
    out('\nnote: "server CPU" is the server process alone, "machine CPU" everything on the machine (more than server + loader');
    out('means other processes took CPU during the run). Rates are what one server process sustains while sharing the machine');
    out('with its load generator; "per server CPU-s" and "server CPU per connection" are the cost view, less sensitive to both.');
  } finally {
    for (const k of kids) if (k.exitCode === null) k.kill('SIGKILL');
    killAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

const role = process.argv.find((a) => a.startsWith('--role='))?.slice('--role='.length);
if (role === 'server') void serverRole(process.argv[process.argv.length - 1]!);
else if (role === 'load') loadRole();
else orchestrate().then(() => process.exit(0), (e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
