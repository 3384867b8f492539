import { resolve } from 'node:path';

// The `admin` section: where the admin API listens. Loopback only unless the admin says
// otherwise, and then only with TLS (or an explicit `allowPlainHttp: true`): bearer tokens
// must not cross a network in clear text.

export interface AdminConfig {
  /** admin API port (WSUS uses 8530/8531 for clients; 8532 is ours); 0 = any free port (tests) */
  port: number;
  /** listen address; loopback by default */
  host: string;
  /** PEM files (relative to the data directory); both or neither */
  tlsCert: string | null;
  tlsKey: string | null;
  /** accept a non-loopback host without TLS (tokens travel in clear text: only on a trusted network) */
  allowPlainHttp: boolean;
}

export const ADMIN_DEFAULT_PORT = 8532;
const KNOWN = ['port', 'host', 'tlsCert', 'tlsKey', 'allowPlainHttp'];

type Raw = Record<string, unknown>;

/** 127.0.0.0/8, ::1 and `localhost`: addresses no other machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/** The problem a non-loopback plain-HTTP admin listener is refused with (also checked by the listener itself). */
export function plainHttpProblem(a: Pick<AdminConfig, 'host' | 'tlsCert' | 'allowPlainHttp'>): string | null {
  if (isLoopbackHost(a.host) || a.tlsCert !== null || a.allowPlainHttp) return null;
  return `admin.host ${JSON.stringify(a.host)} is reachable from other machines: give admin.tlsCert and admin.tlsKey `
    + '(bearer tokens must not travel in clear text), or set admin.allowPlainHttp to true to accept that risk';
}

/**
 * config.json's `admin` object, with environment and command-line overrides merged key by key
 * (so `wsus serve --admin-port 0` keeps the file's host and TLS settings).
 */
export function mergeAdminSection(...layers: unknown[]): unknown {
  const objects = layers.filter((l) => l !== undefined);
  if (objects.length <= 1) return objects[0];
  if (objects.some((o) => typeof o !== 'object' || o === null || Array.isArray(o))) return objects[objects.length - 1];
  return Object.assign({}, ...(objects as Raw[]));
}

export function validateAdminConfig(raw: unknown, dataDir: string, problems: string[]): AdminConfig {
  let s: Raw = {};
  if (raw !== undefined) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) problems.push('admin must be an object');
    else s = raw as Raw;
  }
  for (const k of Object.keys(s)) if (!KNOWN.includes(k)) problems.push(`unknown key "admin.${k}"`);
  let port = ADMIN_DEFAULT_PORT;
  if (s.port !== undefined) {
    const n = typeof s.port === 'string' && /^\d+$/.test(s.port) ? Number(s.port) : s.port;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) problems.push(`admin.port must be an integer from 0 to 65535 (got ${JSON.stringify(s.port)})`);
    else port = n;
  }
  let host = '127.0.0.1';
  if (s.host !== undefined) {
    if (typeof s.host !== 'string' || s.host.trim() === '') problems.push('admin.host must be a non-empty string');
    else host = s.host.trim();
  }
  const file = (k: 'tlsCert' | 'tlsKey'): string | null => {
    const v = s[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string' || v === '') {
      problems.push(`admin.${k} must be a file path`);
      return null;
    }
    return resolve(dataDir, v);
  };
  let allowPlainHttp = false;
  if (s.allowPlainHttp !== undefined) {
    if (s.allowPlainHttp === true || s.allowPlainHttp === 'true') allowPlainHttp = true;
    else if (s.allowPlainHttp !== false && s.allowPlainHttp !== 'false') problems.push(`admin.allowPlainHttp must be true or false (got ${JSON.stringify(s.allowPlainHttp)})`);
  }
  const cfg: AdminConfig = { port, host, tlsCert: file('tlsCert'), tlsKey: file('tlsKey'), allowPlainHttp };
  if ((cfg.tlsCert === null) !== (cfg.tlsKey === null)) problems.push('admin.tlsCert and admin.tlsKey must be given together');
  const plain = plainHttpProblem(cfg);
  if (plain) problems.push(plain);
  return cfg;
}
