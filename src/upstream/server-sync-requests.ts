import type { RevisionFilter, UpdateIdentity } from '../core/server-sync/server-sync-model.js';
import { DSS_AUTH_NS, DSS_PLUGIN_ID, SERVER_SYNC_NS } from '../protocol/server-sync/namespaces.js';
import { NO_DEADLINE_WIRE } from '../core/server-sync/server-sync-model.js';
import { escapeText } from '../protocol/xml/escape.js';

// Request bodies a downstream sends, in the spelling of the real exchanges (captures
// wsus-m0-wsusss/exchanges 000001-000019: XML declaration, `soap:` envelope without header,
// operation element in the service namespace) and in the member order of the schema
// ([MS-WSUSSS] Appendix A 6.1 / microsoft/update-server-server-sync Reference.cs, whose
// DataContract marks GetConfig and Get63LanguageOnly IsRequired: Microsoft Update's WCF
// service may refuse a filter without them, so both are always sent).

const t = escapeText;

export interface WireCookie {
  /** the Expiration text exactly as the upstream sent it (echoed verbatim) */
  expiration: string;
  encryptedData: string;
}

export function envelope(op: string, inner: string, ns = SERVER_SYNC_NS): string {
  return '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>' +
    (inner ? `<${op} xmlns="${ns}">${inner}</${op}>` : `<${op} xmlns="${ns}"/>`) + '</soap:Body></soap:Envelope>';
}

export function cookieXml(name: string, c: WireCookie): string {
  return `<${name}><Expiration>${t(c.expiration)}</Expiration><EncryptedData>${t(c.encryptedData)}</EncryptedData></${name}>`;
}

/** The cookie WSUS downstreams put on rollup calls ([MS-WSUSSS] 3.2.4.5): far expiry, no data. */
export const ROLLUP_DUMMY_COOKIE = `<cookie><Expiration>${NO_DEADLINE_WIRE}</Expiration><EncryptedData /></cookie>`;

export const getAuthConfigBody = (): string => envelope('GetAuthConfig', '');

/** As capture 000002: accountName then accountGuid; programKeys (reserved) is not sent. */
export function dssAuthBody(accountName: string, accountGuid: string): string {
  return envelope('GetAuthorizationCookie', `<accountName>${t(accountName)}</accountName><accountGuid>${t(accountGuid)}</accountGuid>`, DSS_AUTH_NS);
}

export function getCookieBody(cookieData: string, oldCookie: WireCookie | null, protocolVersion: string): string {
  return envelope('GetCookie',
    `<authCookies><AuthorizationCookie><PlugInId>${DSS_PLUGIN_ID}</PlugInId><CookieData>${t(cookieData)}</CookieData></AuthorizationCookie></authCookies>` +
    (oldCookie ? cookieXml('oldCookie', oldCookie) : '') + `<protocolVersion>${t(protocolVersion)}</protocolVersion>`);
}

export function getConfigDataBody(c: WireCookie, configAnchor: string | null): string {
  return envelope('GetConfigData', cookieXml('cookie', c) + (configAnchor !== null ? `<configAnchor>${t(configAnchor)}</configAnchor>` : ''));
}

const identity = (name: string, i: UpdateIdentity): string =>
  `<${name}><UpdateID>${t(i.updateId)}</UpdateID><RevisionNumber>${i.revisionNumber}</RevisionNumber></${name}>`;

function idAndDeltas(name: string, items: RevisionFilter['categories']): string {
  if (items === null) return '';
  return `<${name}>${items.map((i) => `<IdAndDelta><Id>${t(i.id)}</Id><Delta>${i.delta}</Delta></IdAndDelta>`).join('')}</${name}>`;
}

export function getRevisionIdListBody(c: WireCookie, f: RevisionFilter): string {
  const languages = f.languages === null ? ''
    : `<Languages>${f.languages.map((l) => `<LanguageAndDelta><Id>${l.id}</Id><Delta>${l.delta}</Delta></LanguageAndDelta>`).join('')}</Languages>`;
  return envelope('GetRevisionIdList', cookieXml('cookie', c) + '<filter>' +
    (f.anchor !== null ? `<Anchor>${t(f.anchor)}</Anchor>` : '') +
    `<GetConfig>${f.getConfig}</GetConfig><Get63LanguageOnly>${f.get63LanguageOnly}</Get63LanguageOnly>` +
    idAndDeltas('Categories', f.categories) + idAndDeltas('Classifications', f.classifications) + languages + '</filter>');
}

export function updateIdsBody(op: 'GetUpdateData' | 'GetUpdateDecryptionData', c: WireCookie, ids: readonly UpdateIdentity[]): string {
  return envelope(op, cookieXml('cookie', c) + `<updateIds>${ids.map((i) => identity('UpdateIdentity', i)).join('')}</updateIds>`);
}

export function getDeploymentsBody(c: WireCookie, deploymentAnchor: string | null, syncAnchor: string): string {
  return envelope('GetDeployments', cookieXml('cookie', c) +
    (deploymentAnchor !== null ? `<deploymentAnchor>${t(deploymentAnchor)}</deploymentAnchor>` : '') + `<syncAnchor>${t(syncAnchor)}</syncAnchor>`);
}

export function downloadFilesBody(c: WireCookie, digests: readonly string[]): string {
  return envelope('DownloadFiles', cookieXml('cookie', c) +
    `<fileDigestList>${digests.map((d) => `<base64Binary>${t(d)}</base64Binary>`).join('')}</fileDigestList>`);
}

export const getRollupConfigurationBody = (): string => envelope('GetRollupConfiguration', ROLLUP_DUMMY_COOKIE);
