// Child process: the load generator. Runs one task per IPC message and answers with figures, so
// its CPU (HTTP client, XML parsing of scan pages, Xpress decoding) never competes with the
// orchestrator's sampling, and its own CPU use can be reported (a saturated generator means the
// figure is a floor for the server, not its limit).
//
// Tasks:
//   { kind: 'autocannon', ... }  fixed request, N keep-alive connections, fixed duration
//   { kind: 'firstScan', ... }   N simulated clients from an empty cache, repeated until the deadline

import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { request } from 'undici';
import { readXml } from '../../src/protocol/xml/strict-xml-reader.js';
import { xpressDecompress } from '../../src/protocol/xpress/index.js';
import type { SoapReply } from '../../test/support/wua-client.js';
import { envelope } from '../../test/support/wua-client.js';
import { ProfileClient } from './profile.js';
import { summarizeLatencies } from './stats.js';

export interface AutocannonTask {
  kind: 'autocannon';
  url: string;
  headers: Record<string, string>;
  bodyBase64: string;
  connections: number;
  durationSec: number;
  /**
   * Make every request distinct by adding one unknown id to OtherCachedUpdateIDs (the answer
   * then names it out of scope), so no two requests share a memoized scan.
   */
  distinct?: boolean;
}

export interface AutocannonFigures {
  reqPerSec: number;
  total: number;
  durationSec: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  bytesPerResponse: number;
  /** load generator CPU, in cores (1.0 = one core busy all the time) */
  cpuCores: number;
}

export interface FirstScanTask {
  kind: 'firstScan';
  base: string;
  clients: number;
  durationMs: number;
  pageSize: number;
  installed: string[];
  xpress: boolean;
  extendedBatch: number;
}

export interface FirstScanFigures {
  elapsedSec: number;
  pages: number;
  fullPages: number;
  updatesDelivered: number;
  pageLatency: ReturnType<typeof summarizeLatencies>;
  pageWireBytesAvg: number;
  extendedCalls: number;
  extendedLatency: ReturnType<typeof summarizeLatencies>;
  extendedWireBytesAvg: number;
  handshakeCalls: number;
  scansCompleted: number;
  /** full scan + every GetExtendedUpdateInfo batch done */
  clientsCompleted: number;
  pagesPerScan: number;
  cachedIdsPerScan: number;
  errors: string[];
  cpuCores: number;
}

async function runAutocannon(t: AutocannonTask): Promise<AutocannonFigures> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const body = Buffer.from(t.bodyBase64, 'base64').toString('utf8');
  const at = body.indexOf('</OtherCachedUpdateIDs>');
  let counter = 0;
  const r = await autocannon({
    url: t.url,
    method: 'POST',
    headers: t.headers,
    body,
    connections: t.connections,
    duration: t.durationSec,
    timeout: 10,
    ...(t.distinct && at > 0
      ? {
        requests: [{
          method: 'POST',
          setupRequest: (req: Record<string, unknown>) => ({
            ...req,
            body: `${body.slice(0, at)}<int>${2_000_000_000 - (counter++ % 1_000_000_000)}</int>${body.slice(at)}`,
          }),
        }] as unknown as autocannon.Request[],
      }
      : {}),
  });
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const total = r['2xx'] + r.non2xx;
  return {
    reqPerSec: total / r.duration,
    total,
    durationSec: r.duration,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    p999: r.latency.p99_9,
    max: r.latency.max,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    bytesPerResponse: total ? r.throughput.total / total : 0,
    cpuCores: (cpu.user + cpu.system) / 1e6 / wall,
  };
}

class Stop extends Error {}

async function runFirstScan(t: FirstScanTask): Promise<FirstScanFigures> {
  const installed = new Set(t.installed);
  const deadline = Date.now() + t.durationMs;
  const pageLat: number[] = [];
  const extLat: number[] = [];
  let pages = 0, fullPages = 0, updatesDelivered = 0, pageBytes = 0, extCalls = 0, extBytes = 0, handshakeCalls = 0;
  let scansCompleted = 0, clientsCompleted = 0, scanPages = 0, scanCached = 0;
  const errors: string[] = [];
  let lastEnd = 0;

  // The stock client, with its HTTP call timed up to the last response byte (decoding and
  // parsing happen after the clock stops) and GetExtendedUpdateInfo bodies left unparsed:
  // the simulated client never reads them, and parsing them would only load the generator.
  class TimedClient extends ProfileClient {
    override async call(path: string, action: string, inner: string): Promise<SoapReply> {
      if (Date.now() > deadline) throw new Stop();
      const op = action.slice(action.lastIndexOf('/') + 1);
      const t0 = performance.now();
      const res = await request(`${this.base}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'text/xml; charset=utf-8',
          soapaction: `"${action}"`,
          'user-agent': 'Windows-Update-Agent/1507.2601.30012.0 Client-Protocol/2.90',
          ...(t.xpress ? { 'accept-encoding': 'xpress' } : {}),
        },
        body: envelope(inner),
      });
      let raw: Buffer = Buffer.from(await res.body.arrayBuffer());
      const t1 = performance.now();
      lastEnd = t1;
      const wireBytes = raw.length;
      if (res.statusCode !== 200) throw new Error(`${op} answered ${res.statusCode}: ${raw.toString('utf8').slice(0, 300)}`);
      if (op === 'GetExtendedUpdateInfo') {
        extCalls++;
        extLat.push(t1 - t0);
        extBytes += wireBytes;
        const stub = readXml('<r/>', { maxDepth: 4, maxElements: 4, maxAttributes: 4 });
        return { status: res.statusCode, headers: res.headers, text: '', body: stub, result: stub, wireBytes };
      }
      if (res.headers['content-encoding'] === 'xpress') raw = xpressDecompress(raw, 256 * 1024 * 1024);
      const text = raw.toString('utf8');
      const root = readXml(text, { maxDepth: 64, maxElements: 10_000_000, maxAttributes: 64 });
      const body = root.children.find((c) => c.local === 'Body')!;
      if (op === 'SyncUpdates') {
        pageLat.push(t1 - t0);
        pageBytes += wireBytes;
      } else {
        handshakeCalls++;
      }
      return { status: res.statusCode, headers: res.headers, text, body, result: body.children[0]!, wireBytes };
    }

    override async syncPage(extra = ''): ReturnType<ProfileClient['syncPage']> {
      const p = await super.syncPage(extra);
      pages++;
      updatesDelivered += p.newUpdates.length;
      if (p.newUpdates.length >= t.pageSize) fullPages++;
      return p;
    }
  }

  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const loop = async (): Promise<void> => {
    while (Date.now() < deadline) {
      const c = new TimedClient(t.base, randomUUID(), installed, { xpress: t.xpress });
      try {
        await c.handshake();
        const n = await c.fullScan();
        scansCompleted++;
        scanPages += n;
        scanCached += c.installedNonLeaf.length + c.otherCached.length;
        const leaves = [...c.received.values()].filter((u) => u.isLeaf).map((u) => u.revisionId);
        for (let i = 0; i < leaves.length; i += t.extendedBatch) await c.extendedInfo(leaves.slice(i, i + t.extendedBatch));
        clientsCompleted++;
      } catch (e) {
        if (e instanceof Stop) return;
        if (errors.length < 5) errors.push((e as Error).message);
        if (errors.length >= 5) return;
      }
    }
  };
  await Promise.all(Array.from({ length: t.clients }, loop));
  const elapsedSec = (Math.max(lastEnd, start) - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - start) / 1000;
  return {
    elapsedSec,
    pages,
    fullPages,
    updatesDelivered,
    pageLatency: summarizeLatencies(pageLat),
    pageWireBytesAvg: pageLat.length ? pageBytes / pageLat.length : 0,
    extendedCalls: extCalls,
    extendedLatency: summarizeLatencies(extLat),
    extendedWireBytesAvg: extCalls ? extBytes / extCalls : 0,
    handshakeCalls,
    scansCompleted,
    clientsCompleted,
    pagesPerScan: scansCompleted ? scanPages / scansCompleted : 0,
    cachedIdsPerScan: scansCompleted ? scanCached / scansCompleted : 0,
    errors,
    cpuCores: (cpu.user + cpu.system) / 1e6 / wall,
  };
}

process.on('message', (m: unknown) => {
  const task = m as AutocannonTask | FirstScanTask;
  const run = task.kind === 'autocannon' ? runAutocannon(task) : runFirstScan(task);
  run.then(
    (figures) => process.send!(figures),
    (e: unknown) => process.send!({ error: (e as Error).stack ?? String(e) }),
  );
});

process.on('disconnect', () => process.exit(0));
