import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Agent, ProxyAgent, type Dispatcher } from 'undici';
import type { ProxyConfig } from '../config/sync-config.js';

// The one HTTP dispatcher for everything this server fetches from its upstream (SOAP metadata
// and content downloads): connection pooling, connect/read timeouts, an optional extra CA for a
// private upstream, and an optional HTTP(S) proxy with Basic credentials. Built once from the
// sync config; the session and the downloader share it.

export interface UpstreamDispatcherConfig {
  proxy: ProxyConfig | null;
  /** PEM bundle trusted in addition to the system roots */
  caFile: string | null;
  connectTimeoutSeconds: number;
  /** idle limit for response headers and between body chunks (the session adds a per-call deadline) */
  requestTimeoutSeconds: number;
}

export class UpstreamDispatcherError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamDispatcherError';
  }
}

/** System roots plus the PEM file: Node's `ca` option replaces the defaults, so they are appended explicitly. */
function trustedCas(caFile: string | null): string[] | undefined {
  if (!caFile) return undefined;
  let pem: string;
  try {
    pem = readFileSync(caFile, 'utf8');
  } catch (e) {
    throw new UpstreamDispatcherError(`sync.caFile ${caFile} cannot be read: ${(e as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new UpstreamDispatcherError(`sync.caFile ${caFile} holds no PEM certificate`);
  return [...rootCertificates, pem];
}

/** `Basic base64(user:password)`; the value only ever goes into the Proxy-Authorization header, never into logs. */
export function proxyAuthorization(proxy: ProxyConfig): string | undefined {
  if (proxy.username === null) return undefined;
  return `Basic ${Buffer.from(`${proxy.username}:${proxy.password ?? ''}`, 'utf8').toString('base64')}`;
}

export function createUpstreamDispatcher(cfg: UpstreamDispatcherConfig): Dispatcher {
  const ca = trustedCas(cfg.caFile);
  const connectMs = cfg.connectTimeoutSeconds * 1000;
  const requestMs = cfg.requestTimeoutSeconds * 1000;
  const tls = { timeout: connectMs, ...(ca ? { ca } : {}) };
  const common = { headersTimeout: requestMs, bodyTimeout: requestMs, keepAliveTimeout: 30_000, connections: 16 };
  if (!cfg.proxy) return new Agent({ ...common, connect: tls });
  // undici's ProxyAgent tunnels every request with CONNECT (plain HTTP targets too); requestTls
  // applies to the TLS session with the upstream inside the tunnel, proxyTls to an https:// proxy.
  const token = proxyAuthorization(cfg.proxy);
  return new ProxyAgent({ ...common, uri: cfg.proxy.url, ...(token ? { token } : {}), requestTls: tls, proxyTls: tls });
}
