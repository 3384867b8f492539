import type { Server } from 'node:http';
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
