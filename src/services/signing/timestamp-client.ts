// The HTTP side of RFC 3161 (section 3.4): POST a DER TimeStampReq as
// application/timestamp-query, expect application/timestamp-reply. Bounded in
// time and size; every failure is a TimestampError naming the TSA (its URL
// without credentials or query, which may carry secrets).

import { request, type Dispatcher } from 'undici';
import {
  TimestampError,
  buildTimeStampRequest,
  embedTimeStampToken,
  parseTimeStampResponse,
  signatureValueOf,
} from '../../protocol/authenticode/timestamp.js';

export { TimestampError } from '../../protocol/authenticode/timestamp.js';

export interface TimestampClientOptions {
  /** Whole exchange, connect to last byte (default 30 s). */
  readonly timeoutMs?: number;
  /** Largest reply accepted (default 64 KiB; a token is a few KiB). */
  readonly maxResponseBytes?: number;
  readonly signal?: AbortSignal;
  readonly dispatcher?: Dispatcher;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_RESPONSE = 64 * 1024;
const REPLY_TYPES = new Set(['application/timestamp-reply', 'application/timestamp-response']);

/** The URL as it may appear in messages and logs: no user info, no query, no fragment. */
export function displayTsaUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(unparseable TSA URL)';
  }
}

/** Aborts when either does (AbortSignal.any needs Node 20.3). */
function eitherSignal(a: AbortSignal, b: AbortSignal | undefined): AbortSignal {
  if (!b) return a;
  const both = new AbortController();
  const abort = (): void => both.abort();
  if (a.aborted || b.aborted) abort();
  a.addEventListener('abort', abort, { once: true });
  b.addEventListener('abort', abort, { once: true });
  return both.signal;
}

/** One RFC 3161 exchange: returns the DER TimeStampResp. */
export async function postTimeStampQuery(url: string, query: Uint8Array, options: TimestampClientOptions = {}): Promise<Buffer> {
  const shown = displayTsaUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TimestampError(`timestamp server URL is not a valid URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TimestampError(`timestamp server ${shown}: only http and https URLs are supported`);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = eitherSignal(timeout, options.signal);
  try {
    const res = await request(parsed, {
      method: 'POST',
      headers: { 'content-type': 'application/timestamp-query', accept: 'application/timestamp-reply' },
      body: Buffer.from(query),
      signal,
      dispatcher: options.dispatcher,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const type = String(res.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (res.statusCode < 200 || res.statusCode > 299) {
      await res.body.dump().catch(() => undefined);
      throw new TimestampError(`timestamp server ${shown} answered HTTP ${res.statusCode}`);
    }
    if (!REPLY_TYPES.has(type)) {
      await res.body.dump().catch(() => undefined);
      throw new TimestampError(`timestamp server ${shown} answered ${JSON.stringify(type || 'no content type')}, not application/timestamp-reply`);
    }
    const declared = Number(res.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      await res.body.dump().catch(() => undefined);
      throw new TimestampError(`timestamp server ${shown} sent a ${declared}-byte reply (limit ${maxBytes})`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        res.body.destroy();
        throw new TimestampError(`timestamp server ${shown} sent more than ${maxBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  } catch (error) {
    if (error instanceof TimestampError) throw error;
    if (options.signal?.aborted) throw new TimestampError(`timestamping with ${shown} was cancelled`);
    if (timeout.aborted) throw new TimestampError(`timestamp server ${shown} did not answer within ${timeoutMs} ms`);
    const code = (error as { code?: string }).code;
    throw new TimestampError(`timestamp server ${shown} is unreachable: ${code ?? (error as Error).message}`);
  }
}

/**
 * Timestamps an Authenticode SignedData (DER) with the TSA at `url` and
 * returns it with the token embedded; the reply is checked (status, imprint,
 * nonce, the TSA's signature) before it is used.
 */
export async function timestampSignedData(
  signedData: Uint8Array,
  url: string,
  options: TimestampClientOptions = {},
): Promise<{ signedData: Buffer; genTime: Date }> {
  const query = buildTimeStampRequest(signatureValueOf(signedData));
  const reply = await postTimeStampQuery(url, query.der, options);
  let result: { token: Buffer; genTime: Date };
  try {
    result = parseTimeStampResponse(reply, query);
  } catch (error) {
    throw new TimestampError(`timestamp server ${displayTsaUrl(url)}: ${(error as Error).message}`);
  }
  return { signedData: embedTimeStampToken(signedData, result.token), genTime: result.genTime };
}

/** The timestamping step signCabinetFile takes: the SignedData with the TSA's token embedded. */
export function timestampFrom(url: string): (signedData: Buffer, signal?: AbortSignal) => Promise<Buffer> {
  return async (signedData, signal) => (await timestampSignedData(signedData, url, signal ? { signal } : {})).signedData;
}
