import { createWriteStream, createReadStream, renameSync, unlinkSync } from 'node:fs';
import { userInfo } from 'node:os';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { SyncConfig } from '../config/sync-config.js';
import { DomainError } from '../core/errors.js';
import type { AdminActor, AdminProgress, AdminRequest } from '../admin/admin-router.types.js';
import type { AdminDeps } from '../admin/admin-deps.js';
import { adminRoutes } from '../admin/admin-routes.js';
import { createRouteTable } from '../admin/admin-route-table.js';
import { auditBody } from '../admin/admin-redact.js';
import { createComputersStore } from '../store/computers.store.js';
import { createEventsStore } from '../store/events.store.js';
import { createAuditStore } from '../store/audit.store.js';
import { createAdminTokensStore } from '../store/admin-tokens.store.js';
import { loadServerIdentity } from '../store/server-identity.store.js';
import { createAdminTokensService } from '../services/admin/admin-tokens.service.js';
import { createCatalogViewHolder } from '../services/catalog-view.js';
import { createContentStore } from '../services/content-store.service.js';
import { createReportingService } from '../services/reporting.service.js';
import { createSyncService } from '../services/sync/sync.service.js';
import { createMaintenance } from '../services/maintenance/maintenance.js';
import { createUpstreamDispatcher } from '../upstream/upstream-dispatcher.js';
import { openUpstreamSession } from '../upstream/upstream-session.js';
import type { OpenUpstreamSession } from '../upstream/server-sync-session.js';
import type { AdminClient } from './admin-client.types.js';
import { openDataDir } from './context.js';

// `--local`: the same admin routes, run in this process on the data directory's database
// instead of through a running server (no server needed: first setup, maintenance windows, and
// `wsus sync run --local`, which keeps the sync in the CLI process — what a crash test kills).
// Requests go through the same route table and handlers as the admin API; changes are audited
// as `local:<user>` with the admin role (whoever can open the database file can do anything).

export interface LocalAdminSeams {
  /** the upstream client (tests inject a fake) */
  openSession?: OpenUpstreamSession;
  createDispatcher?: (sync: SyncConfig) => Dispatcher;
}

export interface LocalAdmin {
  client: AdminClient;
  deps: AdminDeps;
  close(): Promise<void>;
}

type Query = Record<string, string | number | boolean | undefined>;

function localUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

const isProgress = (r: unknown): r is { kind: 'progress'; run: (report: (p: AdminProgress) => void) => Promise<unknown> } =>
  typeof r === 'object' && r !== null && (r as { kind?: unknown }).kind === 'progress' && typeof (r as { run?: unknown }).run === 'function';
const isStream = (r: unknown): r is { kind: 'stream'; body: Readable } =>
  typeof r === 'object' && r !== null && (r as { kind?: unknown }).kind === 'stream';

/** Results cross the same JSON boundary as over HTTP (dates become strings, undefined disappears). */
const roundTrip = <T>(v: unknown): T => (v === undefined ? undefined : JSON.parse(JSON.stringify(v))) as T;

export function openLocalAdmin(dataDir: string | undefined, seams: LocalAdminSeams = {}): LocalAdmin {
  const ctx = openDataDir(dataDir);
  const { config, log, db, catalog, targeting } = ctx;
  const clock = () => new Date();
  const identity = loadServerIdentity(db, clock());
  const dispatcher = (seams.createDispatcher ?? createUpstreamDispatcher)(config.sync);
  const content = createContentStore({
    db, dir: config.contentDir, log, clock, dispatcher, orphanGraceHours: config.contentOrphanGraceHours, downloadConcurrency: config.sync.concurrency,
    signatures: { policy: config.contentSignatures, dataDir: config.dataDir },
  });
  const views = createCatalogViewHolder(db, catalog, targeting);
  const sync = createSyncService({
    db, config, catalog, contentStore: config.sync.content === 'none' ? null : content,
    replica: config.sync.mode === 'replica' ? targeting : null,
    openSession: seams.openSession ?? openUpstreamSession, dispatcher, serverId: identity.serverId, log, clock,
    onSynced: (r) => maintenance.afterSync(r),
  });
  const maintenance = createMaintenance({ db, config, targeting, content, log, clock, sync, onChanged: () => views.invalidate() });
  const events = createEventsStore(db);
  const computers = createComputersStore(db);
  const audit = createAuditStore(db);
  const reporting = createReportingService({ db, config, events, computers, clock, log });
  const deps: AdminDeps = {
    config, db, log, clock, serverId: identity.serverId, catalog, targeting,
    computers, events, reporting,
    content, sync, views, tokens: createAdminTokensService(createAdminTokensStore(db), clock), audit,
    // Batches a stopped (or running) server acknowledged but has not applied yet: applied here
    // first, in the same exactly-once transactions, so --local reports are current.
    flush: () => { reporting.flush(); },
    clientUrl: () => `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.httpPort}`,
  };
  const table = createRouteTable();
  for (const r of adminRoutes) r(table.router, deps);
  const name = `local:${localUser()}`;
  const actor: AdminActor = { tokenId: '0', name, role: 'admin', address: null };

  async function dispatch(method: string, path: string, body: unknown, upload: Readable | null, onProgress?: (p: AdminProgress) => void): Promise<unknown> {
    const url = new URL(path, 'http://local.invalid');
    const m = table.match(method, url.pathname);
    if (!m.found) throw new DomainError('NotFound', url.pathname, `no admin API route ${method} ${url.pathname}`);
    const route = m.route;
    const controller = new AbortController();
    const onSigint = (): void => controller.abort(new Error('interrupted (Ctrl-C); the next run resumes from here'));
    process.once('SIGINT', onSigint);
    const req: AdminRequest = {
      params: m.params, query: url.searchParams,
      body: body && typeof body === 'object' && !Array.isArray(body) ? roundTrip<Record<string, unknown>>(body) : {},
      actor, signal: controller.signal,
    };
    const started = Date.now();
    const audited = route.kind === 'upload' ? Object.fromEntries(url.searchParams) : req.body;
    const dryRun = route.kind === 'upload'
      ? url.searchParams.get('dryRun') === 'true' || url.searchParams.get('whatIf') === 'true'
      : req.body.whatIf === true || req.body.dryRun === true;
    const record = (outcome: string, error: string | null): void => {
      if (route.kind === 'read') return;
      audit.record({
        at: clock().toISOString(), actor: { tokenId: null, name, role: 'admin', address: null },
        action: route.action, method, path: url.pathname, params: m.params, body: auditBody(audited), dryRun, outcome, error, ms: Date.now() - started,
      });
    };
    try {
      let result = route.kind === 'upload' ? await route.handler(req, upload!) : await route.handler(req);
      if (isProgress(result)) result = await result.run((p) => onProgress?.(p));
      record('ok', null);
      return result;
    } catch (e) {
      record(e instanceof DomainError ? e.code : 'InternalServerError', (e as Error).message);
      throw e;
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  }

  const withQuery = (path: string, query?: Query): string => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) q.set(k, String(v));
    const s = q.toString();
    return s ? `${path}?${s}` : path;
  };

  const client: AdminClient = {
    url: `local:${config.dataDir}`,
    async get<T>(path: string, query?: Query) {
      return roundTrip<T>(await dispatch('GET', withQuery(path, query), undefined, null));
    },
    async send<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown) {
      return roundTrip<T>(await dispatch(method, path, body, null));
    },
    async run<T>(method: 'POST', path: string, body: unknown, onProgress: (p: AdminProgress) => void) {
      return roundTrip<T>(await dispatch(method, path, body, null, onProgress));
    },
    async download(path: string, query: Query, toFile: string) {
      const r = await dispatch('GET', withQuery(path, query), undefined, null);
      if (!isStream(r)) throw new Error(`${path} is not a download`);
      let bytes = 0;
      r.body.on('data', (c: Buffer) => { bytes += c.length; });
      const tmp = `${toFile}.part`;
      try {
        await pipeline(r.body, createWriteStream(tmp));
        renameSync(tmp, toFile);
      } catch (e) {
        try { unlinkSync(tmp); } catch { /* nothing written */ }
        throw e;
      }
      return { bytes };
    },
    async upload<T>(path: string, fromFile: string, onProgress: (p: AdminProgress) => void) {
      return roundTrip<T>(await dispatch('POST', path, undefined, createReadStream(fromFile), onProgress));
    },
  };

  return {
    client,
    deps,
    async close() {
      await content.close();
      await dispatcher.close();
      db.close();
    },
  };
}
