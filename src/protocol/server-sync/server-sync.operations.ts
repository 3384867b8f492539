import { invalidParameters } from '../../core/errors.js';
import { child, children } from '../xml/xml-element.js';
import type { OperationHandler } from '../client/operation-context.js';
import {
  base64List, cookieData, given, guidList, identityList, optionalText, optionalToken, readFilter,
} from './server-sync-readers.js';
import {
  authConfigResponse, configDataResponse, cookieResponse, decryptionDataResponse, deploymentsResponse,
  downloadFilesResponse, relatedRevisionsResponse, revisionIdListResponse, updateDataResponse,
} from './server-sync-writers.js';
import { upstreamRole } from './role-guard.js';

// ServerSyncWebService ([MS-WSUSSS] 3.1.4): parse, call one UpstreamRoleService function,
// serialize. The cookie is opened before any other parameter is looked at, so a request
// without one gets InvalidCookie whatever else is wrong with it (capture 000019).

/** DownloadFiles takes at most 100 digests ([MS-WSUSSS] 3.1.4.16); the service enforces it, the parser bounds it. */
const MAX_DIGESTS = 1000;

export const getAuthConfig: OperationHandler = (_op, ctx) => authConfigResponse(upstreamRole(ctx).authConfig().lastChange);

export const getCookie: OperationHandler = (op, ctx) => {
  const role = upstreamRole(ctx);
  const auth = child(op, 'authCookies');
  const authCookies = given(auth)
    ? children(auth, 'AuthorizationCookie').filter(given).map((a) => ({
      plugInId: optionalText(a, 'PlugInId')?.trim() ?? '',
      cookieData: optionalToken(a, 'CookieData') ?? '',
    }))
    : [];
  const protocolVersion = optionalText(op, 'protocolVersion')?.trim();
  return cookieResponse(role.getCookie(authCookies, cookieData(op, 'oldCookie'), protocolVersion));
};

export const getConfigData: OperationHandler = (op, ctx) => {
  const role = upstreamRole(ctx);
  const s = role.open(cookieData(op));
  return configDataResponse(role.configData(s, optionalToken(op, 'configAnchor')));
};

export const getRevisionIdList: OperationHandler = (op, ctx) => {
  const role = upstreamRole(ctx);
  const s = role.open(cookieData(op));
  return revisionIdListResponse(role.revisionIdList(s, readFilter(op, ctx.limits.maxArrayItems)));
};

export const getUpdateData: OperationHandler = (op, ctx) => {
  const role = upstreamRole(ctx);
  const s = role.open(cookieData(op));
  const ids = identityList(op, 'updateIds', 'updateIds', ctx.limits.maxArrayItems);
  return updateDataResponse(role.updateData(s, ids), ctx.services.compressBlobs === true);
};

export const getUpdateDecryptionData: OperationHandler = (op, ctx) => {
  const role = upstreamRole(ctx);
  const s = role.open(cookieData(op));
  const ids = identityList(op, 'updateIds', 'updateIds', ctx.limits.maxArrayItems);
  return decryptionDataResponse(role.decryptionData(s, ids));
};

export const getDeployments: OperationHandler = (op, ctx) => {
  const role = upstreamRole(ctx);
  const s = role.open(cookieData(op));
  return deploymentsResponse(role.deployments(s, optionalToken(op, 'deploymentAnchor'), optionalToken(op, 'syncAnchor')));
};

export const downloadFiles: OperationHandler = (op, ctx) => {
  const role = upstreamRole(ctx);
  const s = role.open(cookieData(op));
  // SHA-1 digests: exactly 20 bytes each.
  role.downloadFiles(s, base64List(op, 'fileDigestList', 'fileDigestList', MAX_DIGESTS, 20));
  return downloadFilesResponse();
};

export const getRelatedRevisionsForUpdates: OperationHandler = (op, ctx) => {
  const role = upstreamRole(ctx);
  const s = role.open(cookieData(op));
  const ids = guidList(op, 'updateIDs', 'updateIDs', ctx.limits.maxArrayItems);
  if (ids === null) throw invalidParameters('updateIDs');
  return relatedRevisionsResponse(role.relatedRevisions(s, ids));
};
