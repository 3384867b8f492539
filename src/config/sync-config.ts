import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { checker, section } from './config-checks.js';

// The two server-to-server sections of the configuration: `sync` (this server as a
// downstream: where it synchronizes from and how) and `upstreamRole` (this server as an
// upstream: which downstream servers it serves). Validated with the rest of the config.

/** Microsoft Update's metadata service for downstream servers (the default upstream). */
export const MICROSOFT_UPDATE_URL = 'https://sws.update.microsoft.com';

export type SyncMode = 'autonomous' | 'replica';
/** approved = WSUS LazySync (content once approved); all = every synchronized file; none = clients use Microsoft Update */
export type ContentMode = 'approved' | 'all' | 'none';
/** upstream = the upstream server's /Content; microsoft = the Microsoft Update URLs from the metadata */
export type ContentSource = 'upstream' | 'microsoft';

export interface ProxyConfig {
  url: string;
  username: string | null;
  /** from config or $WSUS_PROXY_PASSWORD; never logged */
  password: string | null;
}

export interface SyncConfig {
  /** base URL of the upstream (scheme://host:port); the service paths are appended */
  upstream: string;
  mode: SyncMode;
  /** FQDN this server gives the upstream (DssAuth accountName) */
  serverName: string;
  content: ContentMode;
  contentSource: ContentSource;
  /** daily schedule: null = sync only when asked */
  schedule: { firstSyncTime: string; perDay: number; jitterMinutes: number } | null;
  proxy: ProxyConfig | null;
  /** PEM bundle trusted for an HTTPS upstream (in addition to the system roots) */
  caFile: string | null;
  connectTimeoutSeconds: number;
  requestTimeoutSeconds: number;
  /** tries per call on ServerBusy and network errors */
  retries: number;
  /** GetUpdateData calls in flight at once */
  concurrency: number;
}

export interface UpstreamRoleConfig {
  /** serve ServerSyncWebService / DssAuthWebService to downstream servers */
  enabled: boolean;
  /** downstream GUIDs or FQDNs allowed; ['*'] = any (WSUS's behaviour) */
  allowedDownstreams: string[];
  maxUpdatesPerRequest: number;
  /** send XmlUpdateBlobCompressed (cabinet/LZX) for documents above 5,120 bytes, as WSUS does */
  compressBlobs: boolean;
  cookieLifetimeMinutes: number;
}

type Raw = Record<string, unknown>;

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const FQDN_RE = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;

function httpUrl(v: string, key: string, problems: string[]): string {
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    if (u.username || u.password) {
      problems.push(`${key} must not carry credentials in the URL`);
    }
    return u.origin + u.pathname.replace(/\/+$/, '');
  } catch {
    problems.push(`${key} must be an http:// or https:// URL (got ${JSON.stringify(v)})`);
    return v;
  }
}

export function validateSyncConfig(raw: unknown, dataDir: string, env: NodeJS.ProcessEnv, problems: string[]): SyncConfig {
  const s = section(raw, 'sync', problems);
  const c = checker(s, 'sync', problems, [
    'upstream', 'mode', 'serverName', 'content', 'contentSource', 'schedule', 'proxy', 'caFile',
    'connectTimeoutSeconds', 'requestTimeoutSeconds', 'retries', 'concurrency',
  ]);
  const upstream = httpUrl(c.str('upstream') ?? MICROSOFT_UPDATE_URL, 'sync.upstream', problems);
  const serverName = c.str('serverName') ?? hostname();
  if (!FQDN_RE.test(serverName) || serverName.length > 255) problems.push(`sync.serverName must be a host name (got ${JSON.stringify(serverName)})`);
  const isMicrosoft = upstream === MICROSOFT_UPDATE_URL;

  let schedule: SyncConfig['schedule'] = null;
  if (s.schedule !== undefined && s.schedule !== null && s.schedule !== false) {
    const sc = section(s.schedule, 'sync.schedule', problems);
    const k = checker(sc, 'sync.schedule', problems, ['firstSyncTime', 'perDay', 'jitterMinutes']);
    const first = k.str('firstSyncTime') ?? '03:00';
    if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(first)) problems.push(`sync.schedule.firstSyncTime must be HH:MM (got ${JSON.stringify(first)})`);
    schedule = { firstSyncTime: first, perDay: k.int('perDay', 1, 1, 24), jitterMinutes: k.int('jitterMinutes', 30, 0, 720) };
  }

  let proxy: ProxyConfig | null = null;
  if (s.proxy !== undefined && s.proxy !== null) {
    const pr = section(s.proxy, 'sync.proxy', problems);
    const k = checker(pr, 'sync.proxy', problems, ['url', 'username', 'password']);
    const url = k.str('url');
    if (!url) problems.push('sync.proxy.url is required when sync.proxy is set');
    proxy = {
      url: url ? httpUrl(url, 'sync.proxy.url', problems) : '',
      username: k.str('username'),
      password: k.str('password') ?? env.WSUS_PROXY_PASSWORD ?? null,
    };
    if (proxy.password !== null && proxy.username === null) problems.push('sync.proxy.password needs sync.proxy.username');
  }
  const caFile = c.str('caFile');
  return {
    upstream,
    mode: c.oneOf('mode', 'autonomous', ['autonomous', 'replica'] as const),
    serverName,
    content: c.oneOf('content', 'approved', ['approved', 'all', 'none'] as const),
    contentSource: c.oneOf('contentSource', isMicrosoft ? 'microsoft' : 'upstream', ['upstream', 'microsoft'] as const),
    schedule,
    proxy,
    caFile: caFile ? resolve(dataDir, caFile) : null,
    connectTimeoutSeconds: c.int('connectTimeoutSeconds', 15, 1, 600),
    requestTimeoutSeconds: c.int('requestTimeoutSeconds', 300, 1, 3600),
    retries: c.int('retries', 5, 1, 50),
    concurrency: c.int('concurrency', 4, 1, 32),
  };
}

export function validateUpstreamRoleConfig(raw: unknown, problems: string[]): UpstreamRoleConfig {
  const s = section(raw, 'upstreamRole', problems);
  const c = checker(s, 'upstreamRole', problems, ['enabled', 'allowedDownstreams', 'maxUpdatesPerRequest', 'compressBlobs', 'cookieLifetimeMinutes']);
  let allowed: string[] = ['*'];
  if (s.allowedDownstreams !== undefined) {
    const v = s.allowedDownstreams;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || !(x === '*' || GUID_RE.test(x) || FQDN_RE.test(x)))) {
      problems.push('upstreamRole.allowedDownstreams must be a list of downstream GUIDs or FQDNs, or ["*"]');
    } else {
      allowed = (v as string[]).map((x) => x.toLowerCase());
    }
  }
  return {
    enabled: c.bool('enabled', true),
    allowedDownstreams: allowed,
    maxUpdatesPerRequest: c.int('maxUpdatesPerRequest', 100, 1, 1000),
    compressBlobs: c.bool('compressBlobs', false),
    cookieLifetimeMinutes: c.int('cookieLifetimeMinutes', 240, 5, 7 * 24 * 60),
  };
}
