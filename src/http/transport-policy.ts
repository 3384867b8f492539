import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerConfig } from '../config/config.js';
import { hostOf } from './request-host.js';

// Which listener may serve what. Metadata over plain HTTP is what WSUSpect exploits (a man in
// the middle rewrites the update list), so `requireHttps` takes it off the HTTP listener;
// content and self-update stay on HTTP, protected by digests and signatures.

type TransportConfig = Pick<ServerConfig, 'requireHttps' | 'httpsPort'>;
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

// Every web-service directory, server-to-server ones included: they carry metadata too.
const METADATA_DIR = /^\/(clientwebservice|simpleauthwebservice|reportingwebservice|serversyncwebservice|dssauthwebservice)(\/|$)/;

export function metadataAllowedOverPlainHttp(config: Pick<ServerConfig, 'requireHttps'>): boolean {
  return !config.requireHttps;
}

/** True for the SOAP service paths (any case, doubled slashes, percent-encoded letters). */
export function isMetadataPath(url: string): boolean {
  const q = url.indexOf('?');
  const raw = q >= 0 ? url.slice(0, q) : url;
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // A malformed escape is judged on the raw path; the router will 404 it anyway.
  }
  return [raw, decoded].some((p) => METADATA_DIR.test(p.replace(/[\\/]{2,}/g, '/').toLowerCase()));
}

export function metadataRefusalText(httpsUrl: string | null): string {
  return 'Forbidden: this server serves update metadata over HTTPS only (requireHttps).\n' +
    (httpsUrl ? `Point WUServer and WUStatusServer at ${httpsUrl} .\n` : 'Point WUServer and WUStatusServer at the https:// address of this server.\n') +
    'Content (/Content/...) and /selfupdate remain available over HTTP.\n';
}

/**
 * Answers a metadata request on the plain-HTTP listener with 403 and returns true; returns false
 * (and touches nothing) for everything else. Windows Update reports 403 as 0x80244018.
 */
export function refuseMetadataOverHttp(req: IncomingMessage, res: ServerResponse, httpsPort: number | null = null): boolean {
  if (!isMetadataPath(req.url ?? '/')) return false;
  const httpsUrl = httpsPort === null ? null : `https://${hostOf(req)}${httpsPort === 443 ? '' : `:${httpsPort}`}`;
  const body = metadataRefusalText(httpsUrl);
  res.writeHead(403, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
  return true;
}

/** The plain-HTTP listener's handler under the configured policy (unchanged without requireHttps). */
export function plainHttpHandler(config: TransportConfig, handler: Handler, httpsPort: () => number | null = () => config.httpsPort): Handler {
  if (metadataAllowedOverPlainHttp(config)) return handler;
  return (req, res) => {
    if (!refuseMetadataOverHttp(req, res, httpsPort())) handler(req, res);
  };
}

/** The start-up warning about metadata on plain HTTP, or null when there is nothing to warn about. */
export function plainHttpMetadataWarning(config: TransportConfig): string | null {
  if (!metadataAllowedOverPlainHttp(config)) return null;
  if (config.httpsPort === null) {
    return 'client metadata is served over plain HTTP only: a man in the middle can change what clients install (WSUSpect). ' +
      'Configure HTTPS: tlsCert and tlsKey in config.json (PEM files; `wsus cert create --out DIR` makes a lab certificate), ' +
      'then set WUServer and WUStatusServer to https://HOST:8531';
  }
  return `client metadata is also served over plain HTTP (requireHttps is off): clients whose WUServer is still http:// can be tampered with in transit. ` +
    `Once every client uses https://HOST:${config.httpsPort}, set "requireHttps": true`;
}

/** Logs the warning once; call it once at start, after the listeners are up. */
export function warnIfMetadataOverPlainHttp(config: TransportConfig, log: { warn(message: string, meta?: object): unknown }, httpPort: number): void {
  const message = plainHttpMetadataWarning(config);
  if (message) log.warn(message, { port: httpPort, httpsPort: config.httpsPort });
}
