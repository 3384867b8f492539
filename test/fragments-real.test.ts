// The client fragments derived from real update documents must be byte-identical to what a real
// WSUS sent a real Windows Update Agent for the same revisions (shared captures, read in place).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseUpdateDocument } from '../src/core/catalog/parse-update.js';
import type { ParsedUpdate } from '../src/core/catalog/update-model.js';

function capturesRoot(): string | undefined {
  const candidates = [
    path.resolve(process.cwd(), '../shared/captures'),
    // compiled tests live in dist/test/, three levels below the folder that holds `shared`
    path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/captures'),
  ];
  return candidates.find((c) => existsSync(path.join(c, 'wsus-m0-wsusss', 'docs')));
}

const ROOT = capturesRoot();
const SKIP = 'shared captures not found (expected ../shared/captures next to the project)';
const DOCS = ROOT ? path.join(ROOT, 'wsus-m0-wsusss', 'docs') : '';
const REFS = ROOT ? path.join(ROOT, 'wsus-m0-wsusss', 'wusp-reference') : '';
const CBS = ROOT ? path.join(ROOT, 'wsus-m0-cbs') : '';

const read = (file: string): string => readFileSync(file, 'utf8');
const parsed = new Map<string, ParsedUpdate>();
function doc(base: string): ParsedUpdate {
  let p = parsed.get(base);
  if (!p) {
    p = parseUpdateDocument(read(path.join(DOCS, `${base}.xml`)));
    parsed.set(base, p);
  }
  return p;
}

// The published references had the localized SupportUrl's LinkId value redacted (only there:
// the Extended fragment and MoreInfoUrl kept theirs), so that one value is compared blind.
const redactSupportLink = (s: string): string => s.replace(/(<SupportUrl>[^<]*LinkId=)[^<&]*/g, '$1REDACTED');

const bases = ROOT ? readdirSync(DOCS).filter((f) => f.endsWith('.xml')).map((f) => f.slice(0, -4)).sort() : [];

test('all nine real documents are present', (t) => {
  if (!ROOT) return t.skip(SKIP);
  assert.equal(bases.length, 9);
});

for (const base of bases) {
  test(`${base}: Core fragment is byte-identical to real WSUS`, () => {
    assert.equal(doc(base).fragments.core, read(path.join(REFS, `${base}.core.xml`)));
  });
  test(`${base}: Extended fragment is byte-identical to real WSUS`, () => {
    assert.equal(doc(base).fragments.extended, read(path.join(REFS, `${base}.extended.xml`)));
  });
  test(`${base}: LocalizedProperties (en) is byte-identical to real WSUS (modulo the redacted LinkId)`, () => {
    const en = doc(base).fragments.localized['en'];
    assert.ok(en !== undefined, 'an en fragment');
    assert.equal(redactSupportLink(en), redactSupportLink(read(path.join(REFS, `${base}.localized-en.xml`))));
  });
}

test('a2fef9b0 r200 (KB2267602, the approved bundle): model fields', (t) => {
  if (!ROOT) return t.skip(SKIP);
  const p = doc('a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe-r200');
  assert.deepEqual(p.identity, { updateId: 'a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe', revisionNumber: 200 });
  assert.equal(p.updateType, 'Software');
  assert.equal(p.categoryType, undefined);
  assert.equal(p.publicationState, 'Published');
  assert.equal(p.creationDate, '2026-10-04T12:00:58.381Z');
  assert.equal(p.defaultLanguage, 'en');
  assert.match(p.title, /^Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 /);
  assert.match(p.description ?? '', /^Install this update to revise the files/);
  assert.deepEqual(p.kbArticleIds, ['2267602']);
  assert.equal(p.explicitlyDeployable, true);
  assert.equal(p.autoSelectOnWebSites, true);
  assert.deepEqual(p.prerequisites, [
    { updateIds: ['be4048db-157c-4532-9582-7f05099590c9'], isCategory: false },
    { updateIds: ['0aac58ee-82a0-4452-a7fa-19f68398f1fa'], isCategory: false },
    { updateIds: ['e0789628-ce08-4437-be74-2495b842f43b'], isCategory: true },
    { updateIds: ['8c3fcc84-7410-4a95-8b89-a166a0190486'], isCategory: true },
  ]);
  assert.equal(p.bundledUpdates.length, 124);
  assert.ok(p.bundledUpdates.every((b) => b.revisionNumber === 200));
  assert.deepEqual(p.bundledUpdates[0], { updateId: '90f961a9-1756-4493-aade-644c37589961', revisionNumber: 200 });
  assert.ok(p.bundledUpdates.some((b) => b.updateId === '266f6222-c89d-43f2-9f8a-69340271e677'));
  assert.equal(p.supersededUpdateIds.length, 10);
  assert.equal(p.supersededUpdateIds[0], 'ce84983e-b20e-44d7-a412-1fd91fc7bda8');
  assert.deepEqual(p.files, []);
  assert.equal(p.driver, undefined);
  assert.equal(Object.keys(p.fragments.localized).length, 35);
  assert.match(p.fragments.localized['de'] ?? '', /^<LocalizedProperties><Language>de<\/Language><Title>Security Intelligence-Update/);
  assert.deepEqual(p.fragments.eula, {});
});

test('category documents: categoryType, upper-case ids lower-cased in the model only', (t) => {
  if (!ROOT) return t.skip(SKIP);
  const company = doc('56309036-4c77-4dd9-951a-99ee9c246a94-r101');
  assert.equal(company.updateType, 'Category');
  assert.equal(company.categoryType, 'Company');
  assert.equal(company.identity.updateId, '56309036-4c77-4dd9-951a-99ee9c246a94');
  assert.ok(company.fragments.core.startsWith('<UpdateIdentity UpdateID="56309036-4C77-4DD9-951A-99EE9C246A94"'));
  assert.equal(company.title, 'Microsoft');
  assert.deepEqual(company.prerequisites, []);
  assert.equal(Object.keys(company.fragments.localized).length, 24);
  assert.ok('pt-br' in company.fragments.localized);

  const family = doc('6964aab4-c5b5-43bd-a17d-ffb4346a8e1d-r100');
  assert.equal(family.categoryType, 'ProductFamily');
  assert.deepEqual(family.prerequisites, [{ updateIds: ['56309036-4c77-4dd9-951a-99ee9c246a94'], isCategory: true }]);

  const product = doc('dd78b8a1-0b20-45c1-add6-4da72e9364cf-r202');
  assert.equal(product.categoryType, 'Product');
  assert.equal(product.explicitlyDeployable, false);
  assert.equal(product.handler, 'http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/Category');
  assert.equal(product.title, 'OOBE ZDP');
});

test('266f6222 r200: one file AM_Delta.exe with both digests', (t) => {
  if (!ROOT) return t.skip(SKIP);
  const p = doc('266f6222-c89d-43f2-9f8a-69340271e677-r200');
  assert.deepEqual(p.files, [
    {
      fileName: 'AM_Delta.exe',
      size: 11606440,
      sha1: 'h/W9BGlYUAaqXTp30cZi/SiV3c0=',
      sha256: 'Amt0qymy5KsROiwIXm4QIIV75Ju4r+Cl28Pg8gaLXUA=',
      modified: '2026-10-04T09:39:26Z',
    },
  ]);
  assert.equal(p.handler, 'http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/CommandLineInstallation');
  assert.deepEqual(p.kbArticleIds, []);
  assert.equal(p.prerequisites.length, 4);
  assert.deepEqual(p.prerequisites[3], { updateIds: ['8c3fcc84-7410-4a95-8b89-a166a0190486'], isCategory: false });
});

test('bundles ccb78947 and 1f9bd9bb: members flattened from one AtLeastOne', (t) => {
  if (!ROOT) return t.skip(SKIP);
  assert.equal(doc('ccb78947-6453-4ecc-9de8-bc0305c98f2d-r200').bundledUpdates.length, 4);
  assert.equal(doc('1f9bd9bb-7390-4aa3-bbdb-ded99fac2583-r200').bundledUpdates.length, 24);
  assert.equal(doc('ccb78947-6453-4ecc-9de8-bc0305c98f2d-r200').explicitlyDeployable, false);
});

// ---- Real CBS / OS-installer fragments, for which no source document was captured ----
// A source document is rebuilt from each real Core + Extended pair by putting back what the
// derivation removes (namespaces and prefixes, the attributes Core and Extended drop, a
// LocalizedPropertiesCollection); deriving from it must give the real fragments back. This pins
// the rules those captures show and the Defender ones do not: the CBS manifest's default
// namespace declaration, Properties children such as `<Language>`, file attribute order.

const NS: Record<string, string> = {
  upd: 'http://schemas.microsoft.com/msus/2002/12/Update',
  bar: 'http://schemas.microsoft.com/msus/2002/12/BaseApplicabilityRules',
  lar: 'http://schemas.microsoft.com/msus/2002/12/LogicalApplicabilityRules',
  cbsar: 'http://schemas.microsoft.com/msus/2002/12/CbsApplicabilityRules',
  cbs: 'http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/Cbs',
  osr: 'http://schemas.microsoft.com/msus/2016/01/OSInstallerApplicabilityRules',
  osi: 'http://schemas.microsoft.com/msus/2016/01/UpdateHandlers/OSInstaller',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
};
const PREFIX_OF: Record<string, string> = {
  And: 'lar', Or: 'lar', Not: 'lar', True: 'lar', False: 'lar',
  CbsPackageInstalled: 'cbsar', CbsPackageInstallable: 'cbsar', CbsPackageApplicabilityMetadata: 'cbsar',
  CbsData: 'cbs', ProductReleaseInstalled: 'osr', DeviceAttribute: 'osr', OSInstallData: 'osi',
};

function splitTopLevel(fragment: string): string[] {
  const out: string[] = [];
  const tag = /<(\/?)[^>]*?(\/?)>/g;
  let depth = 0;
  let start = 0;
  for (let m = tag.exec(fragment); m; m = tag.exec(fragment)) {
    if (m[1]) depth--;
    else if (!m[2]) depth++;
    if (depth === 0) {
      out.push(fragment.slice(start, tag.lastIndex));
      start = tag.lastIndex;
    }
  }
  return out;
}

/** Puts namespaces back; the CBS manifest (`assembly`) keeps the default namespace it declares. */
function renamespace(xml: string): string {
  let inManifest = false;
  return xml
    .replace(/<(\/?)([A-Za-z][\w.]*)/g, (_all, close: string, name: string) => {
      if (name === 'assembly') inManifest = !close;
      if (inManifest || name === 'assembly') return `<${close}${name}`;
      if (name.startsWith('b.')) return `<${close}bar:${name.slice(2)}`;
      return `<${close}${PREFIX_OF[name] ?? 'upd'}:${name === 'ExtendedProperties' ? 'Properties' : name}`;
    })
    .replace(/<upd:HandlerSpecificData type=/, '<upd:HandlerSpecificData xsi:type=');
}

function rebuildDocument(core: string, extended: string): string {
  const [identity, coreProps, ...coreRest] = splitTopLevel(core);
  const [extProps, ...extRest] = splitTopLevel(extended);
  const coreAttrs = /^<Properties ([^>]*?) \/>$/.exec(coreProps!)![1];
  const ext = /^<ExtendedProperties ([^>]*?)(?: \/>|>(.*)<\/ExtendedProperties>)$/.exec(extProps!)!;
  const removed = 'PublicationState="Published" CreationDate="2025-09-08T17:00:00.000Z" PublisherID="395392a0-19c0-48b7-a927-f7c15066d905" IsPublic="false" PerUser="false"';
  const props = `<Properties ${coreAttrs} ${ext[1]} ${removed}>${ext[2] ?? ''}</Properties>`;
  const localized = '<LocalizedPropertiesCollection><LocalizedProperties><Language>en</Language><Title>rebuilt</Title></LocalizedProperties></LocalizedPropertiesCollection>';
  const decls = Object.entries(NS).map(([p, uri]) => `xmlns:${p}="${uri}"`).join(' ');
  return `<upd:Update ${decls}>${renamespace(identity! + props + localized + coreRest.join('') + extRest.join(''))}</upd:Update>`;
}

// The `-reduced` core files were cut by hand and spell the emptied manifest element `<package ...></package>`.
const asDerived = (hand: string): string => hand.replace(/(<package [^>]*?)><\/package>/g, '$1 />');

for (const [name, coreFile, extFile] of [
  ['CBS .NET rollup f1ff1e3d', 'cbs-dotnet-core-reduced.xml', 'cbs-dotnet-extended.xml'],
  ['CBS RollupFix 267dd2b4', 'cbs-rollupfix-core-reduced.xml', 'cbs-rollupfix-extended.xml'],
  ['OS installer f97b86e6', 'osinstaller-core.xml', 'osinstaller-extended.xml'],
] as const) {
  test(`${name}: a document rebuilt from the real fragments derives them back byte for byte`, (t) => {
    if (!ROOT || !existsSync(path.join(CBS, coreFile))) return t.skip(SKIP);
    const core = asDerived(read(path.join(CBS, coreFile)));
    const extended = read(path.join(CBS, extFile));
    const p = parseUpdateDocument(rebuildDocument(core, extended));
    assert.equal(p.fragments.core, core);
    assert.equal(p.fragments.extended, extended);
    assert.ok(p.files.length > 0 && p.files.every((f) => f.sha256 !== undefined));
  });
}

test('OS installer: every declared file reaches the model, sizes beyond 32 bits included', (t) => {
  if (!ROOT || !existsSync(path.join(CBS, 'osinstaller-core.xml'))) return t.skip(SKIP);
  const p = parseUpdateDocument(
    rebuildDocument(read(path.join(CBS, 'osinstaller-core.xml')), read(path.join(CBS, 'osinstaller-extended.xml'))),
  );
  assert.equal(p.files.length, 14);
  assert.equal(p.files.find((f) => f.fileName.endsWith('_FeatureOnDemand.wim'))?.size, 3927955052);
  assert.equal(p.files.find((f) => f.fileName === 'SSU-22621.5973-arm64.cab')?.patchingType, 'SelfContained');
  assert.equal(p.handler, 'http://schemas.microsoft.com/msus/2016/01/UpdateHandlers/OSInstaller');
  assert.deepEqual(p.prerequisites.filter((c) => c.isCategory).length, 2);
});
