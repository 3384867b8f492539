import { parseUpdateDocument } from '../../core/catalog/parse-update.js';
import type { ParsedUpdate } from '../../core/catalog/update-model.js';
import { CLASSIFICATION_IDS, CLASSIFICATION_TITLES, type ClassificationKey } from '../../fixtures/well-known-ids.js';
import type { PublishedUpdatesStore } from '../../store/published-updates.store.js';

// The category documents a published update needs on the catalog (vendor Company, Product, and
// the classification when this catalog lacks it): written when absent, re-written as the next
// revision when their content changed, left alone otherwise, so publishing the same vendor and
// product again does not churn every client's and downstream's category cache.

export interface CategoryDocument {
  updateId: string;
  xml: string;
  parsed: ParsedUpdate;
}

const ROOT_IDENTITY = /(<(?:upd:)?UpdateIdentity\b[^>]*?\bRevisionNumber=")(\d+)(")/;

/** The document without what changes on every generation (root revision number, creation date). */
function comparable(xml: string): string {
  return xml.replace(ROOT_IDENTITY, '$1#$3').replace(/\bCreationDate="[^"]*"/, 'CreationDate="#"');
}

/** The same document as revision `revisionNumber` (the root identity is the first UpdateIdentity). */
export function withRevisionNumber(xml: string, revisionNumber: number): string {
  if (!ROOT_IDENTITY.test(xml)) throw new Error('category document without a root UpdateIdentity');
  return xml.replace(ROOT_IDENTITY, `$1${revisionNumber}$3`);
}

export function categoryDocumentsToWrite(published: PublishedUpdatesStore, docs: readonly CategoryDocument[]): CategoryDocument[] {
  const out: CategoryDocument[] = [];
  for (const d of docs) {
    const current = published.catalogCurrent(d.updateId);
    if (!current) {
      out.push(d);
      continue;
    }
    if (comparable(current.document) === comparable(d.xml)) continue;
    const revisionNumber = Math.max((published.maxRevision(d.updateId) ?? 0) + 1, d.parsed.identity.revisionNumber);
    if (revisionNumber === d.parsed.identity.revisionNumber) {
      out.push(d);
    } else {
      const xml = withRevisionNumber(d.xml, revisionNumber);
      out.push({ updateId: d.updateId, xml, parsed: parseUpdateDocument(xml) });
    }
  }
  return out;
}

const CLASSIFICATION_BY_ID = new Map(
  (Object.entries(CLASSIFICATION_IDS) as Array<[ClassificationKey, string]>).map(([k, id]) => [id, CLASSIFICATION_TITLES[k]]),
);

/** Vendor, product and classification names of a published update, read from its documents. */
export function describeCategories(update: ParsedUpdate, categories: readonly ParsedUpdate[]): { vendor: string; product: string; classification: string } {
  const byType = (t: string) => categories.find((c) => c.categoryType === t)?.title;
  const prereqIds = update.prerequisites.filter((p) => p.isCategory).flatMap((p) => p.updateIds.map((i) => i.toLowerCase()));
  const classification = prereqIds.map((id) => CLASSIFICATION_BY_ID.get(id) ?? categories.find((c) => c.identity.updateId === id && c.categoryType === 'UpdateClassification')?.title)
    .find((t) => t !== undefined);
  return { vendor: byType('Company') ?? '', product: byType('Product') ?? '', classification: classification ?? byType('UpdateClassification') ?? '' };
}
