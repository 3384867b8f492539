import { createReadStream, createWriteStream, existsSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Agent, request, type Dispatcher } from 'undici';
import { DomainError, type ErrorCode } from '../core/errors.js';
import { ADMIN_DEFAULT_PORT } from '../config/admin-config.js';
import type { AdminProgress } from '../admin/admin-router.types.js';
import type { AdminClient } from './admin-client.types.js';
import { flag, type ParsedArgs } from './args.js';
import { rateProgress } from './progress.js';

// The CLI's side of the admin API. Where the server is: --server URL, $WSUS_ADMIN_URL, or the
// data directory's config.json (`admin.host`/`admin.port`, https when `admin.tlsCert` is set —
// whose certificate is then trusted, so a self-signed admin certificate works locally). Which
// token: --token, $WSUS_TOKEN, or DIR/admin-token (`wsus tokens create --save`). API errors
// come back as DomainErrors with the server's code, so main.ts maps them to exit codes.

/** value flags every API command accepts */
export const ADMIN_FLAGS = ['server', 'token', 'data', 'ca'] as const;
export const TOKEN_FILE = 'admin-token';

export class AdminUnreachableError extends Error {
  constructor(url: string, cause: string) {
    super(`cannot reach the admin API at ${url}: is \`wsus serve\` running? (${cause})`);
    this.name = 'AdminUnreachableError';
  }
}

type Query = Record<string, string | number | boolean | undefined>;

export interface AdminConnection {
  url: string;
  token: string | null;
  /** where the token came from, for messages */
  tokenSource: string;
  /** PEM CA to trust for an https admin URL (null: the system roots) */
  ca: string | null;
}

interface Raw { [k: string]: unknown }

function readDataDirAdmin(dataDir: string): { host: string; port: number; tlsCert: string | null } {
  let admin: Raw = {};
  const file = join(dataDir, 'config.json');
  if (existsSync(file)) {
    try {
      const raw = JSON.parse(readFileSync(file, 'utf8')) as Raw;
      if (raw && typeof raw.admin === 'object' && raw.admin !== null) admin = raw.admin as Raw;
    } catch {
      // a broken config.json: the defaults still find a server started with them
    }
  }
  const host = typeof admin.host === 'string' && admin.host ? admin.host : '127.0.0.1';
  const envPort = process.env.WSUS_ADMIN_PORT;
  const port = envPort && /^\d+$/.test(envPort) ? Number(envPort) : typeof admin.port === 'number' ? admin.port : typeof admin.port === 'string' && /^\d+$/.test(admin.port) ? Number(admin.port) : ADMIN_DEFAULT_PORT;
  const tlsCert = typeof admin.tlsCert === 'string' && admin.tlsCert ? resolve(dataDir, admin.tlsCert) : null;
  return { host, port, tlsCert };
}

/** Resolves server URL, token and CA from flags, environment and the data directory. */
export function resolveAdminConnection(o: { server?: string; token?: string; data?: string; ca?: string }, env: NodeJS.ProcessEnv = process.env): AdminConnection {
  const dataDir = resolve(o.data ?? env.WSUS_DATA ?? './data');
  let url = o.server ?? env.WSUS_ADMIN_URL;
  let ca: string | null = null;
  const caFile = o.ca ?? env.WSUS_ADMIN_CA;
  if (!url) {
    const a = readDataDirAdmin(dataDir);
    const host = a.host === '0.0.0.0' ? '127.0.0.1' : a.host === '::' ? '::1' : a.host;
    url = `${a.tlsCert ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${a.port}`;
    if (a.tlsCert && !caFile && existsSync(a.tlsCert)) ca = readFileSync(a.tlsCert, 'utf8');
  }
  if (caFile) ca = readFileSync(resolve(caFile), 'utf8');
  let parsed: URL;
  try {
    parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw new DomainError('InvalidInput', 'server', `--server must be an http:// or https:// URL (got ${JSON.stringify(url)})`);
  }
  let token: string | null = null;
  let tokenSource = '';
  if (o.token) {
    token = o.token;
    tokenSource = '--token';
  } else if (env.WSUS_TOKEN) {
    token = env.WSUS_TOKEN;
    tokenSource = '$WSUS_TOKEN';
  } else {
    const file = join(dataDir, TOKEN_FILE);
    if (existsSync(file)) {
      token = readFileSync(file, 'utf8').trim() || null;
      tokenSource = file;
    }
  }
  return { url: parsed.origin, token, tokenSource, ca };
}

function toError(status: number, text: string, url: string): Error {
  let body: { error?: unknown; code?: unknown } | null = null;
  try {
    body = JSON.parse(text) as { error?: unknown; code?: unknown };
  } catch {
    body = null;
  }
  if (body && typeof body.error === 'string' && typeof body.code === 'string') {
    const message = status === 401 || status === 403 ? `${status}: ${body.error}` : body.error;
    return new DomainError(body.code as ErrorCode, '', message);
  }
  return new Error(`the admin API at ${url} answered ${status}: ${text.slice(0, 200) || '(no body)'}`);
}

function withQuery(path: string, query: Query | undefined): string {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path;
}

export function createAdminClient(conn: AdminConnection): AdminClient {
  const dispatcher: Dispatcher = new Agent({
    connect: conn.ca ? { ca: conn.ca } : {},
    keepAliveTimeout: 1_000,
  });
  const auth = (): Record<string, string> => {
    if (!conn.token) {
      throw new DomainError('Unauthorized', '', 'no admin token: pass --token, set $WSUS_TOKEN, or create one on the server with wsus tokens create --name NAME --role admin --save');
    }
    return { authorization: `Bearer ${conn.token}` };
  };

  async function call(method: Dispatcher.HttpMethod, path: string, headers: Record<string, string>, body: Dispatcher.DispatchOptions['body'], long: boolean): Promise<Dispatcher.ResponseData> {
    const h = { ...auth(), ...headers };
    try {
      return await request(`${conn.url}${path}`, {
        method, headers: h, body, dispatcher,
        headersTimeout: long ? 0 : 600_000, bodyTimeout: long ? 0 : 600_000,
      });
    } catch (e) {
      const err = e as Error & { code?: string; cause?: { code?: string; message?: string } };
      const code = err.code ?? err.cause?.code ?? '';
      if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ECONNRESET|EAI_AGAIN|UND_ERR_CONNECT_TIMEOUT|UND_ERR_SOCKET/.test(code)) {
        throw new AdminUnreachableError(conn.url, code);
      }
      if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code) || /certificate/i.test(err.message)) {
        throw new AdminUnreachableError(conn.url, `TLS: ${err.cause?.message ?? err.message}; trust its certificate with --ca FILE or $WSUS_ADMIN_CA`);
      }
      throw e;
    }
  }

  async function json<T>(res: Dispatcher.ResponseData): Promise<T> {
    const text = await res.body.text();
    if (res.statusCode === 204) return undefined as T;
    if (res.statusCode >= 400) throw toError(res.statusCode, text, conn.url);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new Error(`the admin API at ${conn.url} answered with something that is not JSON: ${text.slice(0, 200)}`);
    }
  }

  /** NDJSON: progress lines, then one result or error line. */
  async function ndjson<T>(res: Dispatcher.ResponseData, onProgress: (p: AdminProgress) => void): Promise<T> {
    const type = String(res.headers['content-type'] ?? '');
    if (res.statusCode >= 400 || !type.includes('ndjson')) return json<T>(res);
    let buf = '';
    let outcome: { result: T } | { error: Error } | null = null;
    const onLine = (line: string): void => {
      if (!line.trim()) return;
      const v = JSON.parse(line) as { progress?: AdminProgress; result?: T; error?: string; code?: string };
      if (v.progress) onProgress(v.progress);
      else if ('result' in v) outcome = { result: v.result as T };
      else if (typeof v.error === 'string') outcome = { error: new DomainError((v.code ?? 'InternalServerError') as ErrorCode, '', v.error) };
    };
    for await (const chunk of res.body) {
      buf += (chunk as Buffer).toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    }
    onLine(buf);
    const o = outcome as { result: T } | { error: Error } | null;
    if (!o) throw new Error(`the admin API at ${conn.url} ended the response without a result (the server stopped?)`);
    if ('error' in o) throw o.error;
    return o.result;
  }

  return {
    url: conn.url,
    async get<T>(path: string, query?: Query): Promise<T> {
      return json<T>(await call('GET', withQuery(path, query), {}, undefined, false));
    },
    async send<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
      const text = body === undefined ? undefined : JSON.stringify(body);
      return json<T>(await call(method, path, text === undefined ? {} : { 'content-type': 'application/json' }, text, false));
    },
    async run<T>(method: 'POST', path: string, body: unknown, onProgress: (p: AdminProgress) => void): Promise<T> {
      return ndjson<T>(await call(method, path, { 'content-type': 'application/json' }, JSON.stringify(body ?? {}), true), onProgress);
    },
    async download(path: string, query: Query, toFile: string): Promise<{ bytes: number }> {
      const res = await call('GET', withQuery(path, query), {}, undefined, true);
      if (res.statusCode >= 400) return json(res);
      const tmp = `${toFile}.part`;
      let bytes = 0;
      res.body.on('data', (c: Buffer) => { bytes += c.length; });
      try {
        await pipeline(res.body, createWriteStream(tmp));
        renameSync(tmp, toFile);
      } catch (e) {
        try { unlinkSync(tmp); } catch { /* nothing written */ }
        throw e;
      }
      return { bytes };
    },
    async upload<T>(path: string, fromFile: string, onProgress: (p: AdminProgress) => void): Promise<T> {
      const size = statSync(fromFile).size;
      const res = await call('POST', path, { 'content-type': 'application/octet-stream', 'content-length': String(size) }, createReadStream(fromFile), true);
      return ndjson<T>(res, onProgress);
    },
  };
}

/** What commands call: the client for `--server/--token/--data/--ca` (see ADMIN_FLAGS). */
export function withAdmin(args: ParsedArgs, env: NodeJS.ProcessEnv = process.env): AdminClient {
  return createAdminClient(resolveAdminConnection({
    server: flag(args, 'server'), token: flag(args, 'token'), data: flag(args, 'data'), ca: flag(args, 'ca'),
  }, env));
}

/** Prints a result as indented JSON (the `--json` output of every API command). */
export function printJson(value: unknown, out: NodeJS.WritableStream = process.stdout): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Progress of API jobs on stderr (redrawn in place on a terminal), for `client.run`/`upload`. */
export function progressOnStderr(err: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr): { onProgress: (p: AdminProgress) => void; end: () => void } {
  const p = rateProgress(err);
  return { onProgress: (x) => p.update(x.phase, x.done, x.total), end: () => p.end() };
}

/** Help text shared by every API command. */
export const adminConnectionHelp = `API commands reach the running server's admin API: --server URL (or $WSUS_ADMIN_URL; default
from DIR/config.json: http://127.0.0.1:8532), --token TOKEN (or $WSUS_TOKEN, or DIR/admin-token
written by wsus tokens create --save), --ca FILE (or $WSUS_ADMIN_CA) for a private admin certificate.`;
