import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// In front of a real upstream of ours: SOAP is forwarded untouched, /Content/<XX>/<SHA1>.<ext>
// is served from the generated catalog's bytes — slowly when `slow` is on (small chunks with
// pauses), so a downstream can be killed in the middle of a file — with Range support, so a
// resumed download can be seen (`requests` records each Range asked for).

export interface ContentRequest { sha1Hex: string; range: string | null; status: number }

export interface SlowContentUpstream {
  url: string;
  slow: boolean;
  requests: ContentRequest[];
  close(): Promise<void>;
}

export async function startSlowContentUpstream(target: string, files: ReadonlyMap<string, Buffer>, o: { chunkBytes?: number; pauseMs?: number } = {}): Promise<SlowContentUpstream> {
  const upstream = new URL(target);
  const chunkBytes = o.chunkBytes ?? 16 * 1024;
  const pauseMs = o.pauseMs ?? 10;
  const state: SlowContentUpstream = { url: '', slow: false, requests: [], close: async () => undefined };

  const server: Server = createServer((req, res) => {
    const m = /^\/Content\/[0-9A-F]{2}\/([0-9A-F]{40})\.\w+$/i.exec(req.url ?? '');
    if (!m) {
      // forward (SOAP): one upstream connection per request
      const headers = { ...req.headers, host: upstream.host };
      delete headers.connection;
      const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent: false }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      out.on('error', () => res.destroy());
      req.pipe(out);
      return;
    }
    const hex = m[1]!.toUpperCase();
    const body = files.get(hex);
    const range = typeof req.headers.range === 'string' ? req.headers.range : null;
    const record: ContentRequest = { sha1Hex: hex, range, status: 0 };
    state.requests.push(record);
    if (!body) {
      record.status = 404;
      res.writeHead(404).end();
      return;
    }
    let start = 0;
    const r = range ? /^bytes=(\d+)-$/.exec(range) : null;
    if (r && Number(r[1]) < body.length) {
      start = Number(r[1]);
      record.status = 206;
      res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
    } else {
      record.status = 200;
      res.writeHead(200, { 'content-length': body.length });
    }
    let off = start;
    const pump = (): void => {
      if (res.destroyed) return;
      if (off >= body.length) {
        res.end();
        return;
      }
      const n = state.slow ? chunkBytes : body.length;
      res.write(body.subarray(off, off + n));
      off += n;
      if (state.slow) setTimeout(pump, pauseMs);
      else pump();
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}
