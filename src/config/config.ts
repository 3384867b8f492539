import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TargetingMode } from '../core/targeting/group-tree.js';
import { mergeAdminSection, validateAdminConfig, type AdminConfig } from './admin-config.js';
import { validateMaintenanceConfig, type MaintenanceConfig } from './maintenance-config.js';
import { validateSyncConfig, validateUpstreamRoleConfig, type SyncConfig, type UpstreamRoleConfig } from './sync-config.js';
import { validateTransferConfig, type TransferConfig } from './transfer-config.js';
import { validateNotificationsConfig, type NotificationsConfig } from './notifications-config.js';
import { validateReportingConfig, type ReportingConfig } from './reporting-config.js';
import { validateContentSignaturesConfig, type ContentSignaturesConfig } from './content-signatures-config.js';

// Configuration is read once at start, validated as a whole (every bad key is reported
// together), and then passed around as a typed, frozen object.

export interface Limits {
  maxBodyBytes: number;
  maxDecompressedBytes: number;
  maxXmlDepth: number;
  maxXmlElements: number;
  maxArrayItems: number;
  maxInstalledNonLeaf: number;
  maxEventsPerBatch: number;
  maxPendingEvents: number;
  /** SOAP requests in progress at once, both client listeners together (a slot comes back at the end of the event-loop turn that answered it); 0 = no bound */
  maxConcurrentSoap: number;
  /** SOAP requests waiting for one of those slots; beyond them 503 at once */
  maxQueuedSoap: number;
  /** content and self-update downloads streaming at once; 0 = no bound */
  maxConcurrentDownloads: number;
  /** sustained SOAP requests per minute from one client address (127.0.0.1 and ::1 exempt); 0 = off */
  clientRequestsPerMinute: number;
  /** SOAP requests one address may send at once before the per-minute rate applies */
  clientRequestBurst: number;
  /** the Retry-After of every 503 (busy, rate limit, shutting down) */
  retryAfterSeconds: number;
  /** open connections per client listener; beyond it new connections are closed at once; 0 = no bound */
  maxConnections: number;
  /** a request's headers must arrive within this */
  headersTimeoutSeconds: number;
  /** a whole request (headers and body) must arrive within this */
  requestTimeoutSeconds: number;
  /** an idle keep-alive connection is closed after this */
  keepAliveTimeoutSeconds: number;
  /** a SOAP request whose body is still arriving after this gives its slot up (it keeps only its connection) */
  slowBodyGraceSeconds: number;
}

export interface ServerConfig {
  dataDir: string;
  databaseFile: string;
  host: string;
  httpPort: number;
  /** port announced in /Content URLs; null means the port the HTTP listener actually got */
  contentPort: number | null;
  targetingMode: TargetingMode;
  pageSize: number;
  maxExtendedUpdatesPerRequest: number;
  cookieLifetimeSeconds: number;
  packageServerShare: string | null;
  seedDemoCatalog: boolean;
  logLevel: string;
  /** the verified content store (files addressed by SHA-1) */
  contentDir: string;
  /** Microsoft's signed self-update tree, copied by the admin; served at /selfupdate */
  selfUpdateDir: string;
  /** WSUS's "clients download from Microsoft Update": announce the upstream file URLs instead of ours */
  downloadFromMicrosoft: boolean;
  /** unreferenced content is deleted by cleanup once it has been orphaned this long */
  contentOrphanGraceHours: number;
  /** Authenticode checks of content on ingest, per source (upstream, import, published) */
  contentSignatures: ContentSignaturesConfig;
  /** RFC 3161 time-stamping authority `wsus publish` uses when --timestamp-url is not given */
  publishingTimestampUrl: string | null;
  /** TLS listener for the SOAP services; null = no HTTPS */
  httpsPort: number | null;
  tlsCert: string | null;
  tlsKey: string | null;
  /** refuse metadata (SOAP) over plain HTTP; content stays on HTTP */
  requireHttps: boolean;
  limits: Limits;
  /** this server as a downstream (sync from an upstream) */
  sync: SyncConfig;
  /** this server as an upstream (serve downstream servers) */
  upstreamRole: UpstreamRoleConfig;
  /** export/import packages: signing pair and trusted signers */
  transfer: TransferConfig;
  /** webhooks (sync results, new updates, health turning red) */
  notifications: NotificationsConfig;
  /** the admin API listener (its own port, loopback by default) */
  admin: AdminConfig;
  /** automatic maintenance: daily cleanup schedule and its limits (issue 5, rules and cleanup) */
  maintenance: MaintenanceConfig;
  /** client reporting: event retention and per-client flood control (issue 6, ingestion) */
  reporting: ReportingConfig;
  /** on SIGTERM/SIGINT, in-flight requests get this long to finish before connections are cut */
  shutdownGraceSeconds: number;
}

export const defaultLimits: Limits = {
  maxBodyBytes: 4 * 1024 * 1024,
  maxDecompressedBytes: 16 * 1024 * 1024,
  maxXmlDepth: 48,
  maxXmlElements: 200_000,
  maxArrayItems: 50_000,
  maxInstalledNonLeaf: 400,
  maxEventsPerBatch: 1000,
  maxPendingEvents: 100_000,
  maxConcurrentSoap: 128,
  maxQueuedSoap: 32,
  maxConcurrentDownloads: 512,
  clientRequestsPerMinute: 3000,
  clientRequestBurst: 1000,
  retryAfterSeconds: 30,
  maxConnections: 8192,
  headersTimeoutSeconds: 20,
  requestTimeoutSeconds: 60,
  keepAliveTimeoutSeconds: 30,
  slowBodyGraceSeconds: 2,
};

/** Limits where 0 means "no bound" (every other limit is at least 1). */
const ZERO_MEANS_OFF: ReadonlySet<keyof Limits> = new Set(['maxConcurrentSoap', 'maxQueuedSoap', 'maxConcurrentDownloads', 'clientRequestsPerMinute', 'maxConnections']);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Raw = Record<string, unknown>;

export function loadConfig(overrides: Raw = {}, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const dataDir = resolve(String(overrides.dataDir ?? env.WSUS_DATA ?? './data'));
  const fileRaw: Raw = {};
  const file = join(dataDir, 'config.json');
  if (existsSync(file)) {
    try {
      Object.assign(fileRaw, JSON.parse(readFileSync(file, 'utf8')) as Raw);
    } catch (e) {
      throw new ConfigError([`${file}: ${(e as Error).message}`]);
    }
  }
  const envRaw: Raw = {};
  if (env.WSUS_PORT) envRaw.httpPort = env.WSUS_PORT;
  if (env.WSUS_HOST) envRaw.host = env.WSUS_HOST;
  if (env.WSUS_LOG_LEVEL) envRaw.logLevel = env.WSUS_LOG_LEVEL;
  if (env.WSUS_ADMIN_PORT) envRaw.admin = { port: env.WSUS_ADMIN_PORT };
  const raw: Raw = { ...fileRaw, ...envRaw, ...stripUndefined(overrides) };
  if (raw.admin !== undefined) raw.admin = mergeAdminSection(fileRaw.admin, envRaw.admin, overrides.admin);
  return validate(raw, dataDir, env);
}

/** An optional absolute http(s) URL setting. */
function httpUrl(key: string, v: unknown, problems: string[]): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'string' && /^https?:\/\/[^\s]+$/i.test(v)) return v;
  problems.push(`${key} must be an http:// or https:// URL (got ${JSON.stringify(v)})`);
  return null;
}

function stripUndefined(o: Raw): Raw {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

const KNOWN = new Set([
  'dataDir', 'databaseFile', 'host', 'httpPort', 'contentPort', 'targetingMode', 'pageSize',
  'maxExtendedUpdatesPerRequest', 'cookieLifetimeSeconds', 'packageServerShare', 'seedDemoCatalog', 'logLevel', 'limits',
  'contentDir', 'selfUpdateDir', 'downloadFromMicrosoft', 'contentOrphanGraceHours', 'contentSignatures', 'publishingTimestampUrl', 'httpsPort', 'tlsCert', 'tlsKey', 'requireHttps',
  'sync', 'upstreamRole',
  'transfer', 'notifications',
  'admin',
  'maintenance',
  'reporting',
  'shutdownGraceSeconds',
]);

export function validate(raw: Raw, dataDir: string, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const problems: string[] = [];
  for (const k of Object.keys(raw)) if (!KNOWN.has(k)) problems.push(`unknown key "${k}"`);
  const int = (k: string, def: number, min: number, max: number, src: Raw = raw, path = k): number => {
    const v = src[k];
    if (v === undefined) return def;
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      problems.push(`${path} must be an integer from ${min} to ${max} (got ${JSON.stringify(v)})`);
      return def;
    }
    return n;
  };
  const httpPort = int('httpPort', 8530, 0, 65535);
  const bool = (k: string, def: boolean): boolean => {
    const v = raw[k];
    if (v === undefined) return def;
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    problems.push(`${k} must be true or false (got ${JSON.stringify(v)})`);
    return def;
  };
  const mode = raw.targetingMode ?? 'server';
  if (mode !== 'server' && mode !== 'client') problems.push(`targetingMode must be "server" or "client" (got ${JSON.stringify(mode)})`);
  const limitsRaw = (raw.limits ?? {}) as Raw;
  if (typeof limitsRaw !== 'object' || limitsRaw === null) problems.push('limits must be an object');
  const limits = {} as Limits;
  for (const [k, def] of Object.entries(defaultLimits) as Array<[keyof Limits, number]>) {
    limits[k] = int(k, def, ZERO_MEANS_OFF.has(k) ? 0 : 1, 1 << 30, limitsRaw, `limits.${k}`);
  }
  for (const k of Object.keys(limitsRaw)) if (!(k in defaultLimits)) problems.push(`unknown key "limits.${k}"`);
  const sync = validateSyncConfig(raw.sync, dataDir, env, problems);
  const cfg: ServerConfig = {
    dataDir,
    databaseFile: typeof raw.databaseFile === 'string' ? resolve(dataDir, raw.databaseFile) : join(dataDir, 'wsus.db'),
    host: typeof raw.host === 'string' ? raw.host : '0.0.0.0',
    httpPort,
    contentPort: raw.contentPort === undefined ? null : int('contentPort', httpPort, 1, 65535),
    targetingMode: mode === 'client' ? 'client' : 'server',
    pageSize: int('pageSize', 30, 1, 1000),
    maxExtendedUpdatesPerRequest: int('maxExtendedUpdatesPerRequest', 50, 1, 1000),
    cookieLifetimeSeconds: int('cookieLifetimeSeconds', 3600, 60, 7 * 24 * 3600),
    packageServerShare: typeof raw.packageServerShare === 'string' ? raw.packageServerShare : null,
    seedDemoCatalog: raw.seedDemoCatalog === undefined ? true : raw.seedDemoCatalog === true || raw.seedDemoCatalog === 'true',
    logLevel: typeof raw.logLevel === 'string' ? raw.logLevel : 'info',
    contentDir: typeof raw.contentDir === 'string' ? resolve(dataDir, raw.contentDir) : join(dataDir, 'content'),
    selfUpdateDir: typeof raw.selfUpdateDir === 'string' ? resolve(dataDir, raw.selfUpdateDir) : join(dataDir, 'selfupdate'),
    // Content mode "none" (WSUS: "do not store update files locally") sends clients to Microsoft Update.
    downloadFromMicrosoft: bool('downloadFromMicrosoft', sync.content === 'none'),
    contentOrphanGraceHours: int('contentOrphanGraceHours', 24, 0, 24 * 365),
    contentSignatures: validateContentSignaturesConfig(raw.contentSignatures, problems),
    publishingTimestampUrl: httpUrl('publishingTimestampUrl', raw.publishingTimestampUrl, problems),
    httpsPort: raw.httpsPort === undefined || raw.httpsPort === null
      ? (raw.tlsCert !== undefined && raw.tlsKey !== undefined ? 8531 : null)
      : int('httpsPort', 8531, 0, 65535),
    tlsCert: typeof raw.tlsCert === 'string' ? resolve(dataDir, raw.tlsCert) : null,
    tlsKey: typeof raw.tlsKey === 'string' ? resolve(dataDir, raw.tlsKey) : null,
    requireHttps: bool('requireHttps', false),
    limits,
    sync,
    upstreamRole: validateUpstreamRoleConfig(raw.upstreamRole, problems),
    transfer: validateTransferConfig(raw.transfer, dataDir, problems),
    notifications: validateNotificationsConfig(raw.notifications, problems),
    admin: validateAdminConfig(raw.admin, dataDir, problems),
    maintenance: validateMaintenanceConfig(raw.maintenance, problems),
    reporting: validateReportingConfig(raw.reporting, problems),
    shutdownGraceSeconds: int('shutdownGraceSeconds', 20, 1, 3600),
  };
  if (cfg.reporting.clientEventBurst < cfg.limits.maxEventsPerBatch) {
    problems.push(`reporting.clientEventBurst (${cfg.reporting.clientEventBurst}) must be at least limits.maxEventsPerBatch (${cfg.limits.maxEventsPerBatch}): a full batch could never be accepted`);
  }
  if (cfg.limits.headersTimeoutSeconds > cfg.limits.requestTimeoutSeconds) {
    problems.push(`limits.headersTimeoutSeconds (${cfg.limits.headersTimeoutSeconds}) must not exceed limits.requestTimeoutSeconds (${cfg.limits.requestTimeoutSeconds})`);
  }
  if ((cfg.tlsCert === null) !== (cfg.tlsKey === null)) problems.push('tlsCert and tlsKey must be given together');
  if (cfg.httpsPort !== null && cfg.tlsCert === null) problems.push('httpsPort needs tlsCert and tlsKey');
  if (cfg.requireHttps && cfg.httpsPort === null) problems.push('requireHttps needs an HTTPS listener (httpsPort, tlsCert, tlsKey)');
  if (!['error', 'warn', 'info', 'debug'].includes(cfg.logLevel)) problems.push(`logLevel must be error, warn, info or debug`);
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze(cfg);
}
