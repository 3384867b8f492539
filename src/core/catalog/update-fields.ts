// Typed, validated reads of the individual update-document fields the model needs. Every value
// that later drives a decision (ids, revisions, sizes, digests) is checked here so that nothing
// malformed from an upstream reaches the store; failures name the field.

import type { DriverInfo, PrerequisiteClause, UpdateFile, UpdateIdentity } from './update-model.js';
import { DRIVER_NS, UPD_NS } from './msus-namespaces.js';
import { UpdateDocumentError } from './update-document-error.js';
import { attribute, childElement, childElements, descendants, type XmlElement } from './xml-tree.js';
import { isTrueFlag } from './derive-fragments.js';

const GUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;
const UNSIGNED = /^[0-9]{1,16}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const INT32_MAX = 2_147_483_647;

export function requireGuid(value: string | undefined, field: string): string {
  if (value === undefined || !GUID.test(value)) {
    throw new UpdateDocumentError(`${field} must be a GUID, got ${describe(value)}`, field);
  }
  return value.toLowerCase();
}

export function requireRevision(value: string | undefined, field: string): number {
  const n = value !== undefined && UNSIGNED.test(value) ? Number(value) : Number.NaN;
  if (!(n <= INT32_MAX)) {
    throw new UpdateDocumentError(`${field} must be a non-negative 32-bit integer, got ${describe(value)}`, field);
  }
  return n;
}

function requireSize(value: string | undefined, field: string): number {
  const n = value !== undefined && UNSIGNED.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n)) {
    throw new UpdateDocumentError(`${field} must be a non-negative integer, got ${describe(value)}`, field);
  }
  return n;
}

/** Base64 of exactly `bytes` bytes, in canonical spelling (clients compare the string). */
function requireDigest(value: string | undefined, bytes: number, field: string): string {
  const ok = value !== undefined && BASE64.test(value) && Buffer.from(value, 'base64').length === bytes;
  if (!ok) {
    throw new UpdateDocumentError(`${field} must be base64 of ${bytes} bytes, got ${describe(value)}`, field);
  }
  return value;
}

function describe(value: string | undefined): string {
  return value === undefined ? 'nothing' : `'${value.slice(0, 64)}'`;
}

export function readIdentity(el: XmlElement, field: string, withRevision: boolean): UpdateIdentity {
  const updateId = requireGuid(attribute(el, 'UpdateID'), `${field}/@UpdateID`);
  const revisionNumber = withRevision ? requireRevision(attribute(el, 'RevisionNumber'), `${field}/@RevisionNumber`) : 0;
  return { updateId, revisionNumber };
}

/** CNF: the clauses are ANDed, the members of one clause ORed. */
export function readPrerequisites(relationships: XmlElement | undefined): PrerequisiteClause[] {
  const clauses: PrerequisiteClause[] = [];
  const base = 'Relationships/Prerequisites';
  for (const prereqs of childElements(relationships, UPD_NS, 'Prerequisites')) {
    for (const c of prereqs.children) {
      if (c.ns !== UPD_NS) continue;
      if (c.local === 'UpdateIdentity') {
        clauses.push({ updateIds: [readIdentity(c, `${base}/UpdateIdentity`, false).updateId], isCategory: false });
      } else if (c.local === 'AtLeastOne') {
        const members = childElements(c, UPD_NS, 'UpdateIdentity');
        if (members.length === 0) throw new UpdateDocumentError('empty AtLeastOne prerequisite', `${base}/AtLeastOne`);
        const updateIds = members.map((m) => readIdentity(m, `${base}/AtLeastOne/UpdateIdentity`, false).updateId);
        clauses.push({ updateIds, isCategory: isTrueFlag(attribute(c, 'IsCategory')) });
      }
    }
  }
  return clauses;
}

export function readBundledUpdates(relationships: XmlElement | undefined): UpdateIdentity[] {
  const out: UpdateIdentity[] = [];
  const base = 'Relationships/BundledUpdates';
  for (const bundled of childElements(relationships, UPD_NS, 'BundledUpdates')) {
    for (const c of bundled.children) {
      if (c.ns !== UPD_NS) continue;
      if (c.local === 'UpdateIdentity') out.push(readIdentity(c, `${base}/UpdateIdentity`, true));
      else if (c.local === 'AtLeastOne') {
        for (const m of childElements(c, UPD_NS, 'UpdateIdentity')) out.push(readIdentity(m, `${base}/AtLeastOne/UpdateIdentity`, true));
      }
    }
  }
  return out;
}

export function readSupersededIds(relationships: XmlElement | undefined): string[] {
  const out: string[] = [];
  for (const s of childElements(relationships, UPD_NS, 'SupersededUpdates')) {
    for (const m of childElements(s, UPD_NS, 'UpdateIdentity')) {
      out.push(readIdentity(m, 'Relationships/SupersededUpdates/UpdateIdentity', false).updateId);
    }
  }
  return out;
}

export function readFile(el: XmlElement, base: string, isEula: boolean): UpdateFile {
  const fileName = attribute(el, 'FileName');
  if (!fileName) throw new UpdateDocumentError(`${base}/@FileName is missing`, `${base}/@FileName`);
  const file: UpdateFile = {
    fileName,
    size: requireSize(attribute(el, 'Size'), `${base}/@Size`),
    sha1: requireDigest(attribute(el, 'Digest'), 20, `${base}/@Digest`),
  };
  for (const d of childElements(el, UPD_NS, 'AdditionalDigest')) {
    if (attribute(d, 'Algorithm') === 'SHA256' && file.sha256 === undefined) {
      file.sha256 = requireDigest(d.text.trim(), 32, `${base}/AdditionalDigest`);
    }
  }
  const modified = attribute(el, 'Modified');
  if (modified !== undefined) file.modified = modified;
  const patchingType = attribute(el, 'PatchingType');
  if (patchingType !== undefined) file.patchingType = patchingType;
  if (isEula) file.isEula = true;
  return file;
}

export function readFiles(root: XmlElement): UpdateFile[] {
  const files: UpdateFile[] = [];
  for (const f of childElements(childElement(root, UPD_NS, 'Files'), UPD_NS, 'File')) files.push(readFile(f, 'Files/File', false));
  const collection = childElement(root, UPD_NS, 'LocalizedPropertiesCollection');
  for (const e of childElements(collection, UPD_NS, 'EulaFile')) {
    files.push(readFile(e, 'LocalizedPropertiesCollection/EulaFile', true));
  }
  return files;
}

const DRIVER_FIELDS = [
  ['Class', 'driverClass'],
  ['Manufacturer', 'manufacturer'],
  ['Provider', 'provider'],
  ['Model', 'model'],
  ['DriverVerDate', 'driverVerDate'],
  ['DriverVerVersion', 'driverVerVersion'],
] as const;

/**
 * A driver revision may describe several devices (one WindowsDriverMetaData each): all hardware
 * ids are collected (first spelling kept; Windows compares them case-insensitively), the other
 * fields come from the first element that has them.
 */
export function readDriver(rules: XmlElement | undefined): DriverInfo | undefined {
  if (!rules) return undefined;
  const metas = descendants(rules, DRIVER_NS, 'WindowsDriverMetaData');
  if (metas.length === 0) return undefined;
  const driver: DriverInfo = { hardwareIds: [] };
  const seen = new Set<string>();
  for (const m of metas) {
    const hwid = attribute(m, 'HardwareID')?.trim();
    if (hwid && !seen.has(hwid.toLowerCase())) {
      seen.add(hwid.toLowerCase());
      driver.hardwareIds.push(hwid);
    }
    for (const [attr, key] of DRIVER_FIELDS) {
      const v = attribute(m, attr);
      if (v !== undefined && driver[key] === undefined) driver[key] = v;
    }
  }
  return driver;
}
