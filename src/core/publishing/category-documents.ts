// The vendor (Company) and product (Product, child of the Company) categories a published update
// sits under, and a stand-in classification category, in the shape of Microsoft's own category
// documents (shared/captures/wsus-m0-wsusss/docs: Microsoft company, OOBE ZDP product).

import { CLASSIFICATION_IDS, CLASSIFICATION_TITLES, type ClassificationKey } from '../../fixtures/well-known-ids.js';
import { LOCAL_PUBLISHER_ID } from './category-ids.js';
import { NS, XSI, attrs, categoryPrerequisites, identity, localized, root } from './xml-parts.js';

/** Category revisions never change: a category is written once and reused by every later publish. */
export const CATEGORY_REVISION = 100;
/**
 * A stand-in classification loses to any revision Microsoft publishes (theirs are 100 and up), so a
 * later sync replaces it with the real document under the same well-known id.
 */
export const STAND_IN_CLASSIFICATION_REVISION = 1;

export interface CategoryDocument {
  updateId: string;
  xml: string;
}

interface CategoryInput {
  updateId: string;
  revisionNumber: number;
  title: string;
  language: string;
  creationDate: Date;
  parentId?: string;
  properties: readonly (readonly [string, string])[];
  information: readonly (readonly [string, string])[];
}

function categoryDocument(c: CategoryInput): string {
  const props = attrs([
    ['DefaultPropertiesLanguage', c.language], ...c.properties, ['Handler', NS.cat], ['PublicationState', 'Published'],
    ['CreationDate', c.creationDate.toISOString()], ['PublisherID', LOCAL_PUBLISHER_ID],
  ]);
  return root(['lar', 'cat', 'upd'],
    identity(c.updateId, c.revisionNumber) +
    `<upd:Properties${props}></upd:Properties>` +
    localized(c.language, [['Title', c.title], ['Description', c.title]]) +
    (c.parentId ? `<upd:Relationships>${categoryPrerequisites([c.parentId])}</upd:Relationships>` : '') +
    '<upd:ApplicabilityRules><upd:IsInstalled><lar:True /></upd:IsInstalled></upd:ApplicabilityRules>' +
    `<upd:HandlerSpecificData xsi:type="cat:Category" xmlns:xsi="${XSI}"><cat:CategoryInformation${attrs(c.information)} /></upd:HandlerSpecificData>`,
  );
}

export function vendorCategoryDocument(id: string, name: string, language: string, creationDate: Date): CategoryDocument {
  return {
    updateId: id,
    xml: categoryDocument({
      updateId: id, revisionNumber: CATEGORY_REVISION, title: name, language, creationDate,
      properties: [['UpdateType', 'Category']],
      information: [['CategoryType', 'Company'], ['ProhibitsSubcategories', 'false'], ['ProhibitsUpdates', 'true']],
    }),
  };
}

export function productCategoryDocument(id: string, name: string, vendorId: string, language: string, creationDate: Date): CategoryDocument {
  return {
    updateId: id,
    xml: categoryDocument({
      updateId: id, revisionNumber: CATEGORY_REVISION, title: name, language, creationDate, parentId: vendorId,
      properties: [['UpdateType', 'Category'], ['ExplicitlyDeployable', 'false'], ['PerUser', 'false']],
      information: [['CategoryType', 'Product'], ['ProhibitsSubcategories', 'true'], ['ExcludedByDefault', 'false']],
    }),
  };
}

/** For a catalog that has never synced the classification a published update names. */
export function classificationCategoryDocument(key: ClassificationKey, creationDate = new Date(Date.UTC(2004, 0, 1))): CategoryDocument {
  const id = CLASSIFICATION_IDS[key];
  return {
    updateId: id,
    xml: categoryDocument({
      updateId: id, revisionNumber: STAND_IN_CLASSIFICATION_REVISION, title: CLASSIFICATION_TITLES[key], language: 'en', creationDate,
      properties: [['UpdateType', 'Category']],
      information: [['CategoryType', 'UpdateClassification'], ['ProhibitsSubcategories', 'true'], ['ProhibitsUpdates', 'false']],
    }),
  };
}
