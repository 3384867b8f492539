import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { generateCatalog, writeCatalog, type CatalogSummary, type GeneratedDocument } from '../src/fixtures/catalog-generator.js';
import { CLASSIFICATION_IDS, MICROSOFT_COMPANY_ID, WINDOWS_PRODUCT_FAMILY_ID } from '../src/fixtures/well-known-ids.js';

const ARRAYS = new Set(['UpdateIdentity', 'AtLeastOne', 'LocalizedProperties', 'File', 'EulaFile', 'AdditionalDigest']);
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => ARRAYS.has(name),
});

type Node = Record<string, any>;

interface FileRef {
  fileName: string;
  sha1: string;
  sha256: string;
  size: number;
  language?: string;
}

interface ParsedDoc {
  index: number;
  fileName: string;
  xml: string;
  updateId: string;
  revision: number;
  updateType: string;
  categoryType?: string;
  handlerType?: string;
  publicationState: string;
  explicitlyDeployable: boolean;
  msrcSeverity?: string;
  bare: string[];
  categoryClauses: string[][];
  plainClauses: string[][];
  bundled: { id: string; revision: number }[];
  superseded: string[];
  files: FileRef[];
  eulaFiles: FileRef[];
  titles: Record<string, string>;
  rulesLength: number;
}

const ids = (nodes: Node[] | undefined): string[] => (nodes ?? []).map((n) => String(n['@_UpdateID']).toLowerCase());

function fileRefs(nodes: Node[] | undefined): FileRef[] {
  return (nodes ?? []).map((f) => ({
    fileName: f['@_FileName'],
    sha1: f['@_Digest'],
    sha256: (f.AdditionalDigest as Node[]).find((d) => d['@_Algorithm'] === 'SHA256')!['#text'],
    size: Number(f['@_Size']),
    language: f['@_Language'],
  }));
}

function parseDoc(doc: GeneratedDocument, index: number): ParsedDoc {
  const u: Node = parser.parse(doc.xml).Update;
  const props: Node = u.Properties;
  const prereqs: Node = u.Relationships?.Prerequisites ?? {};
  const clauses: Node[] = prereqs.AtLeastOne ?? [];
  const titles: Record<string, string> = {};
  for (const lp of (u.LocalizedPropertiesCollection?.LocalizedProperties ?? []) as Node[]) titles[lp.Language] = lp.Title;
  const rules = /<upd:ApplicabilityRules>[\s\S]*<\/upd:ApplicabilityRules>/.exec(doc.xml);
  return {
    index,
    fileName: doc.fileName,
    xml: doc.xml,
    updateId: String(u.UpdateIdentity[0]['@_UpdateID']).toLowerCase(),
    revision: Number(u.UpdateIdentity[0]['@_RevisionNumber']),
    updateType: props['@_UpdateType'],
    categoryType: u.HandlerSpecificData?.CategoryInformation?.['@_CategoryType'],
    handlerType: u.HandlerSpecificData?.['@_type'],
    publicationState: props['@_PublicationState'],
    explicitlyDeployable: props['@_ExplicitlyDeployable'] === 'true',
    msrcSeverity: props['@_MsrcSeverity'],
    bare: ids(prereqs.UpdateIdentity),
    categoryClauses: clauses.filter((c) => c['@_IsCategory'] === 'true').map((c) => ids(c.UpdateIdentity)),
    plainClauses: clauses.filter((c) => c['@_IsCategory'] !== 'true').map((c) => ids(c.UpdateIdentity)),
    bundled: ((u.Relationships?.BundledUpdates?.AtLeastOne ?? []) as Node[]).flatMap((c) =>
      (c.UpdateIdentity as Node[]).map((i) => ({ id: String(i['@_UpdateID']).toLowerCase(), revision: Number(i['@_RevisionNumber']) })),
    ),
    superseded: ids(u.Relationships?.SupersededUpdates?.UpdateIdentity),
    files: fileRefs(u.Files?.File),
    eulaFiles: fileRefs(u.LocalizedPropertiesCollection?.EulaFile),
    titles,
    rulesLength: rules ? Buffer.byteLength(rules[0]) : 0,
  };
}

function digestOfDocuments(docs: Iterable<GeneratedDocument>): string {
  const h = createHash('sha256');
  for (const d of docs) h.update(d.fileName).update('\0').update(d.xml).update('\0');
  return h.digest('hex');
}

async function hashTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(path.slice(dir.length), createHash('sha1').update(await readFile(path)).digest('hex'));
  }
  return out;
}

const SHAPE_OPTIONS = { updates: 150, seed: 42 };

describe('synthetic catalog generator', () => {
  let docs: ParsedDoc[];
  let byId: Map<string, ParsedDoc[]>;
  let summary: CatalogSummary;
  let tmp: string;

  before(async () => {
    const catalog = generateCatalog(SHAPE_OPTIONS);
    summary = catalog.summary;
    docs = [...catalog.documents].map(parseDoc);
    byId = new Map();
    for (const d of docs) byId.set(d.updateId, [...(byId.get(d.updateId) ?? []), d]);
    tmp = await mkdtemp(join(tmpdir(), 'wsus-fixtures-'));
  });

  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  const latest = (id: string): ParsedDoc => byId.get(id)!.at(-1)!;

  test('is deterministic: same seed gives identical documents and content, another seed other ids', () => {
    const a = generateCatalog({ updates: 40, seed: 7 });
    const b = generateCatalog({ updates: 40, seed: 7 });
    assert.equal(digestOfDocuments(a.documents), digestOfDocuments(b.documents));
    assert.deepEqual([...a.contentFiles].map((f) => f.sha1Hex), [...b.contentFiles].map((f) => f.sha1Hex));
    assert.deepEqual(a.summary, b.summary);
    // the iterables can be walked again and give the same result
    assert.equal(digestOfDocuments(a.documents), digestOfDocuments(b.documents));

    const c = generateCatalog({ updates: 40, seed: 8 });
    const software = (cat: typeof a) => new Set([...cat.documents].filter((d) => d.kind === 'bundle' || d.kind === 'standalone' || d.kind === 'bundleChild').map((d) => d.updateId));
    const ours = software(a);
    const theirs = software(c);
    assert.ok(ours.size > 0);
    assert.equal([...ours].filter((id) => theirs.has(id)).length, 0, 'different seeds share no software update ids');
    const wellKnown = (cat: typeof a) => [...cat.documents].filter((d) => d.kind === 'company' || d.kind === 'classification').map((d) => d.updateId).sort();
    assert.deepEqual(wellKnown(a), wellKnown(c), 'well-known category ids do not depend on the seed');
  });

  test('writeCatalog writes byte-identical trees for the same seed', async () => {
    const s1 = await writeCatalog(join(tmp, 'a'), { updates: 30, seed: 3, fileSize: 4096 });
    const s2 = await writeCatalog(join(tmp, 'b'), { updates: 30, seed: 3, fileSize: 4096 });
    assert.deepEqual(s1, s2);
    const t1 = await hashTree(join(tmp, 'a'));
    const t2 = await hashTree(join(tmp, 'b'));
    assert.ok(t1.size > s1.counts.documents);
    assert.deepEqual([...t1.entries()].sort(), [...t2.entries()].sort());
    assert.deepEqual(JSON.parse(await readFile(join(tmp, 'a', 'catalog-summary.json'), 'utf8')), s1);
  });

  test('every document is well-formed XML named <updateid>-r<rev>.xml', () => {
    for (const d of docs) {
      const result = XMLValidator.validate(d.xml);
      assert.equal(result, true, `${d.fileName}: ${JSON.stringify(result)}`);
      assert.equal(d.fileName, `${d.updateId}-r${d.revision}.xml`);
      assert.ok(d.xml.startsWith('<upd:Update xmlns:'), d.fileName);
    }
    assert.equal(new Set(docs.map((d) => d.fileName)).size, docs.length, 'document names are unique');
    assert.equal(docs.length, summary.counts.documents);
  });

  test('content files exist under content/<SHA1HEX>.<ext> and match the digests and sizes in the documents', async () => {
    const out = join(tmp, 'content-check');
    const written = await writeCatalog(out, { updates: 25, seed: 11 });
    const order = (await readFile(join(out, 'documents.txt'), 'utf8')).trim().split('\n');
    assert.equal(order.length, written.counts.documents);
    const referenced = new Set<string>();
    for (const name of order) {
      const d = parseDoc({ fileName: name, xml: await readFile(join(out, 'updates', name), 'utf8') } as GeneratedDocument, 0);
      for (const f of [...d.files, ...d.eulaFiles]) {
        const hex = Buffer.from(f.sha1, 'base64').toString('hex').toUpperCase();
        const contentName = `${hex}.${f.fileName.split('.').pop()!.toLowerCase()}`;
        referenced.add(contentName);
        const bytes = await readFile(join(out, 'content', contentName));
        assert.equal(bytes.length, f.size, `${contentName} size`);
        assert.equal(createHash('sha1').update(bytes).digest('base64'), f.sha1, `${contentName} sha1`);
        assert.equal(createHash('sha256').update(bytes).digest('base64'), f.sha256, `${contentName} sha256`);
      }
    }
    const onDisk = await readdir(join(out, 'content'));
    assert.deepEqual(onDisk.sort(), [...referenced].sort(), 'every content file is referenced, every reference exists');
    assert.equal(onDisk.length, written.counts.contentFiles);

    // the in-memory descriptors agree with what was written
    for (const f of generateCatalog({ updates: 25, seed: 11 }).contentFiles) {
      const bytes = f.bytes();
      assert.equal(bytes.length, f.size);
      assert.equal(createHash('sha1').update(bytes).digest('hex').toUpperCase(), f.sha1Hex);
      assert.ok(onDisk.includes(f.contentFileName));
    }
  });

  test('categories: Microsoft company → product families → products, plus the well-known classifications', () => {
    const company = latest(MICROSOFT_COMPANY_ID);
    assert.equal(company.revision, 101);
    assert.equal(company.categoryType, 'Company');
    assert.equal(company.handlerType, 'cat:Category');
    assert.deepEqual([company.bare, company.categoryClauses, company.plainClauses], [[], [], []]);

    const families = docs.filter((d) => d.categoryType === 'ProductFamily');
    assert.ok(families.some((f) => f.updateId === WINDOWS_PRODUCT_FAMILY_ID));
    for (const f of families) assert.deepEqual(f.categoryClauses, [[MICROSOFT_COMPANY_ID]]);

    const products = docs.filter((d) => d.categoryType === 'Product');
    assert.ok(products.length >= 10);
    for (const p of products) {
      assert.equal(p.categoryClauses.length, 1);
      const family = latest(p.categoryClauses[0]![0]!);
      assert.equal(family.categoryType, 'ProductFamily');
      assert.equal(latest(family.categoryClauses[0]![0]!).categoryType, 'Company', 'product → family → company');
    }
    assert.ok(products.some((p) => latest(p.categoryClauses[0]![0]!).updateId === WINDOWS_PRODUCT_FAMILY_ID));

    for (const id of Object.values(CLASSIFICATION_IDS)) {
      const c = latest(id);
      assert.equal(c.categoryType, 'UpdateClassification');
      assert.equal(c.bare.length + c.categoryClauses.length, 0);
    }
  });

  test('detectoids: some stand alone, some depend on another detectoid', () => {
    const detectoids = docs.filter((d) => d.updateType === 'Detectoid');
    assert.ok(detectoids.some((d) => d.bare.length === 0));
    const dependent = detectoids.filter((d) => d.bare.length > 0);
    assert.ok(dependent.length > 0);
    for (const d of dependent) assert.equal(latest(d.bare[0]!).updateType, 'Detectoid');
    assert.equal(summary.interesting.detectoidWithPrerequisite?.prerequisiteId, latest(summary.interesting.detectoidWithPrerequisite!.updateId).bare[0]);
  });

  test('software updates: product + classification prerequisites, bundles with payload children carrying files', () => {
    const top = docs.filter((d) => d.updateType === 'Software' && d.explicitlyDeployable);
    const classificationIds = new Set<string>(Object.values(CLASSIFICATION_IDS));
    for (const d of top) {
      const kinds = d.categoryClauses.map((c) => latest(c[0]!).categoryType).sort();
      assert.deepEqual(kinds, ['Product', 'UpdateClassification'], d.fileName);
      for (const id of d.bare) assert.equal(latest(id).updateType, 'Detectoid');
      const classification = d.categoryClauses.flat().find((id) => classificationIds.has(id));
      if (classification === CLASSIFICATION_IDS.securityUpdates) assert.ok(d.msrcSeverity, `${d.fileName} has MsrcSeverity`);
      assert.ok(d.titles.en, 'English title always present');
    }
    assert.ok(top.some((d) => d.bare.length > 0), 'some updates also require a detectoid');
    assert.ok(top.some((d) => /\(KB\d{7}\)$/.test(d.titles.en!)), 'KB numbers in titles');

    const bundles = top.filter((d) => d.bundled.length > 0);
    assert.ok(bundles.length > 10);
    for (const b of bundles) {
      assert.equal(b.files.length, 0);
      for (const ref of b.bundled) {
        const child = byId.get(ref.id)!.find((c) => c.revision === ref.revision);
        assert.ok(child, `${b.fileName} references ${ref.id} r${ref.revision}`);
        assert.ok(child.index < b.index, 'payload revision is emitted before the bundle revision');
        assert.equal(child.explicitlyDeployable, false);
        assert.ok(child.files.length >= 1);
        assert.equal(child.handlerType, 'cmd:CommandLineInstallation');
        assert.ok(/<cmd:InstallCommand Program="[^"]+"/.test(child.xml));
        for (const f of child.files) assert.match(f.sha1, /^[A-Za-z0-9+/]{27}=$/);
      }
    }
    const s = summary.interesting.bundle!;
    assert.deepEqual(latest(s.updateId).bundled.map((r) => r.id), s.childIds);
  });

  test('supersedence, revisions, expiry, EULAs, languages and rule sizes are all present', () => {
    const superseding = docs.filter((d) => d.superseded.length > 0);
    assert.ok(superseding.length > 10);
    for (const d of superseding) {
      for (const id of d.superseded) assert.ok(byId.get(id)![0]!.index < d.index, 'superseded update is emitted first');
    }
    const sup = summary.interesting.superseded!;
    assert.ok(latest(sup.supersededBy).superseded.includes(sup.updateId));

    const multi = [...byId.values()].filter((revs) => revs.length > 1 && revs[0]!.explicitlyDeployable);
    assert.ok(multi.length > 3);
    for (const revs of multi) {
      const numbers = revs.map((r) => r.revision);
      assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b), 'revisions ascending');
      for (let i = 1; i < revs.length; i++) assert.notEqual(revs[i]!.xml, revs[i - 1]!.xml);
    }
    const m = summary.interesting.multiRevision!;
    assert.deepEqual(byId.get(m.updateId)!.map((d) => d.revision), m.revisionNumbers);

    assert.ok(docs.some((d) => d.publicationState === 'Expired'));
    assert.equal(latest(summary.interesting.expired!.updateId).publicationState, 'Expired');

    const eula = latest(summary.interesting.withEula!.updateId);
    assert.ok(eula.eulaFiles.length >= 1 && eula.xml.includes('EulaID="'));

    const languages = new Set(docs.flatMap((d) => Object.keys(d.titles)));
    for (const lang of ['en', 'de', 'fr', 'ja']) assert.ok(languages.has(lang), lang);
    const localized = latest(summary.interesting.localized!.updateId);
    assert.deepEqual(Object.keys(localized.titles), summary.interesting.localized!.languages);
    assert.ok(/[^\x00-\x7f]/.test(Object.values(localized.titles).join('')) || localized.titles.ja === undefined);

    const ruleSizes = docs.map((d) => d.rulesLength).filter((n) => n > 0);
    assert.ok(ruleSizes.some((n) => n < 1000), 'small rules');
    assert.ok(ruleSizes.some((n) => n > 3000), 'rules of several KB');
    assert.ok(ruleSizes.some((n) => n > 100_000), 'a huge rule');
    assert.ok(latest(summary.interesting.hugeRules!.updateId).rulesLength > 100_000);

    const dates = docs.filter((d) => d.explicitlyDeployable).map((d) => /CreationDate="(\d{4})/.exec(d.xml)![1]);
    assert.ok(new Set(dates).size >= 3, 'creation dates spread over years');
  });

  test('categories and detectoids come first and nothing refers forward', () => {
    const firstSoftware = docs.findIndex((d) => d.updateType === 'Software');
    assert.ok(docs.slice(0, firstSoftware).every((d) => d.updateType === 'Category' || d.updateType === 'Detectoid'));
    assert.ok(docs.slice(firstSoftware).every((d) => d.updateType === 'Software'));
    const seen = new Set<string>();
    for (const d of docs) {
      for (const id of [...d.bare, ...d.categoryClauses.flat(), ...d.plainClauses.flat(), ...d.bundled.map((b) => b.id), ...d.superseded]) {
        assert.ok(seen.has(id), `${d.fileName} refers to ${id} before it is emitted`);
      }
      seen.add(d.updateId);
    }
  });

  test('a dozen updates still contain every interesting case', () => {
    const small = generateCatalog({ updates: 12, seed: 1 });
    for (const [name, value] of Object.entries(small.summary.interesting)) assert.ok(value, `${name} present`);
    assert.equal(small.summary.counts.byKind.bundle.updates + small.summary.counts.byKind.standalone.updates, 12);
    for (const d of small.documents) assert.equal(XMLValidator.validate(d.xml), true);
  });

  test('options: fileSize bounds content sizes, languages select the localizations', () => {
    const catalog = generateCatalog({ updates: 40, seed: 5, fileSize: 2048, languages: ['ko', 'EN'] });
    assert.deepEqual(catalog.options.languages, ['en', 'ko']);
    for (const f of catalog.contentFiles) assert.ok(f.size >= 32 && f.size <= 2048, `${f.fileName}: ${f.size}`);
    const languages = new Set<string>();
    for (const d of catalog.documents) for (const m of d.xml.matchAll(/<upd:Language>([^<]+)</g)) languages.add(m[1]!);
    assert.deepEqual([...languages].sort(), ['en', 'ko']);
    assert.throws(() => generateCatalog({ updates: -1, seed: 1 }), RangeError);
    assert.throws(() => generateCatalog({ updates: 1, seed: 1, fileSize: 0 }), RangeError);
  });

  test('scales: 2000 updates render in a few seconds at about 4 revisions per update', () => {
    const started = Date.now();
    const catalog = generateCatalog({ updates: 2000, seed: 2000 });
    let count = 0;
    let bytes = 0;
    for (const d of catalog.documents) {
      count++;
      bytes += d.xml.length;
    }
    const elapsed = Date.now() - started;
    assert.equal(count, catalog.summary.counts.documents);
    assert.ok(elapsed < 10_000, `took ${elapsed} ms`);
    // Documented in catalog-generator.ts: documents ≈ 4 × updates (+ ~50 fixed categories).
    const ratio = catalog.summary.revisionsPerUpdate;
    assert.ok(ratio >= 3.5 && ratio <= 4.7, `ratio ${ratio}`);
    assert.ok(bytes > 10_000_000, 'realistic document sizes');
    const k = catalog.summary.counts.byKind;
    assert.equal(k.bundle.updates + k.standalone.updates, 2000);
    assert.ok(k.bundleChild.updates > 2 * k.bundle.updates, 'bundles carry several payloads on average');
    assert.ok(k.detectoid.updates >= 30);
  });
});
