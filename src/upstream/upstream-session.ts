import { SERVER_SYNC_PROTOCOL_VERSION } from '../core/server-sync/server-sync-model.js';
import { DSS_AUTH_ACTION, DSS_PLUGIN_ID, REPORTING_PATH, SERVER_SYNC_PATH, serverSyncAction } from '../protocol/server-sync/namespaces.js';
import type { XmlElement } from '../protocol/xml/xml-element.js';
import { contentUrl } from './content-url.js';
import { backoffDelay, sleep } from './retry-delay.js';
import {
  parseAuthConfig, parseAuthorizationCookie, parseConfigData, parseCookie, parseDecryptionData, parseDeployments,
  parseRevisionIdList, parseRollupConfiguration, parseUpdateData,
} from './server-sync-parsers.js';
import {
  downloadFilesBody, dssAuthBody, getAuthConfigBody, getConfigDataBody, getCookieBody, getDeploymentsBody,
  getRevisionIdListBody, getRollupConfigurationBody, updateIdsBody, type WireCookie,
} from './server-sync-requests.js';
import { PostFailure, postSoap } from './soap-post.js';
import { expectResponse, readSoapAnswer, ResponseShapeError, type SoapFault } from './soap-response.js';
import {
  UpstreamFaultError, UpstreamTransportError, type OpenUpstreamSession, type ServerSyncSession, type UpstreamSessionOptions,
} from './server-sync-session.js';

// The downstream side of MS-WSUSSS: authenticate (GetAuthConfig -> DssAuth
// GetAuthorizationCookie -> GetCookie), then one method per operation. It only talks to the
// upstream: retries, re-authentication and error mapping live here; what to fetch and what
// to do with it is the sync service's business.

const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024;
/** One decompressed update document (UTF-16); the largest real cumulative updates stay well below. */
const MAX_BLOB_BYTES = 64 * 1024 * 1024;
const DEFAULT_RETRY_BASE_MS = 1000;
/** Faults that a fresh cookie cures: re-authenticate once, then repeat the call. */
const COOKIE_FAULTS = new Set(['InvalidCookie', 'CookieExpired', 'InvalidAuthorizationCookie']);

class FaultAnswer extends Error {
  constructor(readonly fault: SoapFault, readonly httpStatus: number) {
    super(fault.errorCode || fault.faultstring || 'SOAP fault');
  }
}

interface Call<T> {
  op: string;
  url: string;
  action: string;
  /** built per try: the cookie may have been renewed in between */
  body: () => string;
  parse: (response: XmlElement) => T;
  /** carries this session's cookie, so cookie faults are cured by re-authenticating */
  usesCookie: boolean;
}

export const openUpstreamSession: OpenUpstreamSession = async (o: UpstreamSessionOptions): Promise<ServerSyncSession> => {
  const base = new URL(o.baseUrl);
  const baseUrl = (base.origin + base.pathname).replace(/\/+$/, '');
  const syncUrl = baseUrl + SERVER_SYNC_PATH;
  const tries = Math.max(1, Math.floor(o.retries));
  const retryBaseMs = o.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_MS;
  const maxBytes = o.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  let cookie: WireCookie | null = null;
  /** bumped on every new cookie; a call that failed with an older one just retries */
  let generation = 0;
  let renewing: Promise<void> | null = null;

  async function once<T>(c: Call<T>): Promise<T> {
    const reply = await postSoap({
      url: c.url, soapAction: c.action, body: c.body(), dispatcher: o.dispatcher, timeoutMs: o.requestTimeoutMs, maxBytes, signal: o.signal,
    });
    let answer;
    try {
      answer = readSoapAnswer(reply.text);
    } catch (e) {
      if (!(e instanceof ResponseShapeError)) throw e;
      // Not SOAP at all: a proxy's or IIS's error page, or a cut body.
      if (reply.status === 200 || reply.status >= 500) throw new PostFailure(`HTTP ${reply.status}, ${e.message}`, true, reply.status);
      throw new PostFailure(`HTTP ${reply.status} without a SOAP answer`, false, reply.status);
    }
    if (answer.fault) throw new FaultAnswer(answer.fault, reply.status);
    if (reply.status !== 200) throw new PostFailure(`HTTP ${reply.status} with a non-fault SOAP body`, reply.status >= 500, reply.status);
    return c.parse(expectResponse(answer, c.op));
  }

  async function call<T>(c: Call<T>): Promise<T> {
    let renewed = false;
    for (let attempt = 1; ; attempt++) {
      const gen = generation;
      let reason: string;
      let status: number | null = null;
      try {
        return await once(c);
      } catch (e) {
        if (e instanceof FaultAnswer) {
          const code = e.fault.errorCode;
          if (c.usesCookie && COOKIE_FAULTS.has(code) && !renewed) {
            renewed = true;
            o.log.info('upstream refused the cookie; authenticating again', { operation: c.op, errorCode: code });
            await renew(gen);
            attempt--;
            continue;
          }
          if (code !== 'ServerBusy' || attempt >= tries) throw new UpstreamFaultError(c.op, code, e.fault.message, e.httpStatus);
          reason = 'ServerBusy';
          status = e.httpStatus;
        } else if (e instanceof PostFailure || e instanceof ResponseShapeError) {
          const retryable = e instanceof ResponseShapeError || e.retryable;
          status = e instanceof PostFailure ? e.httpStatus : 200;
          if (!retryable || attempt >= tries) throw new UpstreamTransportError(c.op, e.message, status);
          reason = e.message;
        } else {
          throw e;
        }
      }
      const delay = backoffDelay(attempt - 1, retryBaseMs);
      o.log.warn('upstream call failed; trying again', { operation: c.op, attempt, of: tries, reason, httpStatus: status, delayMs: delay });
      await sleep(delay, o.signal);
    }
  }

  /** The DssAuth URL from GetAuthConfig, resolved against the base; only the upstream's own origin is accepted. */
  function authUrl(serviceUrl: string): string {
    const u = new URL(serviceUrl, `${baseUrl}/`);
    if (u.origin !== base.origin) throw new UpstreamTransportError('GetAuthConfig', `DssAuth service URL ${u.origin} is not on the upstream ${base.origin}`);
    return u.toString();
  }

  async function authenticate(old: WireCookie | null): Promise<void> {
    const config = await call({ op: 'GetAuthConfig', url: syncUrl, action: serverSyncAction('GetAuthConfig'), body: getAuthConfigBody, parse: parseAuthConfig, usesCookie: false });
    const plugIn = config.plugIns.find((p) => p.id === DSS_PLUGIN_ID);
    if (!plugIn?.serviceUrl) throw new UpstreamTransportError('GetAuthConfig', `the upstream offers no ${DSS_PLUGIN_ID} authorization`);
    const auth = await call({
      op: 'GetAuthorizationCookie', url: authUrl(plugIn.serviceUrl), action: DSS_AUTH_ACTION,
      body: () => dssAuthBody(o.serverName, o.serverId), parse: parseAuthorizationCookie, usesCookie: false,
    });
    const getCookie = (oldCookie: WireCookie | null): Promise<WireCookie> => call({
      op: 'GetCookie', url: syncUrl, action: serverSyncAction('GetCookie'),
      body: () => getCookieBody(auth.cookieData, oldCookie, SERVER_SYNC_PROTOCOL_VERSION), parse: parseCookie, usesCookie: false,
    });
    let fresh: WireCookie;
    try {
      fresh = await getCookie(old);
    } catch (e) {
      // An upstream that cannot read our previous cookie at all (rather than recognising it as
      // another server's: ServerChanged) says InvalidCookie; start without it.
      if (!(old && e instanceof UpstreamFaultError && e.errorCode === 'InvalidCookie')) throw e;
      o.log.warn('upstream did not accept the previous cookie; authenticating without it', { operation: 'GetCookie' });
      fresh = await getCookie(null);
    }
    cookie = fresh;
    generation++;
    o.onCookie?.(fresh.encryptedData);
  }

  function renew(failedGeneration: number): Promise<void> {
    if (generation !== failedGeneration) return Promise.resolve();
    renewing ??= authenticate(cookie).finally(() => {
      renewing = null;
    });
    return renewing;
  }

  const current = (): WireCookie => {
    if (!cookie) throw new Error('upstream session is not authenticated');
    return cookie;
  };
  const syncCall = <T>(op: string, body: () => string, parse: (r: XmlElement) => T): Promise<T> =>
    call({ op, url: syncUrl, action: serverSyncAction(op), body, parse, usesCookie: true });

  // o.lastCookie is only EncryptedData; its clear Expiration is advisory for the upstream.
  await authenticate(o.lastCookie ? { expiration: new Date().toISOString(), encryptedData: o.lastCookie } : null);

  return {
    baseUrl,
    configData: (configAnchor) => syncCall('GetConfigData', () => getConfigDataBody(current(), configAnchor), parseConfigData),
    revisionIdList: (filter) => syncCall('GetRevisionIdList', () => getRevisionIdListBody(current(), filter), parseRevisionIdList),
    updateData: (ids) => syncCall('GetUpdateData', () => updateIdsBody('GetUpdateData', current(), ids), (r) => parseUpdateData(r, MAX_BLOB_BYTES)),
    decryptionData: (ids) => syncCall('GetUpdateDecryptionData', () => updateIdsBody('GetUpdateDecryptionData', current(), ids), parseDecryptionData),
    deployments: (deploymentAnchor, syncAnchor) =>
      syncCall('GetDeployments', () => getDeploymentsBody(current(), deploymentAnchor, syncAnchor), parseDeployments),
    downloadFiles: (digests) => syncCall('DownloadFiles', () => downloadFilesBody(current(), digests), () => undefined),
    // Rollup calls carry the dummy cookie WSUS downstreams send ([MS-WSUSSS] 3.2.4.5), not ours.
    rollupConfiguration: () => call({
      op: 'GetRollupConfiguration', url: baseUrl + REPORTING_PATH, action: serverSyncAction('GetRollupConfiguration'),
      body: getRollupConfigurationBody, parse: parseRollupConfiguration, usesCookie: false,
    }),
    contentUrl: (sha1Hex, fileName) => contentUrl(baseUrl, sha1Hex, fileName),
  };
};
