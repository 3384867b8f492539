// Locally published update documents: each one parses with the ingest parser and yields client
// fragments with the right Core (prerequisites, b./m. rules), Extended (Files, handler data) and
// LocalizedProperties; categories, stand-in classifications, expiry and escaping.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseUpdateDocument } from '../src/core/catalog/parse-update.js';
import { parseXmlTree } from '../src/core/catalog/xml-tree.js';
import { parseManifest, ManifestError, type PublishSpec } from '../src/core/publishing/manifest.js';
import { buildPublishedUpdate, expiredRevision, type PublishPayload } from '../src/core/publishing/published-update.js';
import { classificationCategoryDocument } from '../src/core/publishing/category-documents.js';
import { productCategoryId, vendorCategoryId } from '../src/core/publishing/category-ids.js';

const UPDATE_ID = '0b7e1c2d-3f4a-4b5c-8d6e-7f8091a2b3c4';
const CREATED = new Date('2026-10-05T11:00:55.642Z');
const SHA1 = Buffer.alloc(20, 7).toString('base64');
const SHA256 = Buffer.alloc(32, 9).toString('base64');
const CAB = { fileName: `${UPDATE_ID}_1.cab`, size: 11551, sha1Base64: SHA1, sha256Base64: SHA256 };
const BASE = { title: 'Acme Tool 2.0', vendor: 'Acme', product: 'Tool', classification: 'Security Updates' };
const PRODUCT = '{A1B2C3D4-0001-4000-8000-000000000100}';
const PATCH = '{A1B2C3D4-0002-4000-8000-000000000200}';

function build(spec: PublishSpec, payload: PublishPayload, revisionNumber = 1) {
  return buildPublishedUpdate(spec, { updateId: UPDATE_ID, revisionNumber, creationDate: CREATED, payload, cab: CAB });
}

function exeSpec(extra: object = {}): PublishSpec {
  return parseManifest({
    ...BASE, description: 'Fixes things.', severity: 'Critical', kb: '5012345', supportUrl: 'https://acme.example/support',
    moreInfoUrl: 'https://acme.example/kb/5012345', supersedes: ['{FFFFFFFF-0000-4000-8000-000000000001}'],
    install: { arguments: '/S /norestart' },
    applicability: {
      installed: { fileVersion: { path: '%ProgramFiles%\\Acme\\tool.exe', comparison: '>=', version: '2.0.0.0' } },
      installable: { and: [{ processor: 'x64' }, { registryKeyExists: { key: 'HKLM\\SOFTWARE\\Acme', view32: true } }] },
    },
    ...extra,
  });
}

test('exe: command-line handler document with Files, prerequisites and b. rules', () => {
  const spec = exeSpec();
  const { update } = build(spec, { fileName: 'setup.exe', kind: 'exe' });
  const p = parseUpdateDocument(update);
  assert.deepEqual(p.identity, { updateId: UPDATE_ID, revisionNumber: 1 });
  assert.equal(p.updateType, 'Software');
  assert.equal(p.publicationState, 'Published');
  assert.equal(p.handler, 'http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/CommandLineInstallation');
  assert.equal(p.title, 'Acme Tool 2.0');
  assert.equal(p.description, 'Fixes things.');
  assert.equal(p.msrcSeverity, 'Critical');
  assert.deepEqual(p.kbArticleIds, ['5012345']);
  assert.equal(p.explicitlyDeployable, true);
  assert.deepEqual(p.supersededUpdateIds, ['ffffffff-0000-4000-8000-000000000001']);
  assert.deepEqual(p.prerequisites, [
    { updateIds: [productCategoryId('Acme', 'Tool')], isCategory: true },
    { updateIds: ['0fa1201d-4330-4fa8-8ae9-b877473b6441'], isCategory: true },
  ]);
  assert.deepEqual(p.files, [{ fileName: CAB.fileName, size: 11551, sha1: SHA1, sha256: SHA256, modified: '2026-10-05T11:00:55.642Z' }]);

  const core = p.fragments.core;
  assert.match(core, /<Properties UpdateType="Software" ExplicitlyDeployable="true" AutoSelectOnWebSites="true" \/>/);
  assert.match(core, /<SupersededUpdates><UpdateIdentity UpdateID="ffffffff-0000-4000-8000-000000000001" \/><\/SupersededUpdates>/);
  assert.match(core, /<AtLeastOne IsCategory="true"><UpdateIdentity UpdateID="0fa1201d-4330-4fa8-8ae9-b877473b6441" \/><\/AtLeastOne>/);
  assert.ok(core.includes('<IsInstalled><b.FileVersion Path="\\Acme\\tool.exe" Csidl="38" Comparison="GreaterThanOrEqualTo" Version="2.0.0.0" /></IsInstalled>'), core);
  assert.ok(core.includes('<IsInstallable><And><b.Processor Architecture="9" /><b.RegKeyExists Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\\Acme" RegType32="true" /></And></IsInstallable>'), core);

  const ext = p.fragments.extended;
  assert.match(ext, /^<ExtendedProperties DefaultPropertiesLanguage="en" IsLocallyPublished="true" MinDownloadSize="11551" MaxDownloadSize="11551" Handler="[^"]+CommandLineInstallation" MsrcSeverity="Critical" CanSourceBeRequired="false">/);
  assert.match(ext, /<InstallationBehavior CanRequestUserInput="false" RequiresNetworkConnectivity="false" Impact="Normal" RebootBehavior="CanRequestReboot" \/>/);
  assert.doesNotMatch(ext, /UninstallationBehavior/);
  assert.match(ext, /<SupportUrl>https:\/\/acme.example\/support<\/SupportUrl><KBArticleID>5012345<\/KBArticleID><\/ExtendedProperties>/);
  assert.match(ext, new RegExp(`<Files><File Digest="${SHA1.replace(/[+/]/g, '\\$&')}" FileName="${CAB.fileName}" Size="11551" Modified="[^"]+" DigestAlgorithm="SHA1"><AdditionalDigest Algorithm="SHA256">`));
  assert.ok(ext.endsWith('<HandlerSpecificData type="cmd:CommandLineInstallation"><InstallCommand Program="setup.exe" Arguments="/S /norestart" RebootByDefault="false" DefaultResult="Failed">' +
    '<ReturnCode Code="0" Result="Succeeded" Reboot="false" /><ReturnCode Code="3010" Result="Succeeded" Reboot="true" /><ReturnCode Code="1641" Result="Succeeded" Reboot="true" />' +
    '</InstallCommand></HandlerSpecificData>'), ext);

  assert.deepEqual(Object.keys(p.fragments.localized), ['en']);
  assert.equal(p.fragments.localized['en'], '<LocalizedProperties><Language>en</Language><Title>Acme Tool 2.0</Title><Description>Fixes things.</Description>' +
    '<MoreInfoUrl>https://acme.example/kb/5012345</MoreInfoUrl><SupportUrl>https://acme.example/support</SupportUrl></LocalizedProperties>');
});

test('exe: explicit return codes, reboot and impact reach the handler data', () => {
  const spec = exeSpec({
    reboot: 'always', impact: 'exclusive', requiresUserInput: true,
    install: { arguments: '--silent', defaultResult: 'succeeded', returnCodes: [{ code: 0, result: 'succeeded' }, { code: 0x80070002, result: 'failed' }, { code: 5, result: 'cancelled' }] },
  });
  const ext = parseUpdateDocument(build(spec, { fileName: 'setup.exe', kind: 'exe' }).update).fragments.extended;
  assert.match(ext, /<InstallationBehavior CanRequestUserInput="true" RequiresNetworkConnectivity="false" Impact="RequiresExclusiveHandling" RebootBehavior="AlwaysRequiresReboot" \/>/);
  assert.ok(ext.includes('<InstallCommand Program="setup.exe" Arguments="--silent" RebootByDefault="true" DefaultResult="Succeeded"><ReturnCode Code="0" Result="Succeeded" Reboot="false" />' +
    '<ReturnCode Code="-2147024894" Result="Failed" Reboot="false" /><ReturnCode Code="5" Result="Cancelled" Reboot="false" /></InstallCommand>'), ext);
});

test('msi: Windows Installer handler, MsiData and default m. rules from the MSI properties', () => {
  const spec = parseManifest({ ...BASE, install: { arguments: 'REBOOT=ReallySuppress' }, uninstall: { arguments: 'KEEPDATA=1' } });
  const { update } = build(spec, { fileName: 'acme-tool.msi', kind: 'msi', msi: { ProductCode: PRODUCT.toLowerCase(), ProductVersion: '2.0.17' } });
  const p = parseUpdateDocument(update);
  assert.equal(p.handler, 'http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/WindowsInstaller');
  const rule = `<m.MsiProductInstalled ProductCode="${PRODUCT}" VersionMin="2.0.17.0" />`;
  assert.ok(p.fragments.core.includes(`<ApplicabilityRules><IsInstalled>${rule}</IsInstalled><IsInstallable><Not>${rule}</Not></IsInstallable></ApplicabilityRules>`), p.fragments.core);
  const ext = p.fragments.extended;
  assert.match(ext, /<UninstallationBehavior CanRequestUserInput="false" RequiresNetworkConnectivity="false" Impact="Normal" RebootBehavior="CanRequestReboot" \/>/);
  assert.ok(ext.endsWith(`<HandlerSpecificData type="msp:WindowsInstallerApp"><MsiData ProductCode="${PRODUCT}" MsiFile="acme-tool.msi" ` +
    'CommandLine="REBOOT=ReallySuppress" UninstallCommandLine="KEEPDATA=1" /></HandlerSpecificData>'), ext);
  assert.doesNotMatch(ext, /PatchingType/);
});

test('msi: manifest codes override the database and explicit rules replace the defaults', () => {
  const spec = parseManifest({
    ...BASE, msi: { productCode: 'a1b2c3d4-0009-4000-8000-000000000900', productVersion: '3.1' },
    applicability: { installable: { windowsVersion: { min: '10.0.17763', max: '10.0.26100', productType: 'server' } } },
  });
  const core = parseUpdateDocument(build(spec, { fileName: 'a.msi', kind: 'msi', msi: { ProductCode: PRODUCT, ProductVersion: '1.0' } }).update).fragments.core;
  assert.ok(core.includes('<IsInstalled><m.MsiProductInstalled ProductCode="{A1B2C3D4-0009-4000-8000-000000000900}" VersionMin="3.1.0.0" /></IsInstalled>'), core);
  assert.ok(core.includes('<IsInstallable><And><b.WindowsVersion Comparison="GreaterThanOrEqualTo" MajorVersion="10" MinorVersion="0" BuildNumber="17763" ProductType="3" />' +
    '<b.WindowsVersion Comparison="LessThanOrEqualTo" MajorVersion="10" MinorVersion="0" BuildNumber="26100" /></And></IsInstallable>'), core);
});

test('msp: patch rules per target product, MspData and a SelfContained file', () => {
  const other = '{A1B2C3D4-0003-4000-8000-000000000300}';
  const spec = parseManifest(BASE);
  const p = parseUpdateDocument(build(spec, { fileName: 'acme-fix.msp', kind: 'msp', msi: { PatchCode: PATCH, TargetProductCodes: `${PRODUCT};${other.toLowerCase()}` } }).update);
  assert.equal(p.handler, 'http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/WindowsInstaller');
  const patched = (product: string): string => `<m.MsiPatchInstalledForProduct PatchCode="${PATCH}" ProductCode="${product}" />`;
  assert.ok(p.fragments.core.includes(`<IsInstalled><Or>${patched(PRODUCT)}${patched(other)}</Or></IsInstalled>`), p.fragments.core);
  assert.ok(p.fragments.core.includes(`<IsInstallable><Or><And><m.MsiProductInstalled ProductCode="${PRODUCT}" /><Not>${patched(PRODUCT)}</Not></And>` +
    `<And><m.MsiProductInstalled ProductCode="${other}" /><Not>${patched(other)}</Not></And></Or></IsInstallable>`), p.fragments.core);
  assert.equal(p.files[0]?.patchingType, 'SelfContained');
  assert.ok(p.fragments.extended.endsWith(`<HandlerSpecificData type="msp:WindowsInstaller"><MspData FullFilePatchCode="${PATCH}" PatchCode="${PATCH}" /></HandlerSpecificData>`), p.fragments.extended);
});

test('msu: command-line handler running wusa.exe on the package', () => {
  const spec = parseManifest({ ...BASE, applicability: { installed: { registryKeyExists: { key: 'HKLM\\SOFTWARE\\Acme\\KB1' } } } });
  const ext = parseUpdateDocument(build(spec, { fileName: 'acme-kb1-x64.msu', kind: 'msu' }).update).fragments.extended;
  assert.match(ext, /<InstallCommand Program="wusa.exe" Arguments="&quot;acme-kb1-x64.msu&quot; \/quiet \/norestart" RebootByDefault="false" DefaultResult="Failed">/);
  assert.match(ext, /<ReturnCode Code="2359302" Result="Succeeded" Reboot="false" \/><ReturnCode Code="-2145124329" Result="Failed" Reboot="false" \/>/);
});

test('vendor and product categories: Company and Product (under the Company) with deterministic ids', () => {
  const spec = exeSpec();
  const { categories } = build(spec, { fileName: 'setup.exe', kind: 'exe' });
  assert.equal(categories.length, 2);
  const [vendor, product] = categories.map((c) => ({ id: c.updateId, p: parseUpdateDocument(c.xml) }));
  assert.equal(vendor!.id, vendorCategoryId('Acme'));
  assert.equal(vendor!.p.identity.updateId, vendorCategoryId('Acme'));
  assert.equal(vendor!.p.updateType, 'Category');
  assert.equal(vendor!.p.categoryType, 'Company');
  assert.equal(vendor!.p.title, 'Acme');
  assert.deepEqual(vendor!.p.prerequisites, []);
  assert.equal(product!.p.identity.updateId, productCategoryId('Acme', 'Tool'));
  assert.equal(product!.p.categoryType, 'Product');
  assert.equal(product!.p.title, 'Tool');
  assert.deepEqual(product!.p.prerequisites, [{ updateIds: [vendorCategoryId('Acme')], isCategory: true }]);
  assert.equal(product!.p.fragments.core, `<UpdateIdentity UpdateID="${product!.id}" RevisionNumber="100" /><Properties UpdateType="Category" />` +
    `<Relationships><Prerequisites><AtLeastOne IsCategory="true"><UpdateIdentity UpdateID="${vendor!.id}" /></AtLeastOne></Prerequisites></Relationships>` +
    '<ApplicabilityRules><IsInstalled><True /></IsInstalled></ApplicabilityRules>');
  assert.match(product!.p.fragments.extended, /<HandlerSpecificData type="cat:Category"><CategoryInformation CategoryType="Product" ProhibitsSubcategories="true" ExcludedByDefault="false" \/><\/HandlerSpecificData>$/);
  // Republishing (another update, another day) yields the same category identities.
  const again = buildPublishedUpdate(exeSpec(), { updateId: '0b7e1c2d-3f4a-4b5c-8d6e-000000000002', revisionNumber: 1, creationDate: new Date(), payload: { fileName: 'setup.exe', kind: 'exe' }, cab: CAB });
  assert.deepEqual(again.categories.map((c) => parseUpdateDocument(c.xml).identity), [vendor!.p.identity, product!.p.identity]);
});

test('stand-in classification category: well-known id, low revision', () => {
  const doc = classificationCategoryDocument('securityUpdates');
  const p = parseUpdateDocument(doc.xml);
  assert.equal(doc.updateId, '0fa1201d-4330-4fa8-8ae9-b877473b6441');
  assert.deepEqual(p.identity, { updateId: '0fa1201d-4330-4fa8-8ae9-b877473b6441', revisionNumber: 1 });
  assert.equal(p.categoryType, 'UpdateClassification');
  assert.equal(p.title, 'Security Updates');
});

test('expiredRevision: same update, new revision, PublicationState Expired', () => {
  const { update } = build(exeSpec(), { fileName: 'setup.exe', kind: 'exe' }, 3);
  const expired = expiredRevision(update, 4);
  const before = parseUpdateDocument(update);
  const after = parseUpdateDocument(expired);
  assert.deepEqual(after.identity, { updateId: UPDATE_ID, revisionNumber: 4 });
  assert.equal(after.publicationState, 'Expired');
  assert.deepEqual(after.files, before.files);
  assert.equal(after.title, before.title);
  assert.equal(expired.replace('RevisionNumber="4"', 'RevisionNumber="3"').replace('PublicationState="Expired"', 'PublicationState="Published"'), update);
  assert.throws(() => expiredRevision(update, 3), (e: unknown) => e instanceof ManifestError && /above the current revision 3/.test(e.message));
  // A document without the attribute (as some upstream documents are) gains it.
  const bare = update.replace(' PublicationState="Published"', '');
  assert.equal(parseUpdateDocument(expiredRevision(bare, 9)).publicationState, 'Expired');
});

test('markup in title, description, arguments and names is escaped, never interpreted', () => {
  const evil = '</upd:Title><upd:Title>pwned</upd:Title>&amp;"\'<![CDATA[x]]>';
  const spec = parseManifest({
    ...BASE, title: evil, description: `line\n${evil}`, vendor: 'Acme "<Corp>"', product: '</upd:Update>',
    install: { arguments: '" /><cmd:ReturnCode Code="1" Result="Succeeded" /><x a="' },
    applicability: { installed: { registryValue: { key: 'HKLM\\SOFTWARE\\A"<b>', value: '&v', type: 'sz', comparison: 'contains', data: '"/><bar:True' } } },
  });
  const { update, categories } = build(spec, { fileName: 'setup.exe', kind: 'exe' });
  const p = parseUpdateDocument(update);
  assert.equal(p.title, evil);
  assert.equal(p.description, `line\n${evil}`);
  assert.match(p.fragments.extended, /Arguments="&quot; \/&gt;&lt;cmd:ReturnCode Code=&quot;1&quot;/);
  assert.equal((p.fragments.extended.match(/<ReturnCode /g) ?? []).length, 3);
  assert.ok(p.fragments.core.includes('<b.RegSz Key="HKEY_LOCAL_MACHINE" Subkey="SOFTWARE\\A&quot;&lt;b&gt;" Value="&amp;v" Comparison="Contains" Data="&quot;/&gt;&lt;bar:True" />'), p.fragments.core);
  assert.equal(parseUpdateDocument(categories[0]!.xml).title, 'Acme "<Corp>"');
  assert.equal(parseUpdateDocument(categories[1]!.xml).title, '</upd:Update>');
});

test('bad build input is refused with the field', () => {
  const spec = exeSpec();
  const attempt = (input: object, field: string): void => {
    assert.throws(() => buildPublishedUpdate(spec, { updateId: UPDATE_ID, revisionNumber: 1, creationDate: CREATED, payload: { fileName: 'setup.exe', kind: 'exe' }, cab: CAB, ...input }),
      (e: unknown) => e instanceof ManifestError && e.field === field);
  };
  attempt({ updateId: 'nope' }, 'input.updateId');
  attempt({ revisionNumber: 0 }, 'input.revisionNumber');
  attempt({ cab: { ...CAB, sha1Base64: SHA256 } }, 'cab.sha1Base64');
  attempt({ cab: { ...CAB, fileName: '../x.cab' } }, 'cab.fileName');
  attempt({ payload: { fileName: 'a\\setup.exe', kind: 'exe' } }, 'payload.fileName');
  assert.throws(() => build(parseManifest(BASE), { fileName: 'setup.exe', kind: 'exe' }), (e: unknown) => e instanceof ManifestError && e.field === 'applicability.installed');
});

// Real captured documents, read in place: top-level element order must match Microsoft's.
function capturedCommandLineDocument(): string | undefined {
  const candidates = [
    path.resolve(process.cwd(), '../shared/captures/wsus-m0-wsusss/docs'),
    path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/captures/wsus-m0-wsusss/docs'),
  ];
  const dir = candidates.find((c) => existsSync(c));
  const file = dir ? path.join(dir, '266f6222-c89d-43f2-9f8a-69340271e677-r200.xml') : undefined;
  return file && existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

const real = capturedCommandLineDocument();
test('top-level element order matches a real command-line update document', { skip: real ? false : 'shared captures not found' }, () => {
  const children = (xml: string): string[] => parseXmlTree(xml, { maxBytes: 1 << 24, maxDepth: 256 }).children.map((c) => c.local);
  const ours = children(build(exeSpec(), { fileName: 'setup.exe', kind: 'exe' }).update);
  const theirs = children(real!);
  // Microsoft's Defender payload has no LocalizedProperties beyond Title and no supersedence, but the order is the same.
  assert.deepEqual(ours.filter((n) => theirs.includes(n)), theirs);
  assert.deepEqual(ours, ['UpdateIdentity', 'Properties', 'LocalizedPropertiesCollection', 'Relationships', 'ApplicabilityRules', 'Files', 'HandlerSpecificData']);
});
