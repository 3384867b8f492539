// Derives the client fragments (MS-WUSP Core / Extended / LocalizedProperties / Eula) from a
// whole update document, the way a real WSUS does. Each rule below is pinned by the real
// fragments in the shared captures (test/fragments-real.test.ts); where no capture exists the
// comment says which source the rule follows.

import type { UpdateFragments } from './update-model.js';
import { DRIVER_NS, UPD_NS } from './msus-namespaces.js';
import { flatten, writeFragment, type FragmentElement } from './fragment-writer.js';
import { UpdateDocumentError } from './update-document-error.js';
import { attribute, childElement, childElements, type XmlElement } from './xml-tree.js';

/**
 * Core `Properties` attributes in the order real WSUS writes them, whatever the document order
 * (the KB2267602 document has AutoSelectOnWebSites first, its Core fragment has it last).
 */
const CORE_PROPERTY_ORDER = ['UpdateType', 'ExplicitlyDeployable', 'AutoSelectOnWebSites', 'OSUpgrade', 'EulaID'] as const;

/**
 * Flags real WSUS leaves out of Core when unset: a category carrying ExplicitlyDeployable="false"
 * gets a bare `<Properties UpdateType="Category" />`. OSUpgrade is treated the same way by
 * analogy (no capture has it).
 */
const CORE_FLAGS_OMITTED_WHEN_FALSE = new Set(['ExplicitlyDeployable', 'AutoSelectOnWebSites', 'OSUpgrade']);

/** Properties attributes that reach neither fragment or only Core (MS-WUSP; PerUser per the reference server). */
const NOT_IN_EXTENDED = new Set([
  'UpdateType',
  'ExplicitlyDeployable',
  'AutoSelectOnWebSites',
  'EulaID',
  'PublicationState',
  'PublisherID',
  'CreationDate',
  'IsPublic',
  'LegacyName',
  'DetectoidType',
  'OSUpgrade',
  'PerUser',
]);

// Keys of the per-language maps; also keeps names like `__proto__` out of plain-object records.
const LANGUAGE = /^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$/;

export function isTrueFlag(value: string | undefined): boolean {
  return value === 'true' || value === '1';
}

function isFalseFlag(value: string): boolean {
  return value === 'false' || value === '0';
}

function coreProperties(props: XmlElement): FragmentElement {
  const attrs: Array<readonly [string, string]> = [];
  for (const name of CORE_PROPERTY_ORDER) {
    const value = attribute(props, name);
    if (value === undefined) continue;
    if (CORE_FLAGS_OMITTED_WHEN_FALSE.has(name) && isFalseFlag(value)) continue;
    attrs.push([name, value]);
  }
  return { name: 'Properties', attrs, content: [] };
}

/**
 * Driver metadata can carry thousands of computer hardware ids and feature scores that only the
 * server's driver ranking uses; the reference server empties `d.WindowsDriverMetaData` in Core and
 * keeps its attributes, which the client needs to match devices (HardwareID, DriverVerDate, ...).
 */
function isDriverMetadata(el: XmlElement, parent: XmlElement | undefined): boolean {
  return el.ns === DRIVER_NS && el.local === 'WindowsDriverMetaData' && parent?.ns === UPD_NS && parent.local === 'Metadata';
}

function deriveCore(root: XmlElement, identity: XmlElement, props: XmlElement): string {
  const parts: FragmentElement[] = [flatten(identity), coreProperties(props)];
  const relationships = childElement(root, UPD_NS, 'Relationships');
  if (relationships) parts.push(flatten(relationships));
  const rules = childElement(root, UPD_NS, 'ApplicabilityRules');
  if (rules) parts.push(flatten(rules, { emptied: isDriverMetadata }));
  return writeFragment(parts);
}

function deriveExtended(root: XmlElement, props: XmlElement): string {
  const flat = flatten(props);
  const parts: FragmentElement[] = [
    { name: 'ExtendedProperties', attrs: flat.attrs.filter(([n]) => !NOT_IN_EXTENDED.has(n)), content: flat.content },
  ];
  const files = childElement(root, UPD_NS, 'Files');
  if (files) parts.push(flatten(files));
  const handlerData = childElement(root, UPD_NS, 'HandlerSpecificData');
  if (handlerData) parts.push(flatten(handlerData));
  return writeFragment(parts);
}

/** The `Language` child of a LocalizedProperties node, as written. */
export function localizedLanguage(lp: XmlElement): string | undefined {
  const lang = childElement(lp, UPD_NS, 'Language')?.text.trim();
  return lang && LANGUAGE.test(lang) ? lang : undefined;
}

export function deriveFragments(root: XmlElement): UpdateFragments {
  const identity = childElement(root, UPD_NS, 'UpdateIdentity');
  if (!identity) throw new UpdateDocumentError('missing UpdateIdentity', 'UpdateIdentity');
  const props = childElement(root, UPD_NS, 'Properties');
  if (!props) throw new UpdateDocumentError('missing Properties', 'Properties');

  const localized: Record<string, string> = {};
  const eula: Record<string, string> = {};
  const collection = childElement(root, UPD_NS, 'LocalizedPropertiesCollection');
  // A repeated language keeps its first node, matching the first-match lookup clients get from WSUS.
  for (const lp of childElements(collection, UPD_NS, 'LocalizedProperties')) {
    const lang = localizedLanguage(lp);
    if (lang !== undefined && !Object.hasOwn(localized, lang)) localized[lang] = writeFragment([flatten(lp)]);
  }
  // No real Eula fragment has been captured: the EulaFile element itself, namespace-free.
  for (const ef of childElements(collection, UPD_NS, 'EulaFile')) {
    const lang = attribute(ef, 'Language')?.trim() ?? '';
    if (LANGUAGE.test(lang) && !Object.hasOwn(eula, lang)) eula[lang] = writeFragment([flatten(ef)]);
  }

  return {
    core: deriveCore(root, identity, props),
    extended: deriveExtended(root, props),
    localized,
    eula,
  };
}
