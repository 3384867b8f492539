import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServerConfig } from '../config/config.js';
import type { Logger } from '../logger.js';
import { openDatabase, type Db } from '../store/database.js';
import { loadServerIdentity } from '../store/server-identity.store.js';
import { createCatalogStore } from '../store/catalog.store.js';
import { createTargetingStore } from '../store/targeting.store.js';
import { createComputersStore } from '../store/computers.store.js';
import { createEventsStore } from '../store/events.store.js';
import { createCatalogViewHolder } from '../services/catalog-view.js';
import { createClientSessionService } from '../services/client-session.service.js';
import { createScanService } from '../services/scan.service.js';
import { createUpdateInfoService } from '../services/update-info.service.js';
import { createReportingService } from '../services/reporting.service.js';
import { createClientHandler } from '../http/client-app.js';
import { createContentHandler, selfUpdateHealth } from '../http/content-routes.js';
import { createContentStore } from '../services/content-store.service.js';
import { startTlsListener, type TlsListener } from '../http/tls-listener.js';
import { plainHttpHandler, warnIfMetadataOverPlainHttp } from '../http/transport-policy.js';
import { createAdmission, type Admission } from '../http/admission.js';
import { answerClientErrors, capConnections, drainServer, LISTEN_BACKLOG, timeoutOptions } from '../http/listener-limits.js';
import { createUpstreamRoleService } from '../services/upstream-role/upstream-role.service.js';
import { createUpstreamDispatcher } from '../upstream/upstream-dispatcher.js';
import { openUpstreamSession } from '../upstream/upstream-session.js';
import { createSyncService, type SyncService } from '../services/sync/sync.service.js';
import { createSyncScheduler } from '../services/sync/sync-scheduler.js';
import { createSyncContentSource } from '../services/sync/content-source.js';
import { publishNextScheduled } from '../services/sync/sync-status.js';
import { createMaintenance } from '../services/maintenance/maintenance.js';
import { SERVER_VERSION } from '../version.js';
import { createNotifications } from '../services/notify/notifications.js';
import { notifyRulesApplied } from '../services/notify/rules-notifications.js';
import { startAdminListener, type AdminListener } from '../admin/admin-server.js';
import { adminRoutes } from '../admin/admin-routes.js';
import type { AdminDeps } from '../admin/admin-deps.js';
import { createAdminTokensStore } from '../store/admin-tokens.store.js';
import { createAuditStore } from '../store/audit.store.js';
import { createAdminTokensService } from '../services/admin/admin-tokens.service.js';

export interface RunningServer {
  http: Server;
  /** the TLS listener for the SOAP services, when configured */
  https: TlsListener | null;
  db: Db;
  /** synchronization from the configured upstream (also what the schedule runs) */
  sync: SyncService;
  url: string;
  port: number;
  /** the admin API listener (its own port; loopback unless configured) */
  admin: { url: string; port: number };
  /** what every admin route registration receives (tests register extra routes with it) */
  adminDeps: AdminDeps;
  /** concurrency, queue and rate limits of the client listeners; its counters */
  admission: Admission;
  /** writes buffered reports and contact times now (tests; shutdown) */
  flush(): void;
  /**
   * Graceful stop: new requests are answered 503, in-flight ones finish (at most
   * shutdownGraceSeconds, then connections are cut), the schedulers stop, the report ingest
   * thread finishes its step, everything buffered is written and the database is closed.
   */
  close(): Promise<void>;
}

/** Composition root: every dependency is created here and passed down explicitly. */
export async function startServer(config: ServerConfig, log: Logger, clock: () => Date = () => new Date()): Promise<RunningServer> {
  const db = openDatabase(config.databaseFile);
  const identity = loadServerIdentity(db, clock());
  const catalog = createCatalogStore(db);
  const targeting = createTargetingStore(db);
  targeting.ensureBuiltinGroups(clock());
  const computers = createComputersStore(db);
  const events = createEventsStore(db);
  const views = createCatalogViewHolder(db, catalog, targeting, (ms, v) =>
    log.info('catalog view loaded', { revisions: v.snapshot.entries.length, generation: v.snapshot.generation, changeSeq: v.snapshot.changeSeqHigh, ms: Math.round(ms) }));
  views.current();
  const sessions = createClientSessionService({
    keys: { serverId: identity.serverId, key: identity.cookieKey },
    configLastChange: () => identity.configLastChange,
    config, computers, clock, log,
  });
  const scan = createScanService({ config, views, catalog, computers, sessions, clock });
  let listeningPort = config.httpPort;
  const info = createUpdateInfoService({ config, views, catalog, contentPort: () => config.contentPort ?? listeningPort });
  const reporting = createReportingService({ db, config, events, computers, clock, log, thread: true });
  // One dispatcher (proxy, custom CA, timeouts) for everything fetched from the upstream: metadata and content.
  const dispatcher = createUpstreamDispatcher(config.sync);
  const content = createContentStore({
    db, dir: config.contentDir, log, clock, orphanGraceHours: config.contentOrphanGraceHours,
    dispatcher, fetchFile: createSyncContentSource({ db, config, catalog }),
    signatures: { policy: config.contentSignatures, dataDir: config.dataDir },
  });
  // Webhooks: sync results, new updates, health turning red.
  const notifications = createNotifications({ db, config, serverId: identity.serverId, log, clock, userAgent: `wsus-ts/${SERVER_VERSION}` });
  const sync = createSyncService({
    runListeners: notifications.syncListeners,
    db, config, catalog, contentStore: content,
    replica: config.sync.mode === 'replica' ? targeting : null,
    openSession: openUpstreamSession, dispatcher, serverId: identity.serverId, log, clock,
    // The sync writes on this process's connection, which data_version does not report.
    onCatalogChanged: () => views.invalidate(),
    // Automatic approval rules look at what each sync brought.
    onSynced: async (r) => notifyRulesApplied(notifications.notifier, await maintenance.afterSync(r), config.notifications.maxTitles),
  });
  const maintenance = createMaintenance({ db, config, targeting, content, log, clock, sync, onChanged: () => views.invalidate() });
  const scheduler = createSyncScheduler({
    config, run: (o) => sync.run(o), clock, random: Math.random, log,
    onScheduled: (at) => publishNextScheduled(db, at),
  });

  // This server as an upstream for downstream servers (WSUS serves them unless told otherwise).
  const upstreamRole = config.upstreamRole.enabled
    ? createUpstreamRoleService({
      db,
      identity: { serverId: identity.serverId, cookieKey: identity.cookieKey, configLastChange: () => identity.configLastChange },
      config: config.upstreamRole,
      catalogOnlySync: config.sync.content === 'none',
      lazySync: config.sync.content === 'approved',
      content, clock, log,
    })
    : undefined;

  const writeContacts = (): void => {
    try {
      const contacts = scan.drainContacts();
      if (contacts.size) computers.recordContacts(contacts);
    } catch (e) {
      log.error('background write failed', { error: (e as Error).message });
    }
  };
  // Reports are applied by the reporting service in the background (start() below); flush()
  // applies what is left at once, for admin reads, tests and shutdown.
  const flush = (): void => {
    try {
      reporting.flush();
    } catch (e) {
      log.error('report processing failed', { error: (e as Error).message });
    }
    writeContacts();
  };
  const timer = setInterval(writeContacts, 1000);
  timer.unref();

  const admission = createAdmission(config.limits, log);
  const contentHandler = createContentHandler({ locator: content, selfUpdateDir: config.selfUpdateDir, log, admit: (res) => admission.download(res) });
  const app = createClientHandler({
    services: { sessions, scan, info, reporting, upstreamRole, compressBlobs: config.upstreamRole.compressBlobs },
    limits: config.limits, log, serverVersion: SERVER_VERSION, contentHandler, admission,
  });
  const selfUpdateWarning = selfUpdateHealth(config.selfUpdateDir);
  if (selfUpdateWarning) log.warn(selfUpdateWarning, { selfUpdateDir: config.selfUpdateDir });
  let httpsPort: number | null = config.httpsPort;
  // The plain listener refuses metadata when requireHttps is set; the TLS listener serves all.
  const timeouts = timeoutOptions(config.limits);
  const http = createHttpServer(timeouts, plainHttpHandler(config, app, () => httpsPort));
  http.maxHeadersCount = 100;
  capConnections(http, config.limits, () => admission.connectionDropped());
  answerClientErrors(http, log);
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.httpPort, config.host, LISTEN_BACKLOG, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  listeningPort = port;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  log.info('server listening', { url, serverId: identity.serverId, database: config.databaseFile, targeting: config.targetingMode });
  let https: TlsListener | null = null;
  if (config.httpsPort !== null && config.tlsCert && config.tlsKey) {
    try {
      https = await startTlsListener({
        host: config.host, port: config.httpsPort, certFile: config.tlsCert, keyFile: config.tlsKey, handler: app, log,
        timeouts, maxConnections: config.limits.maxConnections, onDrop: () => admission.connectionDropped(),
      });
    } catch (e) {
      clearInterval(timer);
      admission.close();
      http.close();
      await content.close();
      await dispatcher.close();
      db.close();
      throw e;
    }
    httpsPort = https.port;
    log.info('https listening', { port: https.port });
  }
  warnIfMetadataOverPlainHttp(config, log, port);

  // The admin API: its own listener, started after the client listener, with every feature's routes.
  const tokens = createAdminTokensService(createAdminTokensStore(db), clock);
  const audit = createAuditStore(db);
  const adminDeps: AdminDeps = {
    config, db, log, clock, serverId: identity.serverId, catalog, targeting, computers, events, reporting,
    content, sync, views, tokens, audit, flush, clientUrl: () => url,
  };
  let admin: AdminListener;
  try {
    admin = await startAdminListener({ config, db, log, clock, tokens, audit, register: adminRoutes.map((r) => (router) => r(router, adminDeps)) });
  } catch (e) {
    clearInterval(timer);
    admission.close();
    await https?.close();
    http.close();
    await content.close();
    await dispatcher.close();
    db.close();
    throw e;
  }
  scheduler.start();
  maintenance.scheduler.start();
  notifications.start();
  reporting.start();

  let closing: Promise<void> | null = null;
  const close = async (): Promise<void> => {
    const t0 = Date.now();
    const graceMs = config.shutdownGraceSeconds * 1000;
    // The drain gets the grace period less what the writes after it need (a second or two).
    const drainDeadline = t0 + Math.max(graceMs / 2, graceMs - 2000);
    admission.drain();
    clearInterval(timer);
    // No sync or cleanup starts while requests drain; a running one is aborted and resumes next start.
    const jobsStopped = Promise.all([scheduler.stop(), maintenance.scheduler.stop()]);
    await Promise.all([drainServer(http, drainDeadline), https?.close(drainDeadline), admin.close()]);
    await untilOrDeadline(jobsStopped, drainDeadline);
    // The ingest thread finishes its step and closes its connection; what it left in the inbox
    // (every acknowledged batch is there) is applied here, with the scan contact times.
    await reporting.stop();
    flush();
    await notifications.close();
    await content.close();
    await dispatcher.close();
    admission.close();
    db.close();
    log.info('server stopped', { ms: Date.now() - t0, refused: admission.stats().refused });
  };

  return {
    http, https, db, sync, url, port, flush, adminDeps, admission,
    admin: { url: admin.url, port: admin.port },
    close() {
      closing ??= close();
      return closing;
    },
  };
}

/** Waits for `p`, but not past `deadline` (epoch ms). */
async function untilOrDeadline(p: Promise<unknown>, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
  });
  try {
    await Promise.race([p.then(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}
