import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseUpdateDocument } from '../../src/core/catalog/parse-update.js';
import type { UpdateDocumentSource } from '../../src/services/import.service.js';
import type { ServerConfig } from '../../src/config/config.js';
import { child } from '../../src/protocol/xml/xml-element.js';
import { adminHandle, importInto } from './test-server.js';
import { updateInfos, type Exchange } from './captures.js';

// The catalog the conformance replays run against: the 9 real update documents the lab WSUS
// delivered over MS-WSUSSS (read in place from ../shared, never copied into the repository),
// plus minimal stand-ins for the prerequisites those documents name but that are not among
// the 9. The stand-ins replace catalog content the real server had (the Definition Updates
// classification, the Defender product, three Defender detectoids): without them every real
// Defender update would be unsatisfiable and never offered. Each stand-in is the smallest
// document of the right kind: a Category with CategoryInformation of the right CategoryType,
// or a Detectoid, with `IsInstalled True` and no prerequisites of its own. Their Core fragments
// are ours, not Microsoft's, so tests never compare them byte for byte with real responses.
//
// Bundle members that the KB2267602 bundle (a2fef9b0) references but that are not among the
// 9 documents are simply absent: a bundle delivers the members the catalog has, and the
// real responses' UpdateInfos for the missing members have no counterpart here.

const UPD = 'http://schemas.microsoft.com/msus/2002/12/Update';
const LAR = 'http://schemas.microsoft.com/msus/2002/12/LogicalApplicabilityRules';
const CAT = 'http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/Category';

export interface StandIn {
  kind: 'Category' | 'Detectoid';
  categoryType?: 'Product' | 'UpdateClassification';
  /** the real revision number where a real response shows it, else 1 */
  revision: number;
  title: string;
}

/** Every prerequisite the 9 real documents name outside themselves, and what it really is. */
export const STAND_INS: Readonly<Record<string, StandIn>> = {
  // Core seen in wsus-m0/000005 (revision 100): a classification without prerequisites.
  'e0789628-ce08-4437-be74-2495b842f43b': { kind: 'Category', categoryType: 'UpdateClassification', revision: 100, title: 'Definition Updates' },
  '8c3fcc84-7410-4a95-8b89-a166a0190486': { kind: 'Category', categoryType: 'Product', revision: 1, title: 'Microsoft Defender Antivirus' },
  'be4048db-157c-4532-9582-7f05099590c9': { kind: 'Detectoid', revision: 1, title: 'stand-in detectoid be4048db' },
  // Core seen in native flow/000001 (revision 200); the real one also requires 8c3fcc84.
  '0aac58ee-82a0-4452-a7fa-19f68398f1fa': { kind: 'Detectoid', revision: 200, title: 'stand-in detectoid 0aac58ee' },
  '59653007-e2e9-4f71-8525-2ff588527978': { kind: 'Detectoid', revision: 1, title: 'stand-in detectoid 59653007' },
};

export function realDocsDir(captures: string): string {
  return join(captures, 'wsus-m0-wsusss', 'docs');
}

/** The real documents, as import sources that read the shared file at import time. */
export function realDocuments(captures: string): UpdateDocumentSource[] {
  const dir = realDocsDir(captures);
  return readdirSync(dir).filter((f) => f.endsWith('.xml')).sort()
    .map((f) => ({ name: join(dir, f), read: () => readFileSync(join(dir, f), 'utf8') }));
}

export function standInXml(updateId: string, s: StandIn): string {
  const handler = s.kind === 'Category'
    ? `<upd:HandlerSpecificData xsi:type="cat:Category" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><cat:CategoryInformation CategoryType="${s.categoryType}" ProhibitsSubcategories="false" /></upd:HandlerSpecificData>`
    : '';
  return `<upd:Update xmlns:upd="${UPD}" xmlns:lar="${LAR}" xmlns:cat="${CAT}">` +
    `<upd:UpdateIdentity UpdateID="${updateId}" RevisionNumber="${s.revision}" />` +
    `<upd:Properties UpdateType="${s.kind}" DefaultPropertiesLanguage="en" PublicationState="Published" />` +
    `<upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:Language>en</upd:Language><upd:Title>${s.title}</upd:Title></upd:LocalizedProperties></upd:LocalizedPropertiesCollection>` +
    `<upd:ApplicabilityRules><upd:IsInstalled><lar:True /></upd:IsInstalled></upd:ApplicabilityRules>${handler}</upd:Update>`;
}

export interface ConformanceCatalog {
  sources: UpdateDocumentSource[];
  /** update ids (lower case) of the real documents */
  realIds: Set<string>;
  /** update ids of the synthesized stand-ins */
  standInIds: string[];
}

/**
 * The real documents plus one stand-in per missing prerequisite. A missing prerequisite that
 * STAND_INS does not describe is an error: the shared documents changed and this file must say
 * what the new prerequisite really is.
 */
export function conformanceCatalog(captures: string): ConformanceCatalog {
  const real = realDocuments(captures);
  const realIds = new Set<string>();
  const named = new Set<string>();
  for (const src of real) {
    const p = parseUpdateDocument(src.read());
    realIds.add(p.identity.updateId.toLowerCase());
    for (const clause of p.prerequisites) for (const id of clause.updateIds) named.add(id.toLowerCase());
  }
  const missing = [...named].filter((id) => !realIds.has(id)).sort();
  const unknown = missing.filter((id) => !STAND_INS[id]);
  if (unknown.length) throw new Error(`prerequisites without a stand-in description: ${unknown.join(', ')}`);
  const standIns = missing.map((id) => ({ name: `stand-in:${id}`, read: () => standInXml(id, STAND_INS[id]!) }));
  return { sources: [...real, ...standIns], realIds, standInIds: missing };
}

/**
 * Imports the catalog into a server's data directory (before it starts) and hands our revision
 * ids to `ids`; returns the SHA-1 digests (base64) of each revision's files.
 */
export function importConformanceCatalog(config: ServerConfig, catalog: ConformanceCatalog,
  ids: RevisionMap): Map<number, string[]> {
  const imported = importInto(config, catalog.sources);
  if (imported.failed) throw new Error(`conformance catalog import failed: ${JSON.stringify(imported.failures)}`);
  const h = adminHandle(config);
  try {
    const revisions = h.catalog.allRevisionIds();
    ids.addOurs(revisions);
    return new Map(revisions.map((r) => [r.id, h.catalog.files(r.id).map((f) => f.sha1)]));
  } finally {
    h.close();
  }
}

/**
 * Revision ids are server-local: the real server's and ours never agree. The bridge is the
 * UpdateID in each Core fragment. Real ids come from every real SyncUpdates answer of the
 * capture sets (native and driver runs talked to the same lab WSUS: both GetConfig answers
 * carry the same LastChange, and ids that appear in both runs name the same update).
 */
export class RevisionMap {
  readonly realToUpdate = new Map<number, string>();
  readonly ourToUpdate = new Map<number, string>();
  readonly updateToOur = new Map<string, number>();
  /** real ids the last translate() could not map (real catalog content we do not have) */
  dropped = 0;

  addReal(ex: Exchange): void {
    for (const [updateId, ui] of updateInfos(ex.doc)) {
      const id = Number(child(ui, 'ID')!.text);
      const known = this.realToUpdate.get(id);
      if (known && known !== updateId) throw new Error(`${ex.id}: real revision ${id} names ${known} and ${updateId}`);
      this.realToUpdate.set(id, updateId);
    }
  }

  addOurs(revisions: ReadonlyArray<{ id: number; updateId: string }>): void {
    for (const r of revisions) {
      this.ourToUpdate.set(r.id, r.updateId.toLowerCase());
      this.updateToOur.set(r.updateId.toLowerCase(), r.id);
    }
  }

  /** Real ids -> ours; ids of updates we do not have are dropped (and counted). */
  translate(real: readonly number[]): number[] {
    const out: number[] = [];
    this.dropped = 0;
    for (const id of real) {
      const ours = this.updateToOur.get(this.realToUpdate.get(id) ?? '');
      if (ours === undefined) this.dropped++;
      else out.push(ours);
    }
    return out;
  }
}
