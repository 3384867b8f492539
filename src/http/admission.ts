import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Limits } from '../config/config.js';
import { createTokenBuckets, type TokenBuckets } from '../core/reporting/token-bucket.js';
import type { Logger } from '../logger.js';

// Admission control for the client listeners (HTTP and HTTPS share one): what keeps a scan
// storm from turning into collapse. After Patch Tuesday thousands of clients rescan at once;
// WSUS answers 503 until its pool recovers, and Windows Update backs off on 503 (0x80244022).
// We answer 503 early and cheaply, with Retry-After, before reading or parsing anything:
//
// - SOAP: at most `maxConcurrentSoap` requests hold a slot, `maxQueuedSoap` more wait for one,
//   the rest are refused from their headers alone (the body is never read). The SOAP work is
//   synchronous, so requests that arrive in one event-loop turn are the ones that compete: a slot
//   is given back at the end of the turn in which its request was answered, which bounds how
//   much work one turn takes and so the latency of everything admitted.
// - A request whose body is still arriving after `slowBodyGraceSeconds` gives its slot up and
//   keeps only its connection (slowloris; requestTimeoutSeconds ends it).
// - Downloads (/Content, /selfupdate) are streams: their own bound, so they cannot starve scans.
// - Per client address, a token bucket of SOAP requests (loopback peers exempt: a local reverse
//   proxy would otherwise throttle every client behind it as one).
// - While the server drains for shutdown, every new request is refused the same way.

export type BusyReason = 'soapFull' | 'downloadsFull' | 'clientRate' | 'draining' | 'connectionsFull';

export interface AdmissionStats {
  soapActive: number;
  soapQueued: number;
  downloadsActive: number;
  /** requests that had to wait for a slot, since the start */
  waited: number;
  /** requests that gave their slot up because their body was too slow */
  slowBodies: number;
  /** refusals since the start, by reason */
  refused: Record<BusyReason, number>;
}

export interface Admission {
  /**
   * A SOAP request: starts `work` now or once a slot frees, or answers 503 itself. `work`'s
   * promise settles once the request has been answered. `prefetch` is called when the request
   * has to wait: its body is read meanwhile, so that it is ready when the slot comes (left
   * unread, the socket would stop at the stream's high-water mark and cost another turn).
   */
  soap(req: IncomingMessage, res: ServerResponse, work: () => Promise<void>, prefetch?: () => void): void;
  /** A download: false when it was answered 503; otherwise its slot is held until the response closes. */
  download(res: ServerResponse): boolean;
  /** Answers 503 (shutting down) and returns true while draining; false otherwise. */
  refuseIfDraining(res: ServerResponse): boolean;
  /** From now on every new request is answered 503 (shutdown). */
  drain(): void;
  /** A connection closed by the listener because it was full (server.maxConnections). */
  connectionDropped(): void;
  stats(): AdmissionStats;
  close(): void;
}

export type AdmissionLimits = Pick<Limits,
  'maxConcurrentSoap' | 'maxQueuedSoap' | 'maxConcurrentDownloads' | 'clientRequestsPerMinute' | 'clientRequestBurst' | 'retryAfterSeconds' | 'slowBodyGraceSeconds'>;

const LOOPBACK: ReadonlySet<string> = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const SWEEP_MS = 250;

/** Bodies up to this size are read and dropped on a refusal, so the client keeps its connection. */
const KEEP_ALIVE_BODY_MAX = 64 * 1024;

/**
 * The 503 every refusal sends, with Retry-After. A refused client that has to reconnect costs more
 * than the refusal itself, and in a storm the reconnects pile up in the accept queue (measured:
 * multi-second tails and half the throughput): so a small body (a scan is 10-30 KB) is drained
 * and the connection kept; a large or chunked one is not read and the connection is closed, as is
 * every connection while the server shuts down (`close`).
 */
export function answerBusy(res: ServerResponse, retryAfterSeconds: number, why: string, close = false): void {
  const body = `server busy (${why}): retry after ${retryAfterSeconds} seconds\n`;
  const req = res.req as IncomingMessage | undefined;
  const declared = Number(req?.headers['content-length'] ?? 0);
  const keep = !close && req !== undefined && req.headers['transfer-encoding'] === undefined && Number.isFinite(declared) && declared <= KEEP_ALIVE_BODY_MAX;
  if (keep) req.resume();
  const headers = [
    'Content-Type', 'text/plain; charset=utf-8',
    'Content-Length', String(Buffer.byteLength(body)),
    'Retry-After', String(retryAfterSeconds),
    'Cache-Control', 'no-store',
  ];
  if (!keep) headers.push('Connection', 'close');
  res.writeHead(503, headers);
  res.end(body);
}

const REASON_TEXT: Record<BusyReason, string> = {
  soapFull: 'too many requests',
  downloadsFull: 'too many downloads',
  clientRate: 'too many requests from this address',
  draining: 'shutting down',
  connectionsFull: 'too many connections',
};

interface Waiting { req: IncomingMessage; res: ServerResponse; work: () => Promise<void> }

export function createAdmission(limits: AdmissionLimits, log: Logger, opts: { logIntervalMs?: number; now?: () => number } = {}): Admission {
  const now = opts.now ?? Date.now;
  const logIntervalMs = opts.logIntervalMs ?? 10_000;
  const maxSoap = limits.maxConcurrentSoap;
  const graceMs = limits.slowBodyGraceSeconds * 1000;
  const buckets: TokenBuckets | null = limits.clientRequestsPerMinute > 0
    ? createTokenBuckets(limits.clientRequestsPerMinute, limits.clientRequestBurst)
    : null;

  let active = 0;
  // Slot holders and when they were admitted; a holder missing here has given its slot up.
  const holders = new Map<IncomingMessage, number>();
  const queue: Waiting[] = [];
  let toRelease = 0;
  let releaseScheduled = false;
  let downloads = 0;
  let draining = false;
  let slowBodies = 0;
  let waited = 0;
  const refused: Record<BusyReason, number> = { soapFull: 0, downloadsFull: 0, clientRate: 0, draining: 0, connectionsFull: 0 };
  // Refusals since the last warning: one line per interval with counts, never one per request.
  let unlogged: Partial<Record<BusyReason, number>> = {};
  let unloggedAny = false;
  let lastLog = -Infinity;

  function logRefusals(t: number): void {
    if (!unloggedAny || t - lastLog < logIntervalMs) return;
    lastLog = t;
    const counts = unlogged;
    unlogged = {};
    unloggedAny = false;
    log.warn('server busy: requests answered 503 with Retry-After', {
      refused: counts, soapActive: active, soapQueued: queue.length, downloadsActive: downloads, retryAfterSeconds: limits.retryAfterSeconds,
    });
  }

  function count(reason: BusyReason): void {
    refused[reason]++;
    unlogged[reason] = (unlogged[reason] ?? 0) + 1;
    unloggedAny = true;
    logRefusals(now());
  }

  function refuse(res: ServerResponse, reason: BusyReason): void {
    count(reason);
    answerBusy(res, limits.retryAfterSeconds, REASON_TEXT[reason], reason === 'draining');
  }

  // `fromQueue`: started at the end of a turn, from the queue; such a request gives its slot back
  // as soon as it is answered, so it does not count against the next turn's arrivals.
  function start(req: IncomingMessage, res: ServerResponse, work: () => Promise<void>, fromQueue = false): void {
    active++;
    holders.set(req, now());
    const done = fromQueue ? (): void => releaseNow(req) : (): void => release(req);
    work().then(done, done);
  }

  function release(req: IncomingMessage): void {
    if (!holders.delete(req)) return;
    toRelease++;
    if (!releaseScheduled) {
      releaseScheduled = true;
      setImmediate(releaseTurn);
    }
  }

  function releaseNow(req: IncomingMessage): void {
    if (!holders.delete(req)) return;
    active--;
    pump();
  }

  // End of the event-loop turn: the slots of everything answered in it come back.
  function releaseTurn(): void {
    releaseScheduled = false;
    active -= toRelease;
    toRelease = 0;
    pump();
  }

  function pump(): void {
    while (active < maxSoap && queue.length) {
      const w = queue.shift()!;
      if (w.req.socket.destroyed) continue;
      start(w.req, w.res, w.work, true);
    }
  }

  const sweep = setInterval(() => {
    const t = now();
    for (const [req, since] of holders) {
      if (t - since > graceMs && !req.complete) {
        holders.delete(req);
        active--;
        slowBodies++;
      }
    }
    pump();
    logRefusals(t);
  }, SWEEP_MS);
  sweep.unref();

  return {
    soap(req, res, work, prefetch) {
      if (buckets) {
        const address = req.socket.remoteAddress ?? '';
        if (!LOOPBACK.has(address) && !buckets.take(address, 1, now())) {
          refuse(res, 'clientRate');
          return;
        }
      }
      if (maxSoap === 0) void work();
      else if (active < maxSoap) start(req, res, work);
      else if (queue.length < limits.maxQueuedSoap) {
        queue.push({ req, res, work });
        waited++;
        prefetch?.();
      }
      else refuse(res, 'soapFull');
    },

    download(res) {
      if (limits.maxConcurrentDownloads > 0 && downloads >= limits.maxConcurrentDownloads) {
        refuse(res, 'downloadsFull');
        return false;
      }
      downloads++;
      res.once('close', () => downloads--);
      return true;
    },

    refuseIfDraining(res) {
      if (!draining) return false;
      refuse(res, 'draining');
      return true;
    },

    drain() {
      draining = true;
    },

    connectionDropped() {
      count('connectionsFull');
    },

    stats() {
      return { soapActive: active, soapQueued: queue.length, downloadsActive: downloads, waited, slowBodies, refused: { ...refused } };
    },

    close() {
      clearInterval(sweep);
      logRefusals(Infinity);
    },
  };
}
