import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { ConfigError, type ServerConfig } from '../config/config.js';
import { plainHttpProblem } from '../config/admin-config.js';
import { DomainError } from '../core/errors.js';
import type { Logger } from '../logger.js';
import type { Db } from '../store/database.js';
import { createAdminTokensStore } from '../store/admin-tokens.store.js';
import { createAuditStore, type AuditStore } from '../store/audit.store.js';
import { createAdminTokensService, type AdminTokensService } from '../services/admin/admin-tokens.service.js';
import { readBoundedBody } from '../http/read-body.js';
import { startTlsListener, type TlsListener } from '../http/tls-listener.js';
import type { AdminActor, AdminProgress, AdminRequest, AdminRouter } from './admin-router.types.js';
import { createRouteTable, type AdminRoute } from './admin-route-table.js';
import { mapAdminError } from './admin-errors.js';
import { auditBody } from './admin-redact.js';
import { createDashboardFiles } from './dashboard-files.js';

// The admin API listener: its own port (never the client ports), loopback by default, TLS
// when exposed. Per request: bearer token → route → role → bounded JSON body → handler →
// JSON, NDJSON progress or an attachment; one error mapper; one audit row per change; one
// structured log line (who, what, status, ms — never the token or the body).

export const ADMIN_JSON_LIMIT = 1024 * 1024;
/** progress lines are sent at most this often (plus every phase change and completion) */
const PROGRESS_EVERY_MS = 100;

export interface AdminListenerOptions {
  config: ServerConfig;
  db: Db;
  log: Logger;
  clock: () => Date;
  /** each feature's registration, bound to its dependencies: `(r) => registerXRoutes(r, deps)` */
  register: Array<(r: AdminRouter) => void>;
  /** shared with the routes (the server passes its own); built from `db` when absent */
  tokens?: AdminTokensService;
  audit?: AuditStore;
}

export interface AdminListener {
  url: string;
  port: number;
  close(): Promise<void>;
}

interface Ctx {
  started: number;
  method: string;
  path: string;
  address: string | null;
  actor: AdminActor | null;
  route: AdminRoute | null;
  status: number;
  outcome: string | null;
}

const isProgress = (r: unknown): r is { kind: 'progress'; run: (report: (p: AdminProgress) => void) => Promise<unknown> } =>
  typeof r === 'object' && r !== null && (r as { kind?: unknown }).kind === 'progress' && typeof (r as { run?: unknown }).run === 'function';
const isStream = (r: unknown): r is { kind: 'stream'; contentType: string; fileName: string; body: Readable } =>
  typeof r === 'object' && r !== null && (r as { kind?: unknown }).kind === 'stream'
  && typeof (r as { body?: { pipe?: unknown } }).body?.pipe === 'function';

function bearer(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1]! : null;
}

/** The request target as a URL; one that does not parse (`//`, `//x:99999`) is the client's 400, not our 500. */
function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://admin.invalid');
  } catch {
    throw new DomainError('InvalidInput', 'url', 'the request target is not a valid URL path');
  }
}

/**
 * No admin input has members named like Object.prototype's: `{"toString":1}` makes String(x)
 * throw in any handler and `__proto__` invites prototype games, so they are refused at parsing.
 */
const RESERVED_MEMBERS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'toJSON', 'toLocaleString', 'hasOwnProperty', 'isPrototypeOf']);

function refuseReservedMembers(key: string, value: unknown): unknown {
  if (RESERVED_MEMBERS.has(key)) throw new DomainError('InvalidInput', 'body', `the request body must not have a member named "${key}"`);
  return value;
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startAdminListener(o: AdminListenerOptions): Promise<AdminListener> {
  const { config, log, clock } = o;
  const admin = config.admin;
  // validate() refuses this already; the listener checks again so no caller can bypass it.
  const plain = plainHttpProblem(admin);
  if (plain) throw new ConfigError([plain]);
  const tokens = o.tokens ?? createAdminTokensService(createAdminTokensStore(o.db), clock);
  const audit = o.audit ?? createAuditStore(o.db);
  const table = createRouteTable();
  for (const r of o.register) r(table.router);
  const inFlight = new Set<AbortController>();
  const dashboard = createDashboardFiles();

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    if (res.headersSent) return;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };

  const fail = (res: ServerResponse, ctx: Ctx, e: unknown): void => {
    const m = mapAdminError(e);
    ctx.status = m.status;
    ctx.outcome = m.body.code;
    if (m.unexpected) log.error('admin request failed', { method: ctx.method, path: ctx.path, action: ctx.route?.action ?? null, who: ctx.actor?.name ?? null, error: (e as Error)?.stack ?? String(e) });
    send(res, m.status, m.body, m.status === 401 ? { 'www-authenticate': 'Bearer realm="wsus-admin"' } : {});
  };

  const writeAudit = (ctx: Ctx, req: AdminRequest | null, body: unknown, dryRun: boolean, error: string | null): void => {
    if (!ctx.route || ctx.route.kind === 'read' || !ctx.actor) return;
    try {
      audit.record({
        at: clock().toISOString(),
        actor: { tokenId: Number(ctx.actor.tokenId), name: ctx.actor.name, role: ctx.actor.role, address: ctx.actor.address },
        action: ctx.route.action, method: ctx.method, path: ctx.path,
        params: req?.params ?? {}, body: auditBody(body), dryRun,
        outcome: ctx.outcome ?? 'ok', error, ms: Date.now() - ctx.started,
      });
    } catch (e) {
      log.error('audit write failed', { action: ctx.route.action, who: ctx.actor.name, error: (e as Error).message });
    }
  };

  async function handle(req: IncomingMessage, res: ServerResponse, ctx: Ctx): Promise<void> {
    const url = requestUrl(req);
    ctx.path = url.pathname;
    // 0. the web dashboard's static files: they hold no data, so no token (the page asks for one)
    if (dashboard.serve(req, res, url.pathname)) return;
    // 1. who: a valid bearer token, before anything about the routes is revealed
    const token = bearer(req);
    if (!token) throw new DomainError('Unauthorized', '', 'a bearer token is required (Authorization: Bearer <token>; create one with wsus tokens create)');
    const row = tokens.authenticate(token);
    ctx.actor = { tokenId: String(row.id), name: row.name, role: row.role, address: ctx.address };
    // 2. what
    const m = table.match(ctx.method, url.pathname);
    if (!m.found) {
      if (m.allowed.length) {
        const allow = [...new Set(m.allowed)].join(', ');
        ctx.status = 405;
        ctx.outcome = 'NotFound';
        req.resume();
        send(res, 405, { error: `${ctx.method} is not supported on ${url.pathname} (use ${allow})`, code: 'NotFound' }, { allow });
        return;
      }
      throw new DomainError('NotFound', url.pathname, `no admin API route ${ctx.method} ${url.pathname}`);
    }
    const route = m.route;
    ctx.route = route;
    const controller = new AbortController();
    const areq: AdminRequest = { params: m.params, query: url.searchParams, body: {}, actor: ctx.actor, signal: controller.signal };
    // 3. may they: reporters read, admins do everything (a refused change is audited)
    if (route.kind !== 'read' && row.role !== 'admin') {
      ctx.outcome = 'Forbidden';
      writeAudit(ctx, areq, route.kind === 'upload' ? Object.fromEntries(url.searchParams) : {}, false, 'reporter token');
      throw new DomainError('Forbidden', route.action, `the token "${row.name}" is a reporter token: ${route.action} needs an admin token`);
    }
    // 4. input
    let auditedBody: unknown = {};
    let dryRun = false;
    if (route.kind === 'change') {
      try {
        areq.body = await readJsonBody(req);
      } catch (e) {
        ctx.outcome = mapAdminError(e).body.code;
        writeAudit(ctx, areq, {}, false, (e as Error).message);
        throw e;
      }
      auditedBody = areq.body;
      dryRun = areq.body.whatIf === true || areq.body.dryRun === true;
    } else if (route.kind === 'upload') {
      auditedBody = Object.fromEntries(url.searchParams);
      dryRun = url.searchParams.get('dryRun') === 'true' || url.searchParams.get('whatIf') === 'true';
    } else {
      req.resume();
    }
    // 5. do it
    inFlight.add(controller);
    res.on('close', () => {
      inFlight.delete(controller);
      if (!res.writableFinished) controller.abort(new Error('the admin client went away'));
    });
    let result: unknown;
    try {
      result = route.kind === 'upload' ? await route.handler(areq, req) : await route.handler(areq);
    } catch (e) {
      ctx.outcome = mapAdminError(e).body.code;
      writeAudit(ctx, areq, auditedBody, dryRun, (e as Error).message);
      throw e;
    }
    if (isProgress(result)) {
      await streamProgress(res, ctx, result.run);
      writeAudit(ctx, areq, auditedBody, dryRun, ctx.outcome && ctx.outcome !== 'ok' ? `failed: ${ctx.outcome}` : null);
      return;
    }
    writeAudit(ctx, areq, auditedBody, dryRun, null);
    if (isStream(result)) {
      ctx.status = 200;
      res.writeHead(200, {
        'content-type': result.contentType,
        'content-disposition': `attachment; filename="${result.fileName.replace(/["\\\r\n]/g, '_')}"`,
        'cache-control': 'no-store',
      });
      try {
        await pipeline(result.body, res);
      } catch (e) {
        log.warn('admin download interrupted', { path: ctx.path, who: ctx.actor.name, error: (e as Error).message });
        res.destroy();
      }
      return;
    }
    ctx.status = result === undefined ? 204 : 200;
    if (result === undefined) {
      res.writeHead(204, { 'cache-control': 'no-store' });
      res.end();
    } else {
      send(res, 200, result);
    }
  }

  async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
    const buf = await readBoundedBody(req, ADMIN_JSON_LIMIT);
    if (buf.length === 0) return {};
    const type = String(req.headers['content-type'] ?? '');
    if (!/^application\/json\b/i.test(type)) throw new DomainError('InvalidInput', 'content-type', 'request bodies must be JSON (Content-Type: application/json)');
    let v: unknown;
    try {
      v = JSON.parse(buf.toString('utf8'), refuseReservedMembers);
    } catch (e) {
      if (e instanceof DomainError) throw e;
      throw new DomainError('InvalidInput', 'body', `the request body is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new DomainError('InvalidInput', 'body', 'the request body must be a JSON object');
    return v as Record<string, unknown>;
  }

  /** `{"progress":…}` lines, then `{"result":…}` or `{"error":…,"code":…}`; the status is 200 from the first byte. */
  async function streamProgress(res: ServerResponse, ctx: Ctx, run: (report: (p: AdminProgress) => void) => Promise<unknown>): Promise<void> {
    ctx.status = 200;
    res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.flushHeaders();
    const line = (v: unknown): void => {
      if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify(v)}\n`);
    };
    let lastAt = 0;
    let lastPhase = '';
    const report = (p: AdminProgress): void => {
      const now = Date.now();
      if (p.phase === lastPhase && p.done < p.total && now - lastAt < PROGRESS_EVERY_MS) return;
      lastAt = now;
      lastPhase = p.phase;
      line({ progress: { phase: p.phase, done: p.done, total: p.total } });
    };
    try {
      const result = await run(report);
      ctx.outcome = 'ok';
      line({ result: result ?? null });
    } catch (e) {
      const m = mapAdminError(e);
      ctx.outcome = m.body.code;
      if (m.unexpected) log.error('admin job failed', { path: ctx.path, action: ctx.route?.action ?? null, who: ctx.actor?.name ?? null, error: (e as Error)?.stack ?? String(e) });
      line(m.body);
    }
    res.end();
  }

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const ctx: Ctx = { started: Date.now(), method: req.method ?? 'GET', path: '', address: req.socket.remoteAddress ?? null, actor: null, route: null, status: 0, outcome: null };
    res.on('close', () => {
      log.info('admin request', {
        who: ctx.actor?.name ?? null, tokenId: ctx.actor?.tokenId ?? null, role: ctx.actor?.role ?? null, address: ctx.address,
        method: ctx.method, path: ctx.path, action: ctx.route?.action ?? null, status: ctx.status || res.statusCode,
        ...(ctx.outcome && ctx.outcome !== 'ok' ? { outcome: ctx.outcome } : {}), ms: Date.now() - ctx.started,
        ...(res.writableFinished ? {} : { aborted: true }),
      });
    });
    handle(req, res, ctx).catch((e: unknown) => {
      if (!res.headersSent) {
        fail(res, ctx, e);
      } else {
        log.error('admin response failed after headers', { path: ctx.path, error: (e as Error)?.message });
        res.destroy();
      }
      // do not leave an unread upload or body half-received on a keep-alive connection
      if (!req.complete) req.resume();
    });
  };

  // Uploads can take long: no whole-request deadline, but headers must arrive promptly.
  const serverOptions = { requestTimeout: 0, headersTimeout: 20_000, keepAliveTimeout: 5_000 };
  let http: Server | null = null;
  let tls: TlsListener | null = null;
  let port: number;
  if (admin.tlsCert && admin.tlsKey) {
    tls = await startTlsListener({ host: admin.host, port: admin.port, certFile: admin.tlsCert, keyFile: admin.tlsKey, handler, log });
    tls.server.requestTimeout = 0;
    port = tls.port;
  } else {
    const server = createHttpServer(serverOptions, handler);
    server.maxHeadersCount = 50;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(admin.port, admin.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    http = server;
    port = (server.address() as AddressInfo).port;
  }
  const url = `${tls ? 'https' : 'http'}://${hostForUrl(admin.host)}:${port}`;
  log.info('admin API listening', { url, routes: table.routes().length, tls: tls !== null });

  return {
    url,
    port,
    async close() {
      for (const c of inFlight) c.abort(new Error('the server is shutting down'));
      if (tls) {
        tls.server.closeAllConnections();
        await tls.close();
      }
      if (http) {
        const s = http;
        await new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeIdleConnections();
          setTimeout(() => s.closeAllConnections(), 2000).unref();
        });
      }
    },
  };
}
