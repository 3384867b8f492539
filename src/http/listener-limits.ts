import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Limits } from '../config/config.js';

// Connection-level limits of the client listeners (HTTP and HTTPS alike): how long headers, a
// whole request and an idle keep-alive connection may take, and how many connections may be
// open. They are what ends slowloris: a connection trickling its headers or body is cut when its
// time is up, and it never held more than that one connection.

/**
 * The listen backlog of the client listeners. Node's default (511) overflows when a storm of
 * clients connects at once, and a dropped handshake costs its client a 1 s, then 3 s retransmit;
 * queued, it is accepted and answered (or refused) within the turn. Linux caps it at somaxconn.
 */
export const LISTEN_BACKLOG = 4096;

export type ConnectionLimits = Pick<Limits, 'headersTimeoutSeconds' | 'requestTimeoutSeconds' | 'keepAliveTimeoutSeconds' | 'maxConnections'>;

export interface TimeoutOptions {
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  connectionsCheckingInterval: number;
}

/** The timeouts as http.createServer / https.createServer options. */
export function timeoutOptions(l: ConnectionLimits): TimeoutOptions {
  const shortest = Math.min(l.headersTimeoutSeconds, l.requestTimeoutSeconds) * 1000;
  return {
    headersTimeout: l.headersTimeoutSeconds * 1000,
    requestTimeout: l.requestTimeoutSeconds * 1000,
    keepAliveTimeout: l.keepAliveTimeoutSeconds * 1000,
    // Node checks both timeouts on this interval (30 s by default), so a 20 s limit could let a
    // slow connection live 50 s; a quarter of the shortest keeps the overshoot small.
    connectionsCheckingInterval: Math.max(250, Math.min(5000, Math.floor(shortest / 4))),
  };
}

/** Caps open connections (0 = no cap); `onDrop` hears of every connection closed for it. */
export function capConnections(server: Server, l: ConnectionLimits, onDrop: () => void): void {
  if (l.maxConnections > 0) server.maxConnections = l.maxConnections;
  server.on('drop', onDrop);
}

/**
 * Stops accepting connections and resolves once every open one has ended: idle keep-alive
 * connections are closed as they become idle, in-flight requests finish; at `deadline` (epoch
 * ms; Infinity = never) whatever is still open is cut.
 */
export function drainServer(server: Server, deadline: number): Promise<void> {
  return new Promise<void>((resolve) => {
    let cut: NodeJS.Timeout | null = null;
    const idle = setInterval(() => server.closeIdleConnections(), 50);
    const finish = (): void => {
      clearInterval(idle);
      if (cut) clearTimeout(cut);
      resolve();
    };
    if (!server.listening) {
      server.closeAllConnections();
      finish();
      return;
    }
    server.close(() => finish());
    server.closeIdleConnections();
    if (Number.isFinite(deadline)) cut = setTimeout(() => server.closeAllConnections(), Math.max(0, deadline - Date.now()));
  });
}

const CLIENT_ERROR_LOG_MS = 10_000;

/**
 * Requests Node's HTTP parser refuses before any handler sees them (malformed request lines,
 * oversized headers, a request that timed out): answered as Node would (400, 431, 408) and
 * logged, at most one line per 10 s with counts per reason, so an attack is visible without
 * flooding the log. Connection resets are routine (BITS resets freely) and only counted.
 */
export function answerClientErrors(server: { on(event: 'clientError', l: (err: Error, socket: Duplex) => void): unknown }, log: { warn(message: string, meta?: object): unknown }, now: () => number = Date.now): void {
  let counts: Record<string, number> = {};
  let last = -Infinity;
  let lastAddress: string | null = null;
  server.on('clientError', (err, socket) => {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
    if (code !== 'ECONNRESET') {
      counts[code] = (counts[code] ?? 0) + 1;
      lastAddress = (socket as Duplex & { remoteAddress?: string }).remoteAddress ?? null;
      const t = now();
      if (t - last >= CLIENT_ERROR_LOG_MS) {
        log.warn('malformed or timed-out HTTP requests refused before parsing', { counts, lastAddress });
        counts = {};
        last = t;
      }
    }
    if (code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large'
      : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
}
