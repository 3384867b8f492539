import { DomainError } from '../../src/core/errors.js';
import { upstreamContentUrl } from '../../src/core/sync/content-url.js';
import type { UpstreamRoleService } from '../../src/services/upstream-role/upstream-role.types.js';
import { UpstreamFaultError, type OpenUpstreamSession, type ServerSyncSession } from '../../src/upstream/server-sync-session.js';

// A ServerSyncSession straight onto an upstream-role service in the same process (no HTTP,
// no SOAP): the downstream sync against our own upstream's rules, faults mapped as the real
// client maps SOAP faults.

function call<T>(op: string, f: () => T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (e) {
    if (e instanceof DomainError) return Promise.reject(new UpstreamFaultError(op, e.code, e.detail, 500));
    return Promise.reject(e);
  }
}

export function roleSessionOpener(role: UpstreamRoleService, dss: { id: string; fqdn: string }): OpenUpstreamSession {
  return async (o) => {
    const auth = await call('GetAuthorizationCookie', () => role.authorize(dss.fqdn, dss.id, '127.0.0.1'));
    const cookie = await call('GetCookie', () => role.getCookie([{ plugInId: 'DssTargeting', cookieData: auth }], o.lastCookie, '1.20'));
    o.onCookie?.(cookie.encryptedData);
    const s = role.open(cookie.encryptedData);
    const session: ServerSyncSession = {
      baseUrl: o.baseUrl,
      configData: (a) => call('GetConfigData', () => role.configData(s, a)),
      revisionIdList: (f) => call('GetRevisionIdList', () => role.revisionIdList(s, f)),
      updateData: (ids) => call('GetUpdateData', () => role.updateData(s, ids)),
      decryptionData: (ids) => call('GetUpdateDecryptionData', () => role.decryptionData(s, ids)),
      deployments: (da, sa) => call('GetDeployments', () => role.deployments(s, da, sa)),
      downloadFiles: (d) => call('DownloadFiles', () => role.downloadFiles(s, d)),
      rollupConfiguration: () => call('GetRollupConfiguration', () => role.rollupConfiguration()),
      contentUrl: (hex, name) => upstreamContentUrl(o.baseUrl, hex, name),
    };
    return session;
  };
}
