// Ingest entry point: one full `<upd:Update>` document (as MS-WSUSSS GetUpdateData delivers it)
// becomes a ParsedUpdate, fragments included, so no request path ever re-parses metadata.
// Documents come from an upstream server and are treated as hostile: see parseXmlTree for the
// size, DTD and depth limits, and update-fields.ts for field validation.

import type { CategoryType, ParsedUpdate, UpdateType } from './update-model.js';
import { UPD_NS } from './msus-namespaces.js';
import { deriveFragments, isTrueFlag, localizedLanguage } from './derive-fragments.js';
import { UpdateDocumentError } from './update-document-error.js';
import { readBundledUpdates, readDriver, readFiles, readIdentity, readPrerequisites, readSupersededIds } from './update-fields.js';
import { attribute, childElement, childElements, parseXmlTree, type XmlElement } from './xml-tree.js';

export { UpdateDocumentError } from './update-document-error.js';

export interface UpdateDocumentLimits {
  /** UTF-8 size cap; real cumulative-update documents reach tens of MB */
  maxBytes?: number;
  /** element nesting cap; real rule trees stay far below it */
  maxDepth?: number;
}

export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_DEPTH = 256;

const UPDATE_TYPES: ReadonlySet<string> = new Set<UpdateType>(['Software', 'Driver', 'Category', 'Detectoid']);
const CATEGORY_TYPES: ReadonlySet<string> = new Set<CategoryType>(['Company', 'ProductFamily', 'Product', 'UpdateClassification']);

function categoryTypeOf(root: XmlElement): CategoryType | undefined {
  const data = childElement(root, UPD_NS, 'HandlerSpecificData');
  // The handler namespace varies with the schema revision; the local name is what identifies it.
  const info = data?.children.find((c) => c.local === 'CategoryInformation');
  const value = attribute(info, 'CategoryType');
  return value !== undefined && CATEGORY_TYPES.has(value) ? (value as CategoryType) : undefined;
}

/** The default language's strings, else English, else whatever comes first (MS-WUSP fallback). */
function pickLocalized(root: XmlElement, defaultLanguage: string): XmlElement | undefined {
  const collection = childElement(root, UPD_NS, 'LocalizedPropertiesCollection');
  const all = childElements(collection, UPD_NS, 'LocalizedProperties');
  const byLanguage = (lang: string): XmlElement | undefined =>
    all.find((lp) => localizedLanguage(lp)?.toLowerCase() === lang.toLowerCase());
  return byLanguage(defaultLanguage) ?? byLanguage('en') ?? all[0];
}

function childTexts(el: XmlElement, local: string): string[] {
  return childElements(el, UPD_NS, local)
    .map((c) => c.text.trim())
    .filter((t) => t !== '');
}

export function parseUpdateDocument(xml: string, limits: UpdateDocumentLimits = {}): ParsedUpdate {
  const root = parseXmlTree(xml, {
    maxBytes: limits.maxBytes ?? DEFAULT_MAX_BYTES,
    maxDepth: limits.maxDepth ?? DEFAULT_MAX_DEPTH,
  });
  if (root.ns !== UPD_NS || root.local !== 'Update') {
    const found = root.ns ? `{${root.ns}}${root.local}` : root.local;
    throw new UpdateDocumentError(`root element must be {${UPD_NS}}Update, found ${found}`, 'Update');
  }
  const identityEl = childElement(root, UPD_NS, 'UpdateIdentity');
  if (!identityEl) throw new UpdateDocumentError('missing UpdateIdentity', 'UpdateIdentity');
  const identity = readIdentity(identityEl, 'UpdateIdentity', true);

  const props = childElement(root, UPD_NS, 'Properties');
  if (!props) throw new UpdateDocumentError('missing Properties', 'Properties');
  const updateType = attribute(props, 'UpdateType');
  if (updateType === undefined || !UPDATE_TYPES.has(updateType)) {
    throw new UpdateDocumentError(
      `Properties/@UpdateType must be Software, Driver, Category or Detectoid, got ${updateType === undefined ? 'nothing' : `'${updateType.slice(0, 64)}'`}`,
      'Properties/@UpdateType',
    );
  }

  const defaultLanguage = attribute(props, 'DefaultPropertiesLanguage')?.trim() || 'en';
  const localized = pickLocalized(root, defaultLanguage);
  const relationships = childElement(root, UPD_NS, 'Relationships');

  const parsed: ParsedUpdate = {
    identity,
    updateType: updateType as UpdateType,
    // Absent means never withdrawn: only Microsoft's own documents set it explicitly.
    publicationState: attribute(props, 'PublicationState') ?? 'Published',
    defaultLanguage,
    title: localized ? (childElement(localized, UPD_NS, 'Title')?.text ?? '') : '',
    kbArticleIds: childTexts(props, 'KBArticleID'),
    explicitlyDeployable: isTrueFlag(attribute(props, 'ExplicitlyDeployable')),
    autoSelectOnWebSites: isTrueFlag(attribute(props, 'AutoSelectOnWebSites')),
    prerequisites: readPrerequisites(relationships),
    bundledUpdates: readBundledUpdates(relationships),
    supersededUpdateIds: readSupersededIds(relationships),
    files: readFiles(root),
    fragments: deriveFragments(root),
  };

  if (updateType === 'Category') {
    const categoryType = categoryTypeOf(root);
    if (categoryType) parsed.categoryType = categoryType;
  }
  const creationDate = attribute(props, 'CreationDate');
  if (creationDate !== undefined) parsed.creationDate = creationDate;
  const description = localized ? childElement(localized, UPD_NS, 'Description')?.text : undefined;
  if (description !== undefined) parsed.description = description;
  const msrcSeverity = attribute(props, 'MsrcSeverity');
  if (msrcSeverity !== undefined) parsed.msrcSeverity = msrcSeverity;
  const handler = attribute(props, 'Handler');
  if (handler !== undefined) parsed.handler = handler;
  const driver = readDriver(childElement(root, UPD_NS, 'ApplicabilityRules'));
  if (driver) parsed.driver = driver;
  return parsed;
}
