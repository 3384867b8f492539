import type {
  DeploymentActionCode, DeploymentsResult, RevisionIdList, RollupConfiguration, ServerSyncConfigData,
  ServerUpdateData, SyncLanguage, UpdateFileDecryption, UpdateIdentity,
} from '../core/server-sync/server-sync-model.js';
import { CabinetFormatError, decodeUpdateBlob } from '../protocol/cab/index.js';
import { child, children, isNil, type XmlElement } from '../protocol/xml/xml-element.js';
import { ResponseShapeError } from './soap-response.js';
import type { WireCookie } from './server-sync-requests.js';

// Parsers from the `<Op>Response` element to the protocol-free model. They are as strict as
// the request readers of the upstream role: GUIDs validated and lower-cased, ints and
// booleans checked, required members required. Absent arrays are empty. Element names and
// orders: [MS-WSUSSS] Appendix A 6.1 and the real answers in wsus-m0-wsusss/exchanges.

const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function need(el: XmlElement | undefined, name: string): XmlElement {
  const c = child(el, name);
  if (!c || isNil(c)) throw new ResponseShapeError(`${el?.local ?? 'answer'} has no ${name}`);
  return c;
}
const text = (el: XmlElement | undefined, name: string): string => need(el, name).text.trim();
const optText = (el: XmlElement | undefined, name: string): string | null => {
  const c = child(el, name);
  return c && !isNil(c) ? c.text.trim() : null;
};
function guid(v: string, where: string): string {
  if (!GUID_RE.test(v)) throw new ResponseShapeError(`${where} is not a GUID: ${JSON.stringify(v.slice(0, 60))}`);
  return v.toLowerCase();
}
function int(v: string, where: string): number {
  const n = Number(v);
  if (!/^[+-]?\d{1,10}$/.test(v) || n > 2147483647 || n < -2147483648) throw new ResponseShapeError(`${where} is not an int: ${JSON.stringify(v.slice(0, 30))}`);
  return n;
}
function bool(v: string, where: string): boolean {
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new ResponseShapeError(`${where} is not a boolean: ${JSON.stringify(v.slice(0, 30))}`);
}
const items = (el: XmlElement | undefined, name: string, item: string): XmlElement[] => {
  const c = child(el, name);
  return c && !isNil(c) ? children(c, item).filter((i) => !isNil(i)) : [];
};
const result = (resp: XmlElement, op: string): XmlElement => need(resp, `${op}Result`);

export function parseIdentity(el: XmlElement): UpdateIdentity {
  return { updateId: guid(text(el, 'UpdateID'), 'UpdateID'), revisionNumber: int(text(el, 'RevisionNumber'), 'RevisionNumber') };
}

export interface AuthPlugIn {
  id: string;
  serviceUrl: string;
  parameter: string | null;
}

export function parseAuthConfig(resp: XmlElement): { lastChange: string; plugIns: AuthPlugIn[] } {
  const r = result(resp, 'GetAuthConfig');
  return {
    lastChange: optText(r, 'LastChange') ?? '',
    plugIns: items(r, 'AuthInfo', 'AuthPlugInInfo').map((p) => ({
      id: optText(p, 'PlugInID') ?? '', serviceUrl: optText(p, 'ServiceUrl') ?? '', parameter: optText(p, 'Parameter'),
    })),
  };
}

export function parseAuthorizationCookie(resp: XmlElement): { plugInId: string; cookieData: string } {
  const r = result(resp, 'GetAuthorizationCookie');
  const cookieData = text(r, 'CookieData');
  if (!cookieData) throw new ResponseShapeError('GetAuthorizationCookieResult has an empty CookieData');
  return { plugInId: optText(r, 'PlugInId') ?? '', cookieData };
}

export function parseCookie(resp: XmlElement): WireCookie {
  const r = result(resp, 'GetCookie');
  const encryptedData = text(r, 'EncryptedData');
  if (!encryptedData) throw new ResponseShapeError('GetCookieResult has an empty EncryptedData');
  return { expiration: text(r, 'Expiration'), encryptedData };
}

export function parseConfigData(resp: XmlElement): ServerSyncConfigData {
  const r = result(resp, 'GetConfigData');
  const b = (n: string): boolean => bool(text(r, n), n);
  const i = (n: string): number => int(text(r, n), n);
  // The four limits added after WSUS 3.0 may be missing from an old upstream: 0 = "not announced".
  const iOpt = (n: string): number => (optText(r, n) === null ? 0 : i(n));
  const languages: SyncLanguage[] = items(r, 'LanguageUpdateList', 'ServerSyncLanguageData').map((l) => ({
    id: int(text(l, 'LanguageID'), 'LanguageID'),
    short: optText(l, 'ShortLanguage') ?? '',
    long: optText(l, 'LongLanguage') ?? '',
    enabled: bool(text(l, 'Enabled'), 'Enabled'),
  }));
  return {
    catalogOnlySync: b('CatalogOnlySync'),
    lazySync: b('LazySync'),
    serverHostsPsfFiles: b('ServerHostsPsfFiles'),
    maxNumberOfUpdatesPerRequest: i('MaxNumberOfUpdatesPerRequest'),
    maxNumberOfDriverSetsPerRequest: iOpt('MaxNumberOfDriverSetsPerRequest'),
    maxNumberOfComputerIdsInRequest: iOpt('MaxNumberOfComputerIdsInRequest'),
    maxNumberOfPnpHardwareIdsInRequest: iOpt('MaxNumberOfPnpHardwareIdsInRequest'),
    maxUpdatesPerRequestInGetUpdateDecryptionData: iOpt('MaxUpdatesPerRequestInGetUpdateDecryptionData'),
    newConfigAnchor: optText(r, 'NewConfigAnchor') ?? '',
    protocolVersion: optText(r, 'ProtocolVersion') ?? '',
    languages,
  };
}

export function parseRevisionIdList(resp: XmlElement): RevisionIdList {
  const r = result(resp, 'GetRevisionIdList');
  const list = items(r, 'NewRevisions', 'UpdateIdentity');
  const revisions: UpdateIdentity[] = new Array(list.length);
  for (let k = 0; k < list.length; k++) revisions[k] = parseIdentity(list[k]!);
  return { anchor: text(r, 'Anchor'), revisions };
}

/** `maxBlobBytes` caps each decompressed XmlUpdateBlobCompressed (UTF-16 bytes). */
export function parseUpdateData(resp: XmlElement, maxBlobBytes: number): ServerUpdateData {
  const r = result(resp, 'GetUpdateData');
  const updates = items(r, 'updates', 'ServerSyncUpdateData').map((u) => {
    const identity = parseIdentity(need(u, 'Id'));
    const plain = optText(u, 'XmlUpdateBlob');
    let xml: string;
    if (plain !== null && plain !== '') {
      // Not trimmed: the document is exactly the element's text.
      xml = need(u, 'XmlUpdateBlob').text;
    } else {
      const packed = optText(u, 'XmlUpdateBlobCompressed');
      if (!packed) throw new ResponseShapeError(`update ${identity.updateId} has neither XmlUpdateBlob nor XmlUpdateBlobCompressed`);
      try {
        xml = decodeUpdateBlob(packed, maxBlobBytes);
      } catch (e) {
        if (e instanceof CabinetFormatError) throw new ResponseShapeError(`update ${identity.updateId}: ${e.message}`);
        throw e;
      }
    }
    return { identity, xml, fileDigests: items(u, 'FileDigestList', 'base64Binary').map((d) => d.text.trim()) };
  });
  const fileUrls = items(r, 'fileUrls', 'ServerSyncUrlData').map((f) => ({
    digest: text(f, 'FileDigest'),
    // WSUS sends an empty UssUrl (and may send an empty MUUrl); empty means none.
    muUrl: optText(f, 'MUUrl') || null,
    ussUrl: optText(f, 'UssUrl') || null,
  }));
  return { updates, fileUrls };
}

/** On the wire `UpdateId` is an UpdateIdentity (Appendix A 6.1). */
export function parseDecryptionData(resp: XmlElement): UpdateFileDecryption[] {
  const r = result(resp, 'GetUpdateDecryptionData');
  return items(r, 'UpdateFileDecryptionData', 'ServerSyncUpdateFileDecryption').map((u) => {
    const id = need(u, 'UpdateId');
    const identity = child(id, 'UpdateID') ? parseIdentity(id) : { updateId: guid(id.text.trim(), 'UpdateId'), revisionNumber: 0 };
    return {
      identity,
      files: items(u, 'FileDecryptionData', 'ServerSyncFileDecryption').map((f) => ({
        digest: text(f, 'FileDigest'), decryptionKey: optText(f, 'DecryptionKey') || null,
      })),
    };
  });
}

/** Deadline 9999-12-31T23:59:59.9999999 (any year 9999) means none. */
const deadlineOf = (v: string): string | null => (v.startsWith('9999-') ? null : v);

export function parseDeployments(resp: XmlElement): DeploymentsResult {
  const r = result(resp, 'GetDeployments');
  const guids = (name: string): string[] => items(r, name, 'guid').map((g) => guid(g.text.trim(), name));
  return {
    anchor: optText(r, 'Anchor') ?? '',
    groups: items(r, 'Groups', 'ServerSyncTargetGroup').map((g) => ({
      id: guid(text(g, 'TargetGroupID'), 'TargetGroupID'),
      // Sample 2 of [MS-WSUSSS] omits it for a builtin group: all zeros (the root) then.
      parentId: guid(optText(g, 'ParentGroupId') ?? '00000000-0000-0000-0000-000000000000', 'ParentGroupId'),
      name: optText(g, 'Name') ?? '',
      isBuiltin: bool(text(g, 'IsBuiltin'), 'IsBuiltin'),
    })),
    deployments: items(r, 'Deployments', 'ServerSyncDeployment').map((d) => {
      const action = int(text(d, 'Action'), 'Action');
      if (action < 0 || action > 3) throw new ResponseShapeError(`deployment Action ${action} is not 0..3`);
      return {
        updateId: guid(text(d, 'UpdateId'), 'UpdateId'),
        revisionNumber: int(text(d, 'RevisionNumber'), 'RevisionNumber'),
        action: action as DeploymentActionCode,
        adminName: optText(d, 'AdminName') ?? '',
        deadline: deadlineOf(text(d, 'Deadline')),
        isAssigned: bool(text(d, 'IsAssigned'), 'IsAssigned'),
        goLiveTime: text(d, 'GoLiveTime'),
        deploymentGuid: guid(text(d, 'DeploymentGuid'), 'DeploymentGuid'),
        targetGroupId: guid(text(d, 'TargetGroupId'), 'TargetGroupId'),
        downloadPriority: int(text(d, 'DownloadPriority'), 'DownloadPriority'),
      };
    }),
    deadDeployments: guids('DeadDeployments'),
    hiddenUpdates: guids('HiddenUpdates'),
    acceptedEulas: guids('AcceptedEulas'),
  };
}

export function parseRollupConfiguration(resp: XmlElement): RollupConfiguration {
  const r = result(resp, 'GetRollupConfiguration');
  const i = (n: string): number => int(text(r, n), n);
  return {
    doDetailedRollup: bool(text(r, 'DoDetailedRollup'), 'DoDetailedRollup'),
    rollupResetGuid: guid(text(r, 'RollupResetGuid'), 'RollupResetGuid'),
    serverId: guid(text(r, 'ServerId'), 'ServerId'),
    rollupDownstreamServersMaxBatchSize: i('RollupDownstreamServersMaxBatchSize'),
    rollupComputersMaxBatchSize: i('RollupComputersMaxBatchSize'),
    getOutOfSyncComputersMaxBatchSize: i('GetOutOfSyncComputersMaxBatchSize'),
    rollupComputerStatusMaxBatchSize: i('RollupComputerStatusMaxBatchSize'),
  };
}
