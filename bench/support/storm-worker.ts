// Child process: the storm's load generator. N simulated clients, each with one request in
// flight at a time on its own connection, send the same SOAP request until the deadline and
// time every answer by its status: 200 (admitted), 503 (refused), anything else, or a
// connection error. A client either retries at once (the worst case: a tool that ignores
// Retry-After) or waits what Retry-After says, as Windows Update backs off on 503.

import { Pool } from 'undici';
import { summarizeLatencies } from './stats.js';

export interface StormTask {
  kind: 'storm';
  origin: string;
  path: string;
  headers: Record<string, string>;
  bodyBase64: string;
  clients: number;
  durationSec: number;
  /** wait Retry-After seconds after a 503 (otherwise retry at once) */
  honorRetryAfter: boolean;
}

export interface StormFigures {
  elapsedSec: number;
  ok: number;
  busy: number;
  otherStatus: number;
  errors: number;
  errorSamples: string[];
  okLatency: ReturnType<typeof summarizeLatencies>;
  busyLatency: ReturnType<typeof summarizeLatencies>;
  /** the Retry-After of the first 503 */
  retryAfter: string | null;
  /** load generator CPU, in cores */
  cpuCores: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runStorm(t: StormTask): Promise<StormFigures> {
  const body = Buffer.from(t.bodyBase64, 'base64');
  const pool = new Pool(t.origin, { connections: t.clients, pipelining: 1, headersTimeout: 60_000, bodyTimeout: 60_000, connectTimeout: 30_000 });
  const okLat: number[] = [];
  const busyLat: number[] = [];
  let otherStatus = 0, errors = 0;
  const errorSamples: string[] = [];
  let retryAfter: string | null = null;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const deadline = Date.now() + t.durationSec * 1000;

  const client = async (): Promise<void> => {
    while (Date.now() < deadline) {
      const t0 = performance.now();
      try {
        const res = await pool.request({ path: t.path, method: 'POST', headers: t.headers, body });
        await res.body.dump();
        const ms = performance.now() - t0;
        if (res.statusCode === 200) okLat.push(ms);
        else if (res.statusCode === 503) {
          busyLat.push(ms);
          const ra = res.headers['retry-after'];
          if (retryAfter === null && typeof ra === 'string') retryAfter = ra;
          // Jittered, as a fleet's retries are: Retry-After to twice that.
          if (t.honorRetryAfter) await sleep(Math.max(0, Math.min((Number(ra ?? 1) || 1) * 1000 * (1 + Math.random()), deadline - Date.now())));
        } else otherStatus++;
      } catch (e) {
        errors++;
        if (errorSamples.length < 5) errorSamples.push((e as Error).message);
        await sleep(5);
      }
    }
  };
  await Promise.all(Array.from({ length: t.clients }, client));
  const wall = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await pool.destroy();
  return {
    elapsedSec: wall,
    ok: okLat.length,
    busy: busyLat.length,
    otherStatus,
    errors,
    errorSamples,
    okLatency: summarizeLatencies(okLat),
    busyLatency: summarizeLatencies(busyLat),
    retryAfter,
    cpuCores: (cpu.user + cpu.system) / 1e6 / wall,
  };
}

process.on('message', (m: unknown) => {
  runStorm(m as StormTask).then(
    (figures) => process.send!(figures),
    (e: unknown) => process.send!({ error: (e as Error).stack ?? String(e) }),
  );
});

process.on('disconnect', () => process.exit(0));
