// The contract between the SOAP handlers of the upstream role (ServerSyncWebService,
// DssAuthWebService, the rollup half of ReportingWebService) and the service that holds its
// rules. Handlers parse, call one function, serialize; every rule and every DomainError lives
// behind this interface.

import type {
  DeploymentsResult, RevisionFilter, RevisionIdList, RollupConfiguration, ServerSyncConfigData,
  ServerUpdateData, UpdateFileDecryption, UpdateIdentity,
} from '../../core/server-sync/server-sync-model.js';

export interface SyncCookieOut {
  /** ISO expiry */
  expiration: string;
  encryptedData: string;
}

/** An authenticated downstream, from its cookie. */
export interface DssSession {
  serverId: string;
  fqdn: string;
  protocolVersion: string;
}

export interface ComputerRollup {
  computerId: string;
  /** the ComputerRollupInfo fields as received (strings), for reports */
  fields: Record<string, string>;
}

export interface ComputerStatusRollup {
  computerId: string;
  fields: Record<string, string>;
  statuses: Array<{ updateId: string; revisionNumber: number | null; summarizationState: number; lastChangeTime: string | null }>;
}

export interface ChangedComputer {
  computerId: string;
  change: 'Deleted' | 'NewParent';
}

export interface UpstreamRoleService {
  /** GetAuthConfig: LastChange (ISO); the handler writes the fixed DssTargeting AuthInfo */
  authConfig(): { lastChange: string };
  /**
   * DssAuth GetAuthorizationCookie: validates and records the downstream (GUID + FQDN), applies
   * the allow-list, returns CookieData. InvalidParameters (`machineName` / `accountGuid`).
   */
  authorize(accountName: string | undefined, accountGuid: string | undefined, address: string | null): string;
  /**
   * GetCookie: exactly one DssTargeting authorization cookie (else InvalidParameters
   * `authCookies`), readable (else InvalidAuthorizationCookie); protocolVersion "x.y" (else
   * InvalidParameters `protocolVersion`), major 1 (else IncompatibleProtocolVersion); an
   * oldCookie issued by another server identity → ServerChanged.
   */
  getCookie(authCookies: Array<{ plugInId: string; cookieData: string }>, oldCookie: string | null, protocolVersion: string | undefined): SyncCookieOut;
  /** Every later call: missing/unreadable → InvalidCookie, expired → CookieExpired, other server → ServerChanged. */
  open(encryptedData: string | null): DssSession;
  configData(s: DssSession, configAnchor: string | null): ServerSyncConfigData;
  /** malformed anchor or filter → InvalidParameters `filter` */
  revisionIdList(s: DssSession, filter: RevisionFilter): RevisionIdList;
  /** null, empty or > maxUpdatesPerRequest → InvalidParameters `updateIds`; an unknown revision faults the call (InternalServerError, as WSUS) */
  updateData(s: DssSession, ids: UpdateIdentity[] | null): ServerUpdateData;
  decryptionData(s: DssSession, ids: UpdateIdentity[] | null): UpdateFileDecryption[];
  /** syncAnchor required (InvalidParameters `syncAnchor`) */
  deployments(s: DssSession, deploymentAnchor: string | null, syncAnchor: string | null): DeploymentsResult;
  /** base64 SHA-1 digests, ≤ 100; unknown ones → FileDigestsMissing with Message = missing digests joined by `|` */
  downloadFiles(s: DssSession, digests: string[] | null): void;
  relatedRevisions(s: DssSession, updateIds: string[]): UpdateIdentity[];

  /**
   * Session for the rollup calls of ReportingWebService: a WSUS downstream sends the spec's dummy
   * cookie there (empty EncryptedData, [MS-WSUSSS] 3.2.4.5), so the caller is identified by the
   * server ids the request claims; it must have authenticated here before and be allowed.
   */
  rollupSession(encryptedData: string | null, claimedServerIds: readonly string[]): DssSession;
  rollupConfiguration(): RollupConfiguration;
  rollupDownstreamServers(s: DssSession, clientTime: string | null, servers: Array<Record<string, string>>): void;
  rollupComputers(s: DssSession, clientTime: string | null, computers: ComputerRollup[]): ChangedComputer[];
  getOutOfSyncComputers(s: DssSession, parentServerId: string | null, computers: Array<{ computerId: string; lastRollupNumber: number }>): string[];
  rollupComputerStatus(s: DssSession, clientTime: string | null, parentServerId: string | null, computers: ComputerStatusRollup[]): boolean;
}
