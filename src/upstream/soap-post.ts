import { gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import { request, type Dispatcher } from 'undici';
import { xpressDecompress } from '../protocol/xpress/index.js';
import { decodeBody } from '../protocol/xml/strict-xml-reader.js';
import { SERVER_VERSION } from '../version.js';

// One SOAP 1.1 POST to the upstream and nothing else: headers, a hard per-call deadline, a
// bounded body, the Content-Length check and content decoding. Every failure is a
// PostFailure saying whether trying again can help; the session decides what to do with it.

export const USER_AGENT = `wsus-ts/${SERVER_VERSION} (MS-WSUSSS downstream server)`;

export class PostFailure extends Error {
  constructor(message: string, readonly retryable: boolean, readonly httpStatus: number | null = null) {
    super(message);
    this.name = 'PostFailure';
  }
}

export interface PostOptions {
  url: string;
  /** already quoted, e.g. `"http://www.microsoft.com/SoftwareDistribution/GetConfigData"` */
  soapAction: string;
  body: string;
  dispatcher: Dispatcher;
  timeoutMs: number;
  maxBytes: number;
  signal?: AbortSignal;
}

export interface PostReply {
  status: number;
  /** decoded body text */
  text: string;
}

// Network conditions that a later try may not meet again. TLS verification errors, DNS
// failures and proxy refusals are deliberately absent: retrying them only delays the report.
const RETRYABLE_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

function errorCode(e: unknown): string {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur && typeof cur === 'object'; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return '';
}

/** The decoder stopped at the output cap (zlib's maxOutputLength, xpressDecompress's maxOutput). */
const tooLarge = (e: unknown): boolean =>
  (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || /exceeds the limit/.test((e as Error).message);

/** "deflate" is zlib-wrapped per RFC 9110, but some servers send raw deflate. */
function inflateEither(raw: Buffer, maxBytes: number): Buffer {
  try {
    return inflateSync(raw, { maxOutputLength: maxBytes });
  } catch (e) {
    if (tooLarge(e)) throw e;
    return inflateRawSync(raw, { maxOutputLength: maxBytes });
  }
}

function decode(encoding: string, raw: Buffer, maxBytes: number): Buffer {
  try {
    switch (encoding) {
      case '':
      case 'identity': return raw;
      case 'xpress': return xpressDecompress(raw, maxBytes);
      case 'gzip':
      case 'x-gzip': return gunzipSync(raw, { maxOutputLength: maxBytes });
      case 'deflate': return inflateEither(raw, maxBytes);
    }
  } catch (e) {
    if (tooLarge(e)) throw new PostFailure(`response body exceeds ${maxBytes} bytes once decoded`, false);
    // A body that does not decode is as good as truncated: the next try may get a whole one.
    throw new PostFailure(`response body does not decode as ${encoding}: ${(e as Error).message}`, true);
  }
  throw new PostFailure(`upstream answered with unsupported Content-Encoding ${encoding}`, false);
}

/** Stops reading a body we refuse; undici then errors the stream, which nobody needs to hear. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

async function readBounded(body: Dispatcher.ResponseData['body'], maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) {
      discard(body);
      throw new PostFailure(`response body exceeds ${maxBytes} bytes`, false);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/** AbortSignal.any, which Node 20 before 20.3 lacks. */
function either(a: AbortSignal, b: AbortSignal): AbortSignal {
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([a, b]);
  const c = new AbortController();
  for (const s of [a, b]) {
    if (s.aborted) c.abort(s.reason);
    else s.addEventListener('abort', () => c.abort(s.reason), { once: true });
  }
  return c.signal;
}

export async function postSoap(o: PostOptions): Promise<PostReply> {
  const deadline = AbortSignal.timeout(o.timeoutMs);
  const signal = o.signal ? either(o.signal, deadline) : deadline;
  try {
    const res = await request(o.url, {
      method: 'POST',
      dispatcher: o.dispatcher,
      signal,
      headers: {
        'content-type': 'text/xml; charset=utf-8',
        soapaction: o.soapAction,
        'accept-encoding': 'xpress',
        'user-agent': USER_AGENT,
      },
      body: o.body,
    });
    const declared = res.headers['content-length'];
    if (typeof declared === 'string' && Number(declared) > o.maxBytes) {
      discard(res.body);
      throw new PostFailure(`response body of ${declared} bytes exceeds ${o.maxBytes} bytes`, false, res.statusCode);
    }
    const raw = await readBounded(res.body, o.maxBytes);
    if (typeof declared === 'string' && Number(declared) !== raw.length) {
      throw new PostFailure(`truncated response: ${raw.length} of ${declared} bytes`, true, res.statusCode);
    }
    const encoding = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
    const bytes = decode(encoding, raw, o.maxBytes);
    let text: string;
    try {
      text = decodeBody(bytes);
    } catch {
      throw new PostFailure('response body is not valid UTF-8', true, res.statusCode);
    }
    return { status: res.statusCode, text };
  } catch (e) {
    if (e instanceof PostFailure) throw e;
    if (o.signal?.aborted) throw o.signal.reason ?? e;
    if (deadline.aborted) throw new PostFailure(`no complete answer within ${o.timeoutMs} ms`, true);
    const code = errorCode(e);
    throw new PostFailure(`${code || 'network error'}: ${(e as Error).message}`, RETRYABLE_CODES.has(code));
  }
}
