// The contract between the upstream client (which only talks to the upstream: HTTP, SOAP,
// auth, retries, timeouts) and the sync service (which decides what to fetch and merges it).

import type { Dispatcher } from 'undici';
import type { Logger } from '../logger.js';
import type {
  DeploymentsResult, RevisionFilter, RevisionIdList, RollupConfiguration, ServerSyncConfigData,
  ServerUpdateData, UpdateFileDecryption, UpdateIdentity,
} from '../core/server-sync/server-sync-model.js';

export interface UpstreamSessionOptions {
  /** upstream base URL: scheme://host:port (Microsoft Update: https://sws.update.microsoft.com) */
  baseUrl: string;
  /** this server's GUID (DssAuth accountGuid) */
  serverId: string;
  /** this server's FQDN (DssAuth accountName) */
  serverName: string;
  /** proxy / custom CA / timeouts live in the dispatcher (see upstream-dispatcher.ts) */
  dispatcher: Dispatcher;
  /** per-call timeout for headers and body */
  requestTimeoutMs: number;
  /** tries per call on ServerBusy, 5xx without a SOAP fault, and network errors (exponential backoff with jitter) */
  retries: number;
  retryBaseDelayMs?: number;
  /** EncryptedData of the last cookie this server received: sent as GetCookie oldCookie (→ ServerChanged when the upstream was rebuilt) */
  lastCookie: string | null;
  /** called with each new cookie's EncryptedData so the sync service can persist it */
  onCookie?: (encryptedData: string) => void;
  /** largest response body accepted (bytes, after decompression) */
  maxResponseBytes?: number;
  log: Logger;
  signal?: AbortSignal;
}

export interface ServerSyncSession {
  readonly baseUrl: string;
  /** ProtocolVersion the upstream announced in GetConfigData (after configData()) */
  configData(configAnchor: string | null): Promise<ServerSyncConfigData>;
  revisionIdList(filter: RevisionFilter): Promise<RevisionIdList>;
  /** ids.length ≤ the upstream's MaxNumberOfUpdatesPerRequest; may return fewer items than asked */
  updateData(ids: UpdateIdentity[]): Promise<ServerUpdateData>;
  decryptionData(ids: UpdateIdentity[]): Promise<UpdateFileDecryption[]>;
  deployments(deploymentAnchor: string | null, syncAnchor: string): Promise<DeploymentsResult>;
  /** base64 SHA-1 digests (≤ 100) the upstream should fetch after a /Content 404 */
  downloadFiles(digests: string[]): Promise<void>;
  rollupConfiguration(): Promise<RollupConfiguration>;
  /**
   * Where the upstream serves a file: `<content origin>/Content/<last 2 hex>/<SHA1HEX><ext of fileName>`.
   * Content origin per MS-WSUSSS 2.1: HTTPS on port N≠443 → HTTP N−1; HTTPS 443 → HTTP 80; HTTP → same origin.
   */
  contentUrl(sha1Hex: string, fileName: string): string;
}

/** The upstream answered with a SOAP fault (after retries for ServerBusy were exhausted). */
export class UpstreamFaultError extends Error {
  constructor(
    readonly operation: string,
    /** MS-WSUSSS ErrorCode ('' when the fault had none) */
    readonly errorCode: string,
    readonly faultMessage: string,
    readonly httpStatus: number,
  ) {
    super(`${operation}: upstream fault ${errorCode || '(no ErrorCode)'}${faultMessage ? `: ${faultMessage}` : ''}`);
    this.name = 'UpstreamFaultError';
  }
}

/** The upstream could not be reached or answered something that is not SOAP (after retries). */
export class UpstreamTransportError extends Error {
  constructor(readonly operation: string, message: string, readonly httpStatus: number | null = null) {
    super(`${operation}: ${message}`);
    this.name = 'UpstreamTransportError';
  }
}

export type OpenUpstreamSession = (o: UpstreamSessionOptions) => Promise<ServerSyncSession>;
