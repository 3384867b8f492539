// A fault-injecting HTTP proxy for loopback tests: sits between a downstream server and a real
// upstream of ours and, on request, answers ServerBusy, drops connections, truncates bodies,
// withholds items from GetUpdateData answers, or corrupts content bytes. Everything else is
// forwarded untouched, so the downstream talks to the real upstream through it.

import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { kind: 'server-busy' }
  | { kind: 'drop' }
  | { kind: 'truncate' }
  /** GetUpdateData: remove every second ServerSyncUpdateData from the answer */
  | { kind: 'partial-update-data' }
  /** /Content: flip a byte in the middle of the body */
  | { kind: 'corrupt-content' }
  | { kind: 'http-status'; status: number }
  /** hold the request this long, then forward it untouched (slows a sync down) */
  | { kind: 'delay'; ms: number };

export interface FaultRule {
  /** SOAP operation (element name in the body) or 'Content' for /Content GETs */
  operation: string;
  fault: Fault;
  /** how many matching requests to hit (default 1) */
  times?: number;
}

export interface ProxiedRequest {
  /** SOAP operation name, or 'Content' */
  operation: string;
  path: string;
  /** the request body as received (SOAP XML; empty for GETs) */
  body: string;
  /** the fault applied to it, if any */
  fault: Fault['kind'] | null;
  /** HTTP status the downstream got (0 until answered or when the connection was dropped) */
  status: number;
  /** the SOAP answer as forwarded (not kept for /Content) */
  response?: string;
}

export interface FaultProxy {
  url: string;
  /** operations seen, in order (SOAP operation names and 'Content') */
  seen: string[];
  /** every request, in order, with its body */
  requests: ProxiedRequest[];
  /** the requests of one operation since `from` (an index into requests) */
  of(operation: string, from?: number): ProxiedRequest[];
  inject(rule: FaultRule): void;
  /** faults still armed */
  pending(): number;
  /** disarms every fault still armed */
  clear(): void;
  close(): Promise<void>;
}

const BUSY_FAULT = '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body><soap:Fault>' +
  '<faultcode>soap:Server</faultcode><faultstring>Fault occurred</faultstring><detail><ErrorCode>ServerBusy</ErrorCode>' +
  '<Message></Message><ID>00000000-0000-0000-0000-000000000000</ID><Method></Method></detail></soap:Fault></soap:Body></soap:Envelope>';

function operationOf(path: string, body: Buffer): string {
  if (/^\/content\//i.test(path)) return 'Content';
  const m = /<soap:Body>\s*<([A-Za-z0-9_]+:)?([A-Za-z0-9_]+)/.exec(body.toString('utf8', 0, Math.min(body.length, 2000)));
  return m?.[2] ?? 'unknown';
}

function withoutEverySecondUpdate(xml: string): string {
  let i = 0;
  return xml.replace(/<ServerSyncUpdateData>[\s\S]*?<\/ServerSyncUpdateData>/g, (m) => (i++ % 2 === 1 ? '' : m));
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const rules: Array<FaultRule & { left: number }> = [];
  const seen: string[] = [];
  const requests: ProxiedRequest[] = [];

  const take = (op: string): Fault | undefined => {
    const r = rules.find((x) => x.left > 0 && x.operation === op);
    if (!r) return undefined;
    r.left--;
    return r.fault;
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const op = operationOf(req.url ?? '/', body);
    seen.push(op);
    const fault = take(op);
    const record: ProxiedRequest = { operation: op, path: req.url ?? '/', body: body.toString('utf8'), fault: fault?.kind ?? null, status: 0 };
    requests.push(record);
    if (fault?.kind === 'delay') {
      const timer = setTimeout(() => forward(req, res, body, undefined, record), fault.ms);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    if (fault?.kind === 'server-busy') {
      record.status = 500;
      res.writeHead(500, { 'Content-Type': 'text/xml; charset=utf-8' });
      res.end(BUSY_FAULT);
      return;
    }
    if (fault?.kind === 'http-status') {
      record.status = fault.status;
      res.writeHead(fault.status, { 'Content-Type': 'text/plain' });
      res.end(`injected ${fault.status}\n`);
      return;
    }
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    forward(req, res, body, fault, record);
  };

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer, fault: Fault | undefined, record: ProxiedRequest): void => {
    if (res.destroyed) return;
    const headers = { ...req.headers, host: upstream.host };
    // Bodies are rewritten below, so ask the upstream for identity encoding.
    delete headers['accept-encoding'];
    // One upstream connection per request: an upstream restarted between two requests is
    // then a clean refusal or a fresh connection, never a pooled socket that died.
    delete headers.connection;
    const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent: false }, (up) => {
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => {
        let payload = Buffer.concat(chunks);
        if (fault?.kind === 'partial-update-data') payload = Buffer.from(withoutEverySecondUpdate(payload.toString('utf8')), 'utf8');
        if (fault?.kind === 'corrupt-content' && payload.length > 0) {
          payload = Buffer.from(payload);
          const mid = payload.length >> 1;
          payload[mid] = payload[mid]! ^ 0xff;
        }
        record.status = up.statusCode ?? 502;
        if (record.operation !== 'Content') record.response = payload.toString('utf8');
        const h: Record<string, string | string[] | undefined> = { ...up.headers };
        delete h['transfer-encoding'];
        h['content-length'] = String(payload.length);
        if (fault?.kind === 'truncate') {
          res.writeHead(up.statusCode ?? 502, h);
          res.write(payload.subarray(0, payload.length >> 1));
          // Promised more than we send: the client must notice the short body.
          setTimeout(() => res.socket?.destroy(), 10);
          return;
        }
        res.writeHead(up.statusCode ?? 502, h);
        res.end(payload);
      });
      up.on('error', () => res.socket?.destroy());
    });
    out.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    out.end(body);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    requests,
    of: (operation, from = 0) => requests.slice(from).filter((r) => r.operation === operation),
    inject(rule) {
      rules.push({ ...rule, left: rule.times ?? 1 });
    },
    pending: () => rules.reduce((n, r) => n + r.left, 0),
    clear() {
      rules.length = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
