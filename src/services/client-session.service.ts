import { DomainError, invalidParameters } from '../core/errors.js';
import {
  readAuthorizationCookie, readClientCookie, sealToken, TokenKind,
  type ClientCookie, type TokenKeys,
} from '../core/cookies/cookie-token.js';
import type { ServerConfig } from '../config/config.js';
import type { ComputerInfo, ComputersStore } from '../store/computers.store.js';
import type { Logger } from '../logger.js';

// The handshake: GetConfig → GetAuthorizationCookie → GetCookie → RegisterComputer, and the
// cookie checks every later call goes through.

export interface CookieOut {
  expiration: string;
  encryptedData: string;
}

export interface ConfigOut {
  lastChange: string;
  isRegistrationRequired: boolean;
  properties: Array<[string, string]>;
}

const CLIENT_ID_RE = /^[A-Za-z0-9-]{1,255}$/;
const VERSION_RE = /^\d{1,5}\.\d{1,5}$/;

export function createClientSessionService(deps: {
  keys: TokenKeys;
  configLastChange: () => string;
  config: ServerConfig;
  computers: ComputersStore;
  clock: () => Date;
  log: Logger;
}) {
  const { keys, config, computers, clock, log } = deps;
  const registered = new Set<string>();
  // Authenticated tokens seen recently: a client reuses one cookie for a whole scan, so the
  // AES-GCM open runs once per cookie, not once per page. Only successfully opened tokens
  // are kept, and expiry and configuration are still checked on every use.
  const opened = new Map<string, ClientCookie>();
  const tokenOf = new WeakMap<ClientCookie, string>();

  function seal(c: ClientCookie): CookieOut {
    return { expiration: new Date(c.expiresAt).toISOString(), encryptedData: sealToken(keys, TokenKind.ClientCookie, c) };
  }

  return {
    getConfig(protocolVersion: string | undefined): ConfigOut {
      if (protocolVersion !== undefined && protocolVersion !== '' && !VERSION_RE.test(protocolVersion)) {
        throw invalidParameters('protocolVersion');
      }
      // Order and names as real WSUS sends them; clients fail with 0x8024402A without Properties,
      // and ProtocolVersion 3.2 is what enables category scans.
      const properties: Array<[string, string]> = [['MaxExtendedUpdatesPerRequest', String(config.maxExtendedUpdatesPerRequest)]];
      if (config.packageServerShare) properties.push(['PackageServerShare', config.packageServerShare]);
      properties.push(['ProtocolVersion', '3.2'], ['IsInventoryRequired', '0'], ['ClientReportingLevel', '2']);
      return { lastChange: deps.configLastChange(), isRegistrationRequired: true, properties };
    },

    getAuthorizationCookie(clientId: string | undefined, targetGroupName: string | undefined, dnsName: string | undefined): string {
      if (!clientId || !CLIENT_ID_RE.test(clientId)) throw invalidParameters('clientId');
      if (!dnsName || dnsName.length > 255) throw invalidParameters('dnsName');
      const now = clock().getTime();
      return sealToken(keys, TokenKind.AuthorizationCookie, {
        clientId: clientId.toLowerCase(),
        targetGroups: (targetGroupName ?? '').slice(0, 1024),
        dnsName,
        issuedAt: now,
        expiresAt: now + config.cookieLifetimeSeconds * 1000,
      });
    },

    getCookie(authCookies: Array<{ plugInId: string; cookieData: string }>, oldCookie: string | undefined, lastChange: string | undefined, protocolVersion: string | undefined): CookieOut {
      if (authCookies.length !== 1) throw new DomainError('InvalidAuthorizationCookie', '', 'exactly one authorization cookie is required');
      if (!protocolVersion || !VERSION_RE.test(protocolVersion)) throw invalidParameters('protocolVersion');
      const auth = readAuthorizationCookie(keys, authCookies[0]!.cookieData);
      const now = clock().getTime();
      if (auth.expiresAt < now) throw new DomainError('InvalidAuthorizationCookie', '', 'authorization cookie expired');
      const currentLastChange = Date.parse(deps.configLastChange());
      if (lastChange !== undefined && Date.parse(lastChange) !== currentLastChange) {
        throw new DomainError('ConfigChanged', '', 'client configuration is older than the server configuration');
      }
      // A previous cookie of ours (typically expired) carries the deployment watermark forward.
      let watermark = 0;
      if (oldCookie) {
        const old = readClientCookie(keys, oldCookie);
        if (old.clientId === auth.clientId) watermark = old.watermark;
      }
      return seal({
        clientId: auth.clientId,
        targetGroups: auth.targetGroups,
        dnsName: auth.dnsName,
        issuedAt: now,
        expiresAt: now + config.cookieLifetimeSeconds * 1000,
        protocolVersion,
        configLastChange: currentLastChange,
        watermark,
      });
    },

    /** Validates a client cookie in the order the spec gives (InvalidCookie, ServerChanged, CookieExpired, ConfigChanged). */
    authenticate(encryptedData: string | undefined, opts: { checkConfig: boolean }): ClientCookie {
      if (!encryptedData) throw new DomainError('InvalidCookie', '', 'cookie missing');
      let c = opened.get(encryptedData);
      if (!c) {
        c = readClientCookie(keys, encryptedData);
        if (opened.size >= 50_000) opened.clear();
        opened.set(encryptedData, c);
        tokenOf.set(c, encryptedData);
      }
      if (c.expiresAt < clock().getTime()) throw new DomainError('CookieExpired', '', 'cookie expired');
      if (opts.checkConfig && c.configLastChange !== Date.parse(deps.configLastChange())) {
        throw new DomainError('ConfigChanged', '', 'configuration changed since the handshake');
      }
      return c;
    },

    /** Same expiry, new contents: use never extends a cookie's lifetime (as on real WSUS). */
    renew(c: ClientCookie, watermark: number): CookieOut {
      // Nothing to record: hand back the same (still valid, same expiry) token.
      const same = watermark === c.watermark ? tokenOf.get(c) : undefined;
      if (same) return { expiration: new Date(c.expiresAt).toISOString(), encryptedData: same };
      return seal({ ...c, watermark });
    },

    registerComputer(cookie: ClientCookie, info: Omit<ComputerInfo, 'clientId'>, address: string | null): void {
      if (!info.dnsName || info.dnsName.length > 255) throw invalidParameters('computerInfo.DnsName');
      computers.register({ ...info, clientId: cookie.clientId }, cookie.targetGroups, address, clock());
      registered.add(cookie.clientId);
      log.info('computer registered', { clientId: cookie.clientId, dnsName: info.dnsName, os: info.osDescription, address });
    },

    isRegistered(clientId: string): boolean {
      if (registered.has(clientId)) return true;
      if (computers.targeting(clientId)) {
        if (registered.size > 200_000) registered.clear();
        registered.add(clientId);
        return true;
      }
      return false;
    },

    forgetRegistrations(): void {
      registered.clear();
    },
  };
}

export type ClientSessionService = ReturnType<typeof createClientSessionService>;
