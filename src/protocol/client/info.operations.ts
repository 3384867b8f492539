import { invalidParameters } from '../../core/errors.js';
import { escapeText } from '../xml/escape.js';
import { child } from '../xml/xml-element.js';
import { CLIENT_NS } from '../soap/namespaces.js';
import { base64, cookieData, identities, intArray, present, stringArray } from './request-readers.js';
import { cookieXml, fileLocationsXml, intArrayXml } from './response-writers.js';
import type { OperationHandler } from './operation-context.js';
import type { ExtendedInfoResult } from '../../services/update-info.service.js';

function updatesXml(r: ExtendedInfoResult): string {
  if (r.updates.length === 0) return '';
  return '<Updates>' + r.updates.map((u) => `<Update><ID>${u.revisionId}</ID><Xml>${u.xmlEscaped}</Xml></Update>`).join('') + '</Updates>';
}

function infoTypes(op: Parameters<OperationHandler>[0], max: number): string[] {
  const t = stringArray(op, 'infoTypes', 'infoTypes', max);
  if (!t || t.length === 0) throw invalidParameters('infoTypes');
  return t.map((s) => s.trim());
}

export const getExtendedUpdateInfo: OperationHandler = (op, ctx) => {
  ctx.services.sessions.authenticate(cookieData(op, 'cookie'), { checkConfig: false });
  const max = ctx.limits.maxArrayItems;
  const ids = intArray(op, 'revisionIDs', 'revisionIDs', max);
  if (!present(child(op, 'revisionIDs'))) throw invalidParameters('revisionIDs');
  const r = ctx.services.info.getExtendedUpdateInfo(ids, infoTypes(op, max), stringArray(op, 'locales', 'locales', max), ctx.host);
  return `<GetExtendedUpdateInfoResponse xmlns="${CLIENT_NS}"><GetExtendedUpdateInfoResult>` +
    updatesXml(r) + fileLocationsXml(r.fileLocations) + intArrayXml('OutOfScopeRevisionIDs', r.outOfScope) +
    '</GetExtendedUpdateInfoResult></GetExtendedUpdateInfoResponse>';
};

export const getExtendedUpdateInfo2: OperationHandler = (op, ctx) => {
  ctx.services.sessions.authenticate(cookieData(op, 'cookie'), { checkConfig: false });
  const max = ctx.limits.maxArrayItems;
  const ids = identities(op, 'updateIDs', 'updateIDs', max);
  const r = ctx.services.info.getExtendedUpdateInfo2(ids, infoTypes(op, max), stringArray(op, 'locales', 'locales', max), ctx.host);
  // None of our content is encrypted, so each update reports HasEncryptedFiles=false.
  const details = ids.length
    ? '<UpdateEncryptionDetails>' + ids.map((i) =>
      `<UpdateEncryptionDetail><UpdateIdentity><UpdateID>${escapeText(i.updateId)}</UpdateID><RevisionNumber>${i.revisionNumber}</RevisionNumber></UpdateIdentity><HasEncryptedFiles>false</HasEncryptedFiles></UpdateEncryptionDetail>`).join('') +
      '</UpdateEncryptionDetails>'
    : '';
  return `<GetExtendedUpdateInfo2Response xmlns="${CLIENT_NS}"><GetExtendedUpdateInfo2Result>` +
    updatesXml(r) + fileLocationsXml(r.fileLocations) + details +
    '</GetExtendedUpdateInfo2Result></GetExtendedUpdateInfo2Response>';
};

export const getFileLocations: OperationHandler = (op, ctx) => {
  const cookie = ctx.services.sessions.authenticate(cookieData(op, 'cookie'), { checkConfig: false });
  const digests = stringArray(op, 'fileDigests', 'fileDigests', ctx.limits.maxArrayItems);
  if (!digests) throw invalidParameters('fileDigests');
  const locations = ctx.services.info.getFileLocations(digests.map((d) => base64(d, 'fileDigests', 20)), ctx.host);
  return `<GetFileLocationsResponse xmlns="${CLIENT_NS}"><GetFileLocationsResult>${fileLocationsXml(locations)}` +
    `${cookieXml('NewCookie', ctx.services.sessions.renew(cookie, cookie.watermark))}</GetFileLocationsResult></GetFileLocationsResponse>`;
};
