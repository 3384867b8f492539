import { escapeText } from '../xml/escape.js';
import type { Deployment } from '../../core/scan/deployment.js';
import type { CookieOut } from '../../services/client-session.service.js';
import type { UpdateInfoOut } from '../../services/scan.service.js';
import type { FileLocation } from '../../services/update-info.service.js';

// Serializers for the shared client-service types. Empty arrays are omitted (real WSUS never
// sends them empty) and element order follows the WSDL sequences exactly.

export function intArrayXml(name: string, ids: readonly number[]): string {
  if (ids.length === 0) return '';
  let s = `<${name}>`;
  for (const id of ids) s += `<int>${id}</int>`;
  return `${s}</${name}>`;
}

export function guidArrayXml(name: string, ids: readonly string[]): string {
  if (ids.length === 0) return '';
  return `<${name}>${ids.map((g) => `<guid>${escapeText(g)}</guid>`).join('')}</${name}>`;
}

export function cookieXml(name: string, c: CookieOut): string {
  return `<${name}><Expiration>${c.expiration}</Expiration><EncryptedData>${c.encryptedData}</EncryptedData></${name}>`;
}

/**
 * Exactly ID, Action, [Deadline], IsAssigned, LastChangeTime (a date), AutoSelect, AutoDownload,
 * SupersedenceBehavior: the real shape, with Deadline where the WSDL sequence puts it.
 */
export function deploymentXml(d: Deployment): string {
  return `<Deployment><ID>${d.id}</ID><Action>${d.action}</Action>` +
    (d.deadline ? `<Deadline>${escapeText(d.deadline)}</Deadline>` : '') +
    `<IsAssigned>${d.isAssigned}</IsAssigned><LastChangeTime>${d.lastChangeDate}</LastChangeTime>` +
    '<AutoSelect>0</AutoSelect><AutoDownload>0</AutoDownload><SupersedenceBehavior>0</SupersedenceBehavior></Deployment>';
}

export function updateInfoXml(u: UpdateInfoOut): string {
  return `<UpdateInfo><ID>${u.revisionId}</ID>${deploymentXml(u.deployment)}<IsLeaf>${u.isLeaf}</IsLeaf>` +
    (u.xmlEscaped !== undefined ? `<Xml>${u.xmlEscaped}</Xml>` : '') + '</UpdateInfo>';
}

export function updateInfoArrayXml(name: string, items: readonly UpdateInfoOut[]): string {
  if (items.length === 0) return '';
  let s = `<${name}>`;
  for (const u of items) s += updateInfoXml(u);
  return `${s}</${name}>`;
}

export function fileLocationsXml(locations: readonly FileLocation[]): string {
  if (locations.length === 0) return '';
  return '<FileLocations>' + locations.map((l) =>
    `<FileLocation><FileDigest>${l.digest}</FileDigest><Url>${escapeText(l.url)}</Url></FileLocation>`).join('') + '</FileLocations>';
}
