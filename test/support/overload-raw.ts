import { connect, type Socket } from 'node:net';

// Raw HTTP/1.1 over a socket for the overload and shutdown tests: requests sent in pieces (a
// body that stops half-way holds its server slot), pipelined requests, a chosen source address,
// and every response byte as it arrived, including a connection the server closes unanswered.

export interface RawResponse {
  status: number;
  /** lower-case names */
  headers: Record<string, string>;
  body: string;
}

export interface RawConn {
  socket: Socket;
  /** bytes written so far (what the server could have read at most) */
  written(): number;
  write(data: string | Buffer): void;
  /** resolves with the first `n` complete responses; rejects when the connection closes first */
  responses(n?: number, timeoutMs?: number): Promise<RawResponse[]>;
  /** every response received before the connection closed */
  closed: Promise<RawResponse[]>;
  isClosed(): boolean;
  end(): void;
}

export function rawConnect(port: number, opts: { host?: string; localAddress?: string } = {}): Promise<RawConn> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: opts.host ?? '127.0.0.1', localAddress: opts.localAddress });
    let buf = Buffer.alloc(0);
    let written = 0;
    let closed = false;
    const waiters = new Set<() => void>();
    const notify = (): void => {
      for (const w of [...waiters]) w();
    };
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      notify();
    });
    socket.on('error', () => undefined);
    const closedP = new Promise<RawResponse[]>((r) => socket.once('close', () => {
      closed = true;
      notify();
      r(parseResponses(buf, true));
    }));
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve({
        socket,
        written: () => written,
        write(data) {
          if (socket.destroyed) return;
          written += Buffer.byteLength(data);
          socket.write(data);
        },
        responses(n = 1, timeoutMs = 20_000) {
          return new Promise((res, rej) => {
            const timer = setTimeout(() => {
              waiters.delete(check);
              rej(new Error(`no ${n} response(s) within ${timeoutMs} ms; got: ${buf.toString('latin1').slice(0, 300)}`));
            }, timeoutMs);
            const check = (): void => {
              const got = parseResponses(buf, closed);
              if (got.length >= n || closed) {
                waiters.delete(check);
                clearTimeout(timer);
                if (got.length >= n) res(got.slice(0, n));
                else rej(new Error(`connection closed after ${got.length} of ${n} responses: ${buf.toString('latin1').slice(0, 300)}`));
              }
            };
            waiters.add(check);
            check();
          });
        },
        closed: closedP,
        isClosed: () => closed,
        end: () => socket.destroy(),
      });
    });
    socket.once('error', reject);
  });
}

/** Complete responses in `buf` (a body without Content-Length runs to the end of a closed connection). */
export function parseResponses(buf: Buffer, closed: boolean): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', at, 'latin1');
    if (end < 0) return out;
    const lines = buf.toString('latin1', at, end).split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? NaN);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const start = end + 4;
    const length = headers['content-length'] !== undefined ? Number(headers['content-length']) : null;
    if (length === null) {
      if (!closed) return out;
      out.push({ status, headers, body: buf.toString('utf8', start) });
      return out;
    }
    if (buf.length < start + length) return out;
    out.push({ status, headers, body: buf.toString('utf8', start, start + length) });
    at = start + length;
  }
}

/** Request head of a SOAP POST with a declared body length. */
export function soapHead(path: string, action: string, contentLength: number): string {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml; charset=utf-8\r\nSOAPAction: "${action}"\r\n` +
    `User-Agent: Windows-Update-Agent/1507.2601.30012.0 Client-Protocol/2.90\r\nContent-Length: ${contentLength}\r\n\r\n`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it holds; fails with `what` after `timeoutMs`. */
export async function until(probe: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
