import { DomainError, invalidParameters } from '../../core/errors.js';
import {
  readDssAuthorizationCookie, readDssSyncCookie, sealToken, TokenKind,
  type DssAuthorizationCookie, type DssSyncCookie, type TokenKeys,
} from '../../core/cookies/cookie-token.js';
import { checkProtocolVersion, isAllowedDownstream, isDssAccountName, isGuid } from '../../core/server-sync/dss-identity.js';
import { SERVER_SYNC_PROTOCOL_VERSION } from '../../core/server-sync/server-sync-model.js';
import { createDownstreamServersStore } from '../../store/downstream-servers.store.js';
import type { DssSession, SyncCookieOut } from './upstream-role.types.js';
import type { UpstreamRoleDeps } from './upstream-role.deps.js';

// Downstream authentication (MS-WSUSSS 3.1.4.1-3.1.4.3): DssAuth vouches for the GUID and
// FQDN a downstream presents (anonymously, as on WSUS; real authentication belongs to TLS or
// the network), GetCookie turns that into a session cookie bound to this server's identity.

const ALLOW_HINT = 'add its GUID or FQDN to upstreamRole.allowedDownstreams (or use ["*"]) and restart';

export function createUpstreamAuth(deps: UpstreamRoleDeps) {
  const { config, clock, log } = deps;
  const keys: TokenKeys = { serverId: deps.identity.serverId, key: deps.identity.cookieKey };
  const servers = createDownstreamServersStore(deps.db);
  const lifetimeMs = config.cookieLifetimeMinutes * 60_000;

  const allowed = (dssId: string, fqdn: string): boolean => isAllowedDownstream(config.allowedDownstreams, dssId, fqdn);

  function sessionOf(c: DssSyncCookie): DssSession {
    return { serverId: c.dssId, fqdn: c.fqdn, protocolVersion: c.protocolVersion };
  }

  function open(encryptedData: string | null): DssSession {
    if (!encryptedData) throw new DomainError('InvalidCookie', '', 'InvalidCookie: cookie missing');
    const c = readDssSyncCookie(keys, encryptedData);
    if (c.expiresAt < clock().getTime()) throw new DomainError('CookieExpired', '', 'CookieExpired: downstream cookie expired');
    // The allow-list can shrink while cookies are out: such a downstream restarts and is refused at DssAuth.
    if (!allowed(c.dssId, c.fqdn)) throw new DomainError('InvalidCookie', '', 'InvalidCookie: downstream no longer allowed');
    return sessionOf(c);
  }

  return {
    open,

    authConfig(): { lastChange: string } {
      return { lastChange: deps.identity.configLastChange() };
    },

    authorize(accountName: string | undefined, accountGuid: string | undefined, address: string | null): string {
      if (accountName === undefined || !isDssAccountName(accountName)) throw invalidParameters('machineName');
      if (accountGuid === undefined || !isGuid(accountGuid)) throw invalidParameters('accountGuid');
      const dssId = accountGuid.toLowerCase();
      if (!allowed(dssId, accountName)) {
        log.warn(`downstream server ${accountName} (${dssId}) refused: it is not in upstreamRole.allowedDownstreams; ${ALLOW_HINT}`,
          { serverId: dssId, fqdn: accountName, address });
        throw new DomainError('InvalidParameters', 'accountGuid', `InvalidParameters: downstream ${dssId} is not allowed`);
      }
      const now = clock();
      servers.recordContact(dssId, accountName, address, now);
      log.info('downstream server authorized', { serverId: dssId, fqdn: accountName, address });
      const cookie: DssAuthorizationCookie = { dssId, fqdn: accountName, issuedAt: now.getTime(), expiresAt: now.getTime() + lifetimeMs };
      return sealToken(keys, TokenKind.DssAuthorizationCookie, cookie);
    },

    getCookie(authCookies: Array<{ plugInId: string; cookieData: string }>, oldCookie: string | null, protocolVersion: string | undefined): SyncCookieOut {
      if (authCookies.length !== 1 || authCookies[0]!.plugInId.toLowerCase() !== 'dsstargeting') throw invalidParameters('authCookies');
      const auth = readDssAuthorizationCookie(keys, authCookies[0]!.cookieData);
      const version = checkProtocolVersion(protocolVersion);
      if (!version.ok && version.reason === 'format') throw invalidParameters('protocolVersion');
      if (!version.ok) {
        throw new DomainError('IncompatibleProtocolVersion', 'protocolVersion',
          `IncompatibleProtocolVersion: downstream speaks ${protocolVersion}, this server ${SERVER_SYNC_PROTOCOL_VERSION}`);
      }
      const now = clock().getTime();
      if (auth.expiresAt < now) throw new DomainError('InvalidAuthorizationCookie', '', 'InvalidAuthorizationCookie: expired');
      if (!allowed(auth.dssId, auth.fqdn)) throw new DomainError('InvalidAuthorizationCookie', '', 'InvalidAuthorizationCookie: downstream no longer allowed');
      if (oldCookie) {
        // The last cookie the downstream got from its upstream. Ours (even long expired) is
        // fine. Anything we cannot open was issued by another server, or by this one before
        // its database was replaced: ServerChanged makes the downstream drop its anchors.
        try {
          readDssSyncCookie(keys, oldCookie);
        } catch (e) {
          log.warn('downstream presented a cookie from another server: it must synchronize from scratch',
            { serverId: auth.dssId, fqdn: auth.fqdn, reason: (e as Error).message });
          throw new DomainError('ServerChanged', '', 'ServerChanged: the previous cookie was issued by another server');
        }
      }
      servers.recordCookie(auth.dssId, protocolVersion!, new Date(now));
      // As on WSUS: the session lasts the configured lifetime, or until the authorization expires if sooner.
      const cookie: DssSyncCookie = {
        dssId: auth.dssId, fqdn: auth.fqdn, protocolVersion: protocolVersion!, issuedAt: now,
        expiresAt: Math.min(now + lifetimeMs, auth.expiresAt),
      };
      return { expiration: new Date(cookie.expiresAt).toISOString(), encryptedData: sealToken(keys, TokenKind.DssSyncCookie, cookie) };
    },

    /**
     * Rollup calls (ReportingWebService) carry the spec's dummy cookie (empty EncryptedData).
     * A real cookie is checked as usual; with the dummy one the caller is the first claimed
     * server id (GetOutOfSyncComputers/RollupComputerStatus parentServerId, the ServerId or
     * ParentServerId of the records) that authenticated through DssAuth before and is allowed.
     */
    rollupSession(encryptedData: string | null, claimedServerIds: readonly string[]): DssSession {
      if (encryptedData) return open(encryptedData);
      for (const id of claimedServerIds) {
        const row = isGuid(id) ? servers.get(id) : undefined;
        if (row && allowed(row.serverId, row.fqdn)) {
          return { serverId: row.serverId, fqdn: row.fqdn, protocolVersion: row.protocolVersion ?? SERVER_SYNC_PROTOCOL_VERSION };
        }
      }
      throw new DomainError('InvalidCookie', '', 'InvalidCookie: rollup from a server that never authenticated here');
    },

    recordSync(s: DssSession): void {
      servers.recordSync(s.serverId, clock());
    },

    recordRollup(s: DssSession, records: ReadonlyArray<Record<string, string>>): void {
      servers.recordRollup(s.serverId, records, clock());
    },
  };
}

export type UpstreamAuth = ReturnType<typeof createUpstreamAuth>;
