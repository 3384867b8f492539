import type {
  DeploymentsResult, RevisionIdList, ServerSyncConfigData, ServerUpdateData, SyncDeployment,
  UpdateFileDecryption, UpdateIdentity,
} from '../../core/server-sync/server-sync-model.js';
import { NO_DEADLINE_WIRE } from '../../core/server-sync/server-sync-model.js';
import type { SyncCookieOut } from '../../services/upstream-role/upstream-role.types.js';
import { escapeText } from '../xml/escape.js';
import { DSS_AUTH_NS, DSS_AUTH_RELATIVE_URL, DSS_PLUGIN_ID, SERVER_SYNC_NS } from './namespaces.js';
import { writesCompressed, writeUpdateBlob } from './update-blob-writer.js';

// Response elements of ServerSyncWebService and DssAuthWebService, written the way the ASMX
// serializer of real WSUS writes them. Sources for the shapes:
// - element order and empty-element spelling: the real captures in
//   ../shared/captures/wsus-m0-wsusss/exchanges (000001-000016): `<Parameter />`,
//   `<LanguageUpdateList />`, `<NewRevisions />`, `<fileUrls />`, `<UssUrl />`; FileDigestList
//   omitted when a revision has no files; ServerSyncUpdateData in schema order Id,
//   XmlUpdateBlob, FileDigestList, XmlUpdateBlobCompressed (000014 vs 000015);
// - shapes not captured (GetUpdateDecryptionData, GetDeployments, GetRelatedRevisionsForUpdates):
//   [MS-WSUSSS] Appendix A (6.1 Server Sync Web Service WSDL) and its Sample 2 (GetDeployments
//   response: empty arrays as `<DeadDeployments />`, Deadline 9999-12-31T23:59:59.9999999),
//   cross-checked with microsoft/update-server-server-sync `Connected Services/
//   Microsoft.UpdateServices.WebServices.ServerSync/Reference.cs`.
// ASMX rule followed throughout: a null field is omitted, an empty array is `<Name />`.

const t = escapeText;

function response(op: string, inner: string, ns = SERVER_SYNC_NS): string {
  return `<${op}Response xmlns="${ns}">${inner}</${op}Response>`;
}

/** `<Name>items</Name>`, or `<Name />` for an empty array (never omitted: WSUS sends it). */
export function arrayXml(name: string, items: readonly string[]): string {
  return items.length ? `<${name}>${items.join('')}</${name}>` : `<${name} />`;
}

export function identityXml(name: string, id: UpdateIdentity): string {
  return `<${name}><UpdateID>${t(id.updateId)}</UpdateID><RevisionNumber>${id.revisionNumber}</RevisionNumber></${name}>`;
}

const guidsXml = (name: string, ids: readonly string[]): string => arrayXml(name, ids.map((g) => `<guid>${t(g)}</guid>`));

export function authConfigResponse(lastChange: string): string {
  return response('GetAuthConfig', `<GetAuthConfigResult><LastChange>${t(lastChange)}</LastChange><AuthInfo><AuthPlugInInfo>` +
    `<PlugInID>${DSS_PLUGIN_ID}</PlugInID><ServiceUrl>${DSS_AUTH_RELATIVE_URL}</ServiceUrl><Parameter /></AuthPlugInInfo></AuthInfo>` +
    '</GetAuthConfigResult>');
}

export function dssAuthorizationCookieResponse(cookieData: string): string {
  return response('GetAuthorizationCookie', `<GetAuthorizationCookieResult><PlugInId>${DSS_PLUGIN_ID}</PlugInId>` +
    `<CookieData>${t(cookieData)}</CookieData></GetAuthorizationCookieResult>`, DSS_AUTH_NS);
}

export function cookieXml(name: string, c: SyncCookieOut): string {
  return `<${name}><Expiration>${t(c.expiration)}</Expiration><EncryptedData>${t(c.encryptedData)}</EncryptedData></${name}>`;
}

export const cookieResponse = (c: SyncCookieOut): string => response('GetCookie', cookieXml('GetCookieResult', c));

export function configDataResponse(c: ServerSyncConfigData): string {
  const langs = c.languages.map((l) => `<ServerSyncLanguageData><LanguageID>${l.id}</LanguageID><ShortLanguage>${t(l.short)}</ShortLanguage>` +
    `<LongLanguage>${t(l.long)}</LongLanguage><Enabled>${l.enabled}</Enabled></ServerSyncLanguageData>`);
  return response('GetConfigData', '<GetConfigDataResult>' +
    `<CatalogOnlySync>${c.catalogOnlySync}</CatalogOnlySync><LazySync>${c.lazySync}</LazySync>` +
    `<ServerHostsPsfFiles>${c.serverHostsPsfFiles}</ServerHostsPsfFiles>` +
    `<MaxNumberOfComputerIdsInRequest>${c.maxNumberOfComputerIdsInRequest}</MaxNumberOfComputerIdsInRequest>` +
    `<MaxNumberOfDriverSetsPerRequest>${c.maxNumberOfDriverSetsPerRequest}</MaxNumberOfDriverSetsPerRequest>` +
    `<MaxNumberOfPnpHardwareIdsInRequest>${c.maxNumberOfPnpHardwareIdsInRequest}</MaxNumberOfPnpHardwareIdsInRequest>` +
    `<MaxNumberOfUpdatesPerRequest>${c.maxNumberOfUpdatesPerRequest}</MaxNumberOfUpdatesPerRequest>` +
    `<NewConfigAnchor>${t(c.newConfigAnchor)}</NewConfigAnchor><ProtocolVersion>${t(c.protocolVersion)}</ProtocolVersion>` +
    arrayXml('LanguageUpdateList', langs) +
    `<MaxUpdatesPerRequestInGetUpdateDecryptionData>${c.maxUpdatesPerRequestInGetUpdateDecryptionData}</MaxUpdatesPerRequestInGetUpdateDecryptionData>` +
    '</GetConfigDataResult>');
}

export function revisionIdListResponse(r: RevisionIdList): string {
  // 50,000+ identities on a full sync: a plain loop keeps this linear and allocation-light.
  let ids = '';
  for (const id of r.revisions) ids += identityXml('UpdateIdentity', id);
  return response('GetRevisionIdList', `<GetRevisionIdListResult><Anchor>${t(r.anchor)}</Anchor>` +
    (ids ? `<NewRevisions>${ids}</NewRevisions>` : '<NewRevisions />') + '</GetRevisionIdListResult>');
}

/** One ServerSyncUpdateData, blob compressed per {@link writeUpdateBlob}. */
export function updateDataItemXml(u: ServerUpdateData['updates'][number], compressBlobs: boolean): string {
  const digests = u.fileDigests.length
    ? `<FileDigestList>${u.fileDigests.map((d) => `<base64Binary>${t(d)}</base64Binary>`).join('')}</FileDigestList>`
    : '';
  const blob = writeUpdateBlob(u.xml, compressBlobs);
  const body = writesCompressed(u.xml, compressBlobs) ? digests + blob : blob + digests;
  return `<ServerSyncUpdateData>${identityXml('Id', u.identity)}${body}</ServerSyncUpdateData>`;
}

/** UssUrl is unused and WSUS always sends it empty (000014); MUUrl is omitted when there is none. */
export function fileUrlXml(f: ServerUpdateData['fileUrls'][number]): string {
  return `<ServerSyncUrlData><FileDigest>${t(f.digest)}</FileDigest>` +
    (f.muUrl !== null ? `<MUUrl>${t(f.muUrl)}</MUUrl>` : '') +
    (f.ussUrl ? `<UssUrl>${t(f.ussUrl)}</UssUrl>` : '<UssUrl />') + '</ServerSyncUrlData>';
}

export function updateDataResponse(d: ServerUpdateData, compressBlobs: boolean): string {
  return response('GetUpdateData', '<GetUpdateDataResult>' +
    arrayXml('updates', d.updates.map((u) => updateDataItemXml(u, compressBlobs))) +
    arrayXml('fileUrls', d.fileUrls.map(fileUrlXml)) + '</GetUpdateDataResult>');
}

/** ServerDecryptionData; `UpdateId` is an UpdateIdentity on the wire (Appendix A 6.1, ServerSyncUpdateFileDecryption). */
export function decryptionDataResponse(items: readonly UpdateFileDecryption[]): string {
  const xml = items.map((u) => '<ServerSyncUpdateFileDecryption>' +
    identityXml('UpdateId', u.identity) +
    arrayXml('FileDecryptionData', u.files.map((f) => `<ServerSyncFileDecryption><FileDigest>${t(f.digest)}</FileDigest>` +
      (f.decryptionKey !== null ? `<DecryptionKey>${t(f.decryptionKey)}</DecryptionKey>` : '') + '</ServerSyncFileDecryption>')) +
    '</ServerSyncUpdateFileDecryption>');
  return response('GetUpdateDecryptionData', `<GetUpdateDecryptionDataResult>${arrayXml('UpdateFileDecryptionData', xml)}</GetUpdateDecryptionDataResult>`);
}

function deploymentXml(d: SyncDeployment): string {
  return `<ServerSyncDeployment><UpdateId>${t(d.updateId)}</UpdateId><RevisionNumber>${d.revisionNumber}</RevisionNumber>` +
    `<Action>${d.action}</Action><AdminName>${t(d.adminName)}</AdminName>` +
    `<Deadline>${t(d.deadline ?? NO_DEADLINE_WIRE)}</Deadline><IsAssigned>${d.isAssigned}</IsAssigned>` +
    `<GoLiveTime>${t(d.goLiveTime)}</GoLiveTime><DeploymentGuid>${t(d.deploymentGuid)}</DeploymentGuid>` +
    `<TargetGroupId>${t(d.targetGroupId)}</TargetGroupId><DownloadPriority>${d.downloadPriority}</DownloadPriority></ServerSyncDeployment>`;
}

export function deploymentsResponse(d: DeploymentsResult): string {
  const groups = d.groups.map((g) => `<ServerSyncTargetGroup><TargetGroupID>${t(g.id)}</TargetGroupID>` +
    `<ParentGroupId>${t(g.parentId)}</ParentGroupId><Name>${t(g.name)}</Name><IsBuiltin>${g.isBuiltin}</IsBuiltin></ServerSyncTargetGroup>`);
  return response('GetDeployments', `<GetDeploymentsResult><Anchor>${t(d.anchor)}</Anchor>` +
    arrayXml('Groups', groups) + arrayXml('Deployments', d.deployments.map(deploymentXml)) +
    guidsXml('DeadDeployments', d.deadDeployments) + guidsXml('HiddenUpdates', d.hiddenUpdates) +
    guidsXml('AcceptedEulas', d.acceptedEulas) + '</GetDeploymentsResult>');
}

/** DownloadFilesResponse is empty ([MS-WSUSSS] 6.1); ASMX writes it self-closed. */
export const downloadFilesResponse = (): string => `<DownloadFilesResponse xmlns="${SERVER_SYNC_NS}" />`;

export function relatedRevisionsResponse(ids: readonly UpdateIdentity[]): string {
  return response('GetRelatedRevisionsForUpdates',
    arrayXml('GetRelatedRevisionsForUpdatesResult', ids.map((i) => identityXml('UpdateIdentity', i))));
}
