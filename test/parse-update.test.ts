// parseUpdateDocument on hand-written documents: hostile and invalid input must fail with
// UpdateDocumentError before anything reaches the store; driver and EULA documents (for which no
// real capture exists) must give the model and fragments the derivation rules promise.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { DomainError } from '../src/core/errors.js';
import { parseUpdateDocument, UpdateDocumentError } from '../src/core/catalog/parse-update.js';

const UPD = 'http://schemas.microsoft.com/msus/2002/12/Update';
const BAR = 'http://schemas.microsoft.com/msus/2002/12/BaseApplicabilityRules';
const LAR = 'http://schemas.microsoft.com/msus/2002/12/LogicalApplicabilityRules';
const MAR = 'http://schemas.microsoft.com/msus/2002/12/MsiApplicabilityRules';
const DRV = 'http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/WindowsDriver';
const CMD = 'http://schemas.microsoft.com/msus/2002/12/UpdateHandlers/CommandLineInstallation';
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';

const sha1 = (s: string): string => createHash('sha1').update(s).digest('base64');
const sha256 = (s: string): string => createHash('sha256').update(s).digest('base64');

interface MinimalParts {
  id?: string;
  rev?: string;
  type?: string;
  relationships?: string;
  rules?: string;
  files?: string;
}

function minimal(p: MinimalParts = {}): string {
  return (
    `<upd:Update xmlns:upd="${UPD}">` +
    `<upd:UpdateIdentity UpdateID="${p.id ?? '5e2c6b0e-1d7a-4c1f-9a51-0c3b1f1e2d3c'}" RevisionNumber="${p.rev ?? '100'}" />` +
    `<upd:Properties UpdateType="${p.type ?? 'Software'}" DefaultPropertiesLanguage="en" />` +
    '<upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:Language>en</upd:Language>' +
    '<upd:Title>Minimal</upd:Title></upd:LocalizedProperties></upd:LocalizedPropertiesCollection>' +
    (p.relationships ?? '') +
    (p.rules ?? '') +
    (p.files ?? '') +
    '</upd:Update>'
  );
}

function file(attrs: { digest?: string; size?: string; sha256?: string } = {}): string {
  return (
    `<upd:Files><upd:File Digest="${attrs.digest ?? sha1('payload')}" DigestAlgorithm="SHA1" FileName="setup.exe" ` +
    `Size="${attrs.size ?? '7'}" Modified="2024-01-01T00:00:00Z"><upd:AdditionalDigest Algorithm="SHA256">` +
    `${attrs.sha256 ?? sha256('payload')}</upd:AdditionalDigest></upd:File></upd:Files>`
  );
}

function rejects(xml: string, message: RegExp, field?: string, limits?: { maxBytes?: number; maxDepth?: number }): void {
  assert.throws(
    () => parseUpdateDocument(xml, limits),
    (e: unknown) => {
      assert.ok(e instanceof UpdateDocumentError, `expected UpdateDocumentError, got ${String(e)}`);
      assert.ok(e instanceof DomainError && e.code === 'InvalidInput');
      assert.match(e.message, message);
      if (field !== undefined) assert.equal(e.field, field);
      return true;
    },
  );
}

test('the minimal document parses (baseline for the rejections below)', () => {
  const p = parseUpdateDocument(minimal({ files: file() }));
  assert.equal(p.identity.updateId, '5e2c6b0e-1d7a-4c1f-9a51-0c3b1f1e2d3c');
  assert.equal(p.files.length, 1);
});

test('DTDs are refused before parsing: DOCTYPE, entity declarations, any case', () => {
  const laughs = '<!DOCTYPE upd:Update [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>';
  rejects(laughs + minimal(), /DTD/);
  rejects('<!doctype upd:Update SYSTEM "file:///etc/passwd">' + minimal(), /DTD/);
  rejects(minimal().replace('<upd:Properties', '<!-- <!EnTiTy x "y"> --><upd:Properties'), /DTD/);
});

test('size cap: default 64 MiB, configurable, counted in UTF-8 bytes', () => {
  const doc = minimal();
  rejects(doc, /size limit of 100 bytes/, undefined, { maxBytes: 100 });
  assert.doesNotThrow(() => parseUpdateDocument(doc, { maxBytes: Buffer.byteLength(doc) }));
  const wide = minimal().replace('>Minimal<', '>Mise à jour é<');
  rejects(wide, /size limit/, undefined, { maxBytes: wide.length });
  rejects(`<upd:Update xmlns:upd="${UPD}">${' '.repeat(64 * 1024 * 1024)}</upd:Update>`, /size limit of 67108864 bytes/);
});

test('depth cap: default 256 levels, configurable', () => {
  // Update(1) / ApplicabilityRules(2) / IsInstalled(3) / n x And / True
  const nested = (n: number): string =>
    minimal({
      rules: `<upd:ApplicabilityRules><upd:IsInstalled>${`<lar:And xmlns:lar="${LAR}">`.repeat(n)}<lar:True xmlns:lar="${LAR}" />${'</lar:And>'.repeat(n)}</upd:IsInstalled></upd:ApplicabilityRules>`,
    });
  assert.doesNotThrow(() => parseUpdateDocument(nested(252)));
  rejects(nested(253), /depth limit of 256/);
  rejects(nested(100_000), /depth limit of 256/);
  rejects(minimal(), /depth limit of 2/, undefined, { maxDepth: 2 });
});

test('identity validation names the field', () => {
  rejects(minimal({ id: 'not-a-guid' }), /must be a GUID/, 'UpdateIdentity/@UpdateID');
  rejects(minimal({ id: '{5e2c6b0e-1d7a-4c1f-9a51-0c3b1f1e2d3c}' }), /must be a GUID/, 'UpdateIdentity/@UpdateID');
  for (const rev of ['1.5', '-1', '', 'abc', '99999999999']) {
    rejects(minimal({ rev }), /RevisionNumber must be/, 'UpdateIdentity/@RevisionNumber');
  }
  const badPrereq = `<upd:Relationships><upd:Prerequisites><upd:AtLeastOne IsCategory="true"><upd:UpdateIdentity UpdateID="zz" /></upd:AtLeastOne></upd:Prerequisites></upd:Relationships>`;
  rejects(minimal({ relationships: badPrereq }), /GUID/, 'Relationships/Prerequisites/AtLeastOne/UpdateIdentity/@UpdateID');
  const bundleNoRev = `<upd:Relationships><upd:BundledUpdates><upd:AtLeastOne><upd:UpdateIdentity UpdateID="5e2c6b0e-1d7a-4c1f-9a51-0c3b1f1e2d3d" /></upd:AtLeastOne></upd:BundledUpdates></upd:Relationships>`;
  rejects(minimal({ relationships: bundleNoRev }), /RevisionNumber/, 'Relationships/BundledUpdates/AtLeastOne/UpdateIdentity/@RevisionNumber');
});

test('UpdateType must be one of the four', () => {
  rejects(minimal({ type: 'Application' }), /UpdateType must be/, 'Properties/@UpdateType');
  rejects(minimal({ type: 'software' }), /UpdateType must be/, 'Properties/@UpdateType');
});

test('file validation: Size an integer, Digest base64 SHA-1, AdditionalDigest base64 SHA-256', () => {
  rejects(minimal({ files: file({ size: '12a' }) }), /Size must be/, 'Files/File/@Size');
  rejects(minimal({ files: file({ size: '-5' }) }), /Size must be/, 'Files/File/@Size');
  rejects(minimal({ files: file({ digest: 'AAAA' }) }), /base64 of 20 bytes/, 'Files/File/@Digest');
  rejects(minimal({ files: file({ digest: 'not base64 at all!!' }) }), /base64 of 20 bytes/, 'Files/File/@Digest');
  rejects(minimal({ files: file({ digest: sha256('x') }) }), /base64 of 20 bytes/, 'Files/File/@Digest');
  rejects(minimal({ files: file({ sha256: sha1('x') }) }), /base64 of 32 bytes/, 'Files/File/AdditionalDigest');
});

test('wrong root element', () => {
  const body = minimal().replace(/^<upd:Update xmlns:upd="[^"]*">/, '').replace(/<\/upd:Update>$/, '');
  rejects(`<Update>${body.replace(/upd:/g, '')}</Update>`, /root element must be/, 'Update');
  rejects(`<upd:Updates xmlns:upd="${UPD}">${body}</upd:Updates>`, /root element must be .*Updates/, 'Update');
  rejects(`<x:Update xmlns:x="urn:not-msus" xmlns:upd="${UPD}">${body}</x:Update>`, /urn:not-msus/, 'Update');
});

test('malformed XML and undefined references', () => {
  rejects(minimal().replace('</upd:Update>', ''), /not well-formed/);
  rejects(minimal().replace('</upd:Title>', '</upd:Titel>'), /not well-formed/);
  rejects(minimal() + '<second />', /not well-formed/);
  rejects(minimal().replace('>Minimal<', '>&nbsp;<'), /undefined or invalid reference/);
  rejects(minimal().replace('>Minimal<', '>A & B<'), /not well-formed|does not start a reference/);
  rejects(minimal().replace('>Minimal<', '>&#0;<'), /invalid reference/);
  rejects(minimal().replace('>Minimal<', '>\u0001<'), /not allowed in XML/);
  rejects(minimal().replace('<upd:Properties', '<nope:Properties').replace('</upd:Properties>', ''), /prefix 'nope' is not declared/);
  rejects(minimal().replace('RevisionNumber="100"', 'RevisionNumber="100" Note="a<b"'), /'<' in an attribute value/);
  rejects(minimal().replace('RevisionNumber="100"', 'RevisionNumber="100" RevisionNumber="101"'), /not well-formed|repeated/);
  rejects(minimal().replace('RevisionNumber="100"', 'RevisionNumber=100'), /not well-formed XML: unquoted attribute/);
  rejects(minimal().replace('RevisionNumber="100"', 'RevisionNumber="100'), /not well-formed|'<' in an attribute value/);
  rejects(minimal().replace('RevisionNumber="100"', 'RevisionNumber="100"Other="1"'), /separated by whitespace/);
  rejects('junk' + minimal(), /text before the root element/);
  rejects(minimal() + 'junk', /text after the root element/);
  rejects(minimal().replace('>Minimal<', '><!-- open<'), /unterminated comment/);
  rejects(minimal().replace('>Minimal<', '>< Minimal<'), /not well-formed/);
  rejects(minimal().replace('>Minimal<', '><![CDATA[x<'), /unterminated CDATA/);
});

test('comments, CDATA and processing instructions read as a conforming parser reads them', () => {
  const plain = parseUpdateDocument(minimal());
  const decorated = parseUpdateDocument('<?xml version="1.0"?><!-- c -->' +
    minimal().replace('>Minimal<', '>Min<!-- split --><![CDATA[im]]><?pi x?>al<') + '<!-- tail -->\n');
  assert.equal(decorated.title, plain.title);
  assert.deepEqual(decorated.fragments, plain.fragments);
});

// A driver document, pretty-printed with CRLF line ends as a publishing tool would write it.
const DRIVER_DOC = `<?xml version="1.0" encoding="utf-8"?>
<upd:Update xmlns:upd="${UPD}" xmlns:bar="${BAR}">
  <upd:UpdateIdentity UpdateID="0C4A3B2E-1F00-4A6B-9C1D-2E3F40506070" RevisionNumber="101" />
  <upd:Properties UpdateType="Driver" DefaultPropertiesLanguage="en" ExplicitlyDeployable="true" AutoSelectOnWebSites="false" PublicationState="Published" CreationDate="2024-03-01T10:00:00.000Z" IsPublic="true" MaxDownloadSize="2048" Handler="${DRV}" PerUser="false">
    <upd:SupportUrl>https://example.invalid/support</upd:SupportUrl>
  </upd:Properties>
  <upd:LocalizedPropertiesCollection>
    <upd:LocalizedProperties>
      <upd:Language>en</upd:Language>
      <upd:Title>Contoso - Net - 1.2.3.4</upd:Title>
      <upd:Description>Driver &amp; utilities</upd:Description>
    </upd:LocalizedProperties>
  </upd:LocalizedPropertiesCollection>
  <upd:Relationships>
    <upd:Prerequisites>
      <upd:AtLeastOne IsCategory="true"><upd:UpdateIdentity UpdateID="EBFC1FC5-71A4-4F7B-9ACA-3B9A503104A0" /></upd:AtLeastOne>
      <upd:AtLeastOne IsCategory="true">
        <upd:UpdateIdentity UpdateID="05eebf61-148b-43cf-80da-1c99ab0b8699" />
        <upd:UpdateIdentity UpdateID="34f268b4-7e2d-40e1-8966-8bb6ea3dad27" />
      </upd:AtLeastOne>
    </upd:Prerequisites>
  </upd:Relationships>
  <upd:ApplicabilityRules>
    <upd:IsInstalled><drv:WindowsDriverInstalled xmlns:drv="${DRV}" /></upd:IsInstalled>
    <upd:IsInstallable><bar:WindowsVersion Comparison="GreaterThanOrEqualTo" MajorVersion="10" /></upd:IsInstallable>
    <upd:Metadata>
      <drv:WindowsDriverMetaData xmlns:drv="${DRV}" HardwareID="PCI\\VEN_8086&amp;DEV_15F3" WhqlDriverID="12345" Manufacturer="Contoso" Company="Contoso" Provider="Contoso Ltd" Model="Contoso 2.5GbE" Class="Net" DriverVerDate="2023-11-02" DriverVerVersion="1.2.3.4">
        <drv:FeatureScore OperatingSystem="Windows10" FeatureScore="FF" />
        <drv:DistributionComputerHardwareId>{6f1c4c39-2b4e-4d6f-9a5c-3a3f1b1e0c11}</drv:DistributionComputerHardwareId>
      </drv:WindowsDriverMetaData>
      <drv:WindowsDriverMetaData xmlns:drv="${DRV}" HardwareID="PCI\\VEN_8086&amp;DEV_125C" Manufacturer="Contoso" Provider="Contoso Ltd" Model="Contoso 2.5GbE (B)" Class="Net" DriverVerDate="2023-11-02" DriverVerVersion="1.2.3.4" />
      <drv:WindowsDriverMetaData xmlns:drv="${DRV}" HardwareID="pci\\ven_8086&amp;dev_15f3" Class="Net" />
    </upd:Metadata>
  </upd:ApplicabilityRules>
  <upd:Files>
    <upd:File Digest="${sha1('driver')}" DigestAlgorithm="SHA1" FileName="contoso-net.cab" Size="2048" Modified="2023-11-03T00:00:00Z" PatchingType="SelfContained">
      <upd:AdditionalDigest Algorithm="SHA256">${sha256('driver')}</upd:AdditionalDigest>
    </upd:File>
  </upd:Files>
  <upd:HandlerSpecificData xsi:type="drv:WindowsDriver" xmlns:xsi="${XSI}" xmlns:drv="${DRV}" />
</upd:Update>
`.replace(/\n/g, '\r\n');

test('driver document: model, all hardware ids, Core empties d.WindowsDriverMetaData but keeps its attributes', () => {
  const p = parseUpdateDocument(DRIVER_DOC);
  assert.deepEqual(p.identity, { updateId: '0c4a3b2e-1f00-4a6b-9c1d-2e3f40506070', revisionNumber: 101 });
  assert.equal(p.updateType, 'Driver');
  assert.equal(p.title, 'Contoso - Net - 1.2.3.4');
  assert.equal(p.description, 'Driver & utilities');
  assert.equal(p.explicitlyDeployable, true);
  assert.equal(p.autoSelectOnWebSites, false);
  assert.equal(p.handler, DRV);
  assert.deepEqual(p.prerequisites, [
    { updateIds: ['ebfc1fc5-71a4-4f7b-9aca-3b9a503104a0'], isCategory: true },
    { updateIds: ['05eebf61-148b-43cf-80da-1c99ab0b8699', '34f268b4-7e2d-40e1-8966-8bb6ea3dad27'], isCategory: true },
  ]);
  assert.deepEqual(p.driver, {
    hardwareIds: ['PCI\\VEN_8086&DEV_15F3', 'PCI\\VEN_8086&DEV_125C'],
    driverClass: 'Net',
    manufacturer: 'Contoso',
    provider: 'Contoso Ltd',
    model: 'Contoso 2.5GbE',
    driverVerDate: '2023-11-02',
    driverVerVersion: '1.2.3.4',
  });
  assert.deepEqual(p.files, [
    {
      fileName: 'contoso-net.cab',
      size: 2048,
      sha1: sha1('driver'),
      sha256: sha256('driver'),
      modified: '2023-11-03T00:00:00Z',
      patchingType: 'SelfContained',
    },
  ]);
  assert.equal(
    p.fragments.core,
    '<UpdateIdentity UpdateID="0C4A3B2E-1F00-4A6B-9C1D-2E3F40506070" RevisionNumber="101" />' +
      '<Properties UpdateType="Driver" ExplicitlyDeployable="true" />' +
      '<Relationships><Prerequisites><AtLeastOne IsCategory="true"><UpdateIdentity UpdateID="EBFC1FC5-71A4-4F7B-9ACA-3B9A503104A0" /></AtLeastOne>' +
      '<AtLeastOne IsCategory="true"><UpdateIdentity UpdateID="05eebf61-148b-43cf-80da-1c99ab0b8699" /><UpdateIdentity UpdateID="34f268b4-7e2d-40e1-8966-8bb6ea3dad27" /></AtLeastOne></Prerequisites></Relationships>' +
      '<ApplicabilityRules><IsInstalled><d.WindowsDriverInstalled /></IsInstalled>' +
      '<IsInstallable><b.WindowsVersion Comparison="GreaterThanOrEqualTo" MajorVersion="10" /></IsInstallable>' +
      '<Metadata><d.WindowsDriverMetaData HardwareID="PCI\\VEN_8086&amp;DEV_15F3" WhqlDriverID="12345" Manufacturer="Contoso" Company="Contoso" Provider="Contoso Ltd" Model="Contoso 2.5GbE" Class="Net" DriverVerDate="2023-11-02" DriverVerVersion="1.2.3.4" />' +
      '<d.WindowsDriverMetaData HardwareID="PCI\\VEN_8086&amp;DEV_125C" Manufacturer="Contoso" Provider="Contoso Ltd" Model="Contoso 2.5GbE (B)" Class="Net" DriverVerDate="2023-11-02" DriverVerVersion="1.2.3.4" />' +
      '<d.WindowsDriverMetaData HardwareID="pci\\ven_8086&amp;dev_15f3" Class="Net" /></Metadata></ApplicabilityRules>',
  );
  assert.equal(
    p.fragments.extended,
    `<ExtendedProperties DefaultPropertiesLanguage="en" MaxDownloadSize="2048" Handler="${DRV}"><SupportUrl>https://example.invalid/support</SupportUrl></ExtendedProperties>` +
      `<Files><File Digest="${sha1('driver')}" DigestAlgorithm="SHA1" FileName="contoso-net.cab" Size="2048" Modified="2023-11-03T00:00:00Z" PatchingType="SelfContained">` +
      `<AdditionalDigest Algorithm="SHA256">${sha256('driver')}</AdditionalDigest></File></Files>` +
      '<HandlerSpecificData type="drv:WindowsDriver" />',
  );
  assert.deepEqual(p.fragments.localized, {
    en: '<LocalizedProperties><Language>en</Language><Title>Contoso - Net - 1.2.3.4</Title><Description>Driver &amp; utilities</Description></LocalizedProperties>',
  });
  assert.deepEqual(p.fragments.eula, {});
});

const EULA_ID = '9f0e2c5a-7b1d-4e8f-a2c3-d4e5f6a7b8c9';
const EULA_DOC =
  `<Update xmlns="${UPD}" xmlns:cmd="${CMD}">` +
  '<UpdateIdentity UpdateID="1a2b3c4d-0000-4000-8000-00000000abcd" RevisionNumber="3" />' +
  `<Properties DefaultPropertiesLanguage="de" AutoSelectOnWebSites="true" UpdateType="Software" EulaID="${EULA_ID}" ExplicitlyDeployable="true" MsrcSeverity="Important" PublicationState="Expired">` +
  '<KBArticleID>5001234</KBArticleID><KBArticleID>5001235</KBArticleID></Properties>' +
  '<LocalizedPropertiesCollection>' +
  `<EulaFile Digest="${sha1('eula-en')}" DigestAlgorithm="SHA1" FileName="eula_en.txt" Size="1234" Language="en"><AdditionalDigest Algorithm="SHA256">${sha256('eula-en')}</AdditionalDigest></EulaFile>` +
  `<EulaFile Digest="${sha1('eula-de')}" DigestAlgorithm="SHA1" FileName="eula_de.txt" Size="1300" Language="de" />` +
  '<LocalizedProperties><Language>en</Language><Title>Contoso Tool</Title></LocalizedProperties>' +
  '<LocalizedProperties><Language>de</Language><Title>Contoso Werkzeug</Title><Description>Beschreibung</Description></LocalizedProperties>' +
  '</LocalizedPropertiesCollection>' +
  `<Files><File Digest="${sha1('tool')}" DigestAlgorithm="SHA1" FileName="tool.exe" Size="99" /></Files>` +
  `<HandlerSpecificData xmlns:xsi="${XSI}" xsi:type="cmd:CommandLineInstallation">` +
  '<cmd:InstallCommand Program="tool.exe" Arguments="/q &quot;C:\\Program Files&quot;"><cmd:ReturnCode Code="0" Result="Succeeded" /></cmd:InstallCommand>' +
  '</HandlerSpecificData></Update>';

test('EULA document (Update namespace as the default namespace): Eula fragments, EulaID in Core only', () => {
  const p = parseUpdateDocument(EULA_DOC);
  assert.equal(p.defaultLanguage, 'de');
  assert.equal(p.title, 'Contoso Werkzeug');
  assert.equal(p.description, 'Beschreibung');
  assert.equal(p.publicationState, 'Expired');
  assert.equal(p.msrcSeverity, 'Important');
  assert.deepEqual(p.kbArticleIds, ['5001234', '5001235']);
  assert.equal(p.creationDate, undefined);
  assert.equal(
    p.fragments.core,
    '<UpdateIdentity UpdateID="1a2b3c4d-0000-4000-8000-00000000abcd" RevisionNumber="3" />' +
      `<Properties UpdateType="Software" ExplicitlyDeployable="true" AutoSelectOnWebSites="true" EulaID="${EULA_ID}" />`,
  );
  assert.equal(
    p.fragments.extended,
    '<ExtendedProperties DefaultPropertiesLanguage="de" MsrcSeverity="Important"><KBArticleID>5001234</KBArticleID><KBArticleID>5001235</KBArticleID></ExtendedProperties>' +
      `<Files><File Digest="${sha1('tool')}" DigestAlgorithm="SHA1" FileName="tool.exe" Size="99" /></Files>` +
      '<HandlerSpecificData type="cmd:CommandLineInstallation"><InstallCommand Program="tool.exe" Arguments="/q &quot;C:\\Program Files&quot;"><ReturnCode Code="0" Result="Succeeded" /></InstallCommand></HandlerSpecificData>',
  );
  assert.deepEqual(p.fragments.eula, {
    en: `<EulaFile Digest="${sha1('eula-en')}" DigestAlgorithm="SHA1" FileName="eula_en.txt" Size="1234" Language="en"><AdditionalDigest Algorithm="SHA256">${sha256('eula-en')}</AdditionalDigest></EulaFile>`,
    de: `<EulaFile Digest="${sha1('eula-de')}" DigestAlgorithm="SHA1" FileName="eula_de.txt" Size="1300" Language="de" />`,
  });
  assert.deepEqual(Object.keys(p.fragments.localized), ['en', 'de']);
  assert.deepEqual(
    p.files.map((f) => [f.fileName, f.isEula === true, f.sha256 !== undefined]),
    [
      ['tool.exe', false, false],
      ['eula_en.txt', true, true],
      ['eula_de.txt', true, false],
    ],
  );
});

test('escaping and references: decoded once, re-escaped the .NET way', () => {
  const rules =
    `<upd:ApplicabilityRules><upd:IsInstalled><lar:Or xmlns:lar="${LAR}">` +
    `<mar:MsiProductInstalled xmlns:mar="${MAR}" ProductCode="{11111111-2222-3333-4444-555555555555}" />` +
    `<bar:RegSz xmlns:bar="${BAR}" Key="HKEY_LOCAL_MACHINE" Subkey="A&amp;B &lt;x&gt; &quot;q&quot; &apos;s&apos; &#x41;&#66;" Value="tab\there" Data="line&#10;break&#13;&#9;" xml:lang="en" />` +
    '</lar:Or></upd:IsInstalled></upd:ApplicabilityRules>';
  const p = parseUpdateDocument(
    minimal({ rules }).replace('>Minimal<', '>a &lt;b&gt; &amp; <![CDATA[<i>&amp;</i>]]> ]]&gt;<'),
  );
  assert.equal(p.title, 'a <b> & <i>&amp;</i> ]]>');
  assert.match(p.fragments.localized['en']!, /<Title>a &lt;b&gt; &amp; &lt;i&gt;&amp;amp;&lt;\/i&gt; ]]&gt;<\/Title>/);
  assert.ok(
    p.fragments.core.endsWith(
      '<ApplicabilityRules><IsInstalled><Or><m.MsiProductInstalled ProductCode="{11111111-2222-3333-4444-555555555555}" />' +
        '<b.RegSz Key="HKEY_LOCAL_MACHINE" Subkey="A&amp;B &lt;x&gt; &quot;q&quot; \'s\' AB" Value="tab here" Data="line&#xA;break&#xD;&#x9;" xml:lang="en" />' +
        '</Or></IsInstalled></ApplicabilityRules>',
    ),
    p.fragments.core,
  );
});

test('a foreign namespace keeps a default declaration even when an msus ancestor declared it', () => {
  const rules =
    `<upd:ApplicabilityRules><upd:Metadata xmlns:asm="urn:schemas-microsoft-com:asm.v3">` +
    '<asm:assembly manifestVersion="1.0"><asm:assemblyIdentity name="Package_for_X" /></asm:assembly>' +
    '</upd:Metadata></upd:ApplicabilityRules>';
  const p = parseUpdateDocument(minimal({ rules }));
  assert.ok(
    p.fragments.core.endsWith(
      '<ApplicabilityRules><Metadata><assembly xmlns="urn:schemas-microsoft-com:asm.v3" manifestVersion="1.0"><assemblyIdentity name="Package_for_X" /></assembly></Metadata></ApplicabilityRules>',
    ),
    p.fragments.core,
  );
});

test('title falls back from the default language to en, then to the first node', () => {
  const withLangs = (def: string, langs: string[]): string =>
    `<upd:Update xmlns:upd="${UPD}"><upd:UpdateIdentity UpdateID="5e2c6b0e-1d7a-4c1f-9a51-0c3b1f1e2d3c" RevisionNumber="1" />` +
    `<upd:Properties UpdateType="Detectoid" DefaultPropertiesLanguage="${def}" /><upd:LocalizedPropertiesCollection>` +
    langs.map((l) => `<upd:LocalizedProperties><upd:Language>${l}</upd:Language><upd:Title>title-${l}</upd:Title></upd:LocalizedProperties>`).join('') +
    '</upd:LocalizedPropertiesCollection></upd:Update>';
  assert.equal(parseUpdateDocument(withLangs('fr', ['de', 'en', 'fr'])).title, 'title-fr');
  assert.equal(parseUpdateDocument(withLangs('ja', ['de', 'en'])).title, 'title-en');
  assert.equal(parseUpdateDocument(withLangs('ja', ['de', 'nl'])).title, 'title-de');
  const detectoid = parseUpdateDocument(withLangs('en', ['en']));
  assert.equal(detectoid.updateType, 'Detectoid');
  assert.equal(detectoid.fragments.core, '<UpdateIdentity UpdateID="5e2c6b0e-1d7a-4c1f-9a51-0c3b1f1e2d3c" RevisionNumber="1" /><Properties UpdateType="Detectoid" />');
  assert.equal(detectoid.fragments.extended, '<ExtendedProperties DefaultPropertiesLanguage="en" />');
});

test('whitespace-only text is formatting: a pretty-printed empty Properties still self-closes', () => {
  const p = parseUpdateDocument(minimal().replace('DefaultPropertiesLanguage="en" />', 'DefaultPropertiesLanguage="en">\n    </upd:Properties>'));
  assert.equal(p.fragments.extended, '<ExtendedProperties DefaultPropertiesLanguage="en" />');
});
