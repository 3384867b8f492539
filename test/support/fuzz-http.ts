import { connect } from 'node:net';
import { request } from 'undici';

// HTTP plumbing for the hostile-input tests: the one SOAP fault shape real WSUS sends (both
// envelope spellings), a POST with a deadline, and a raw socket for what no well-behaved
// client library sends (lying Content-Length, half-sent bodies, hand-made chunking).

export interface SoapFault {
  style: 'client' | 'asmx';
  faultcode: string;
  errorCode: string;
  message: string;
}

const DETAIL = '<detail><ErrorCode>([A-Za-z]+)</ErrorCode><Message>([^<]*)</Message><ID>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}</ID><Method>[^<]*</Method></detail>';
const CLIENT_FAULT = new RegExp('^<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:(Client|Server|VersionMismatch)</faultcode>' +
  `<faultstring>Fault occurred</faultstring>${DETAIL}</s:Fault></s:Body></s:Envelope>$`);
const ASMX_FAULT = new RegExp('^<\\?xml version="1.0" encoding="utf-8"\\?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body><soap:Fault>' +
  '<faultcode>soap:(Client|Server|VersionMismatch)</faultcode><faultstring>Fault occurred</faultstring><faultactor>http://[^<]+</faultactor>' +
  `${DETAIL}</soap:Fault></soap:Body></soap:Envelope>$`);

/** The fault, when `text` is exactly the shape real WSUS sends; null otherwise. */
export function soapFault(text: string): SoapFault | null {
  let m = CLIENT_FAULT.exec(text);
  if (m) return { style: 'client', faultcode: m[1]!, errorCode: m[2]!, message: m[3]! };
  m = ASMX_FAULT.exec(text);
  if (m) return { style: 'asmx', faultcode: m[1]!, errorCode: m[2]!, message: m[3]! };
  return null;
}

export interface PostReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** POSTs `body` with a deadline for the whole exchange; a hang becomes an error naming the path. */
export async function postRaw(base: string, path: string, body: Uint8Array | string, headers: Record<string, string> = {}, timeoutMs = 30_000): Promise<PostReply> {
  const r = await request(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8', ...headers },
    body,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  return { status: r.statusCode, headers: r.headers, text: await r.body.text() };
}

export interface RawReply {
  /** everything the server wrote, as latin1 */
  raw: string;
  /** the status of the first response, or null when none came */
  status: number | null;
  /** every status line's code, in order (a 100 Continue, then the answer) */
  statuses: number[];
  /** the server closed the connection */
  closed: boolean;
}

/**
 * Writes `parts` to a fresh connection (with `pauseMs` between them), half-closes it unless
 * `keepOpen`, and collects what comes back until the server closes or `waitMs` pass.
 */
export function rawExchange(port: number, parts: Array<string | Buffer>, opts: { keepOpen?: boolean; waitMs?: number; pauseMs?: number } = {}): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    const finish = (): void => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
      sock.destroy();
      const statuses = [...raw.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3})/g)].map((x) => Number(x[1]));
      resolve({ raw, status: m ? Number(m[1]) : null, statuses, closed });
    };
    const timer = setTimeout(finish, opts.waitMs ?? 5000);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('close', () => {
      closed = true;
      finish();
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      // A reset after the server answered is still an answer.
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return;
      clearTimeout(timer);
      reject(e);
    });
    sock.on('connect', async () => {
      for (const p of parts) {
        if (sock.destroyed) return;
        sock.write(p);
        if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
      }
      if (!opts.keepOpen && !sock.destroyed) sock.end();
    });
  });
}

/** A request head for rawExchange. */
export function head(method: string, path: string, headers: Record<string, string | number>): string {
  return `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}
