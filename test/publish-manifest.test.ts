// Publishing manifest validation: every refusal is a ManifestError naming the JSON path and what
// is allowed there; CLI flags override the manifest; category ids are deterministic.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManifestError, parseManifest, payloadKindOf, type PublishSpec } from '../src/core/publishing/manifest.js';
import { productCategoryId, uuidV5, vendorCategoryId } from '../src/core/publishing/category-ids.js';
import { checkSpecForPayload } from '../src/core/publishing/payload-facts.js';
import { DomainError } from '../src/core/errors.js';

const BASE = { title: 'Acme Tool 2.0', vendor: 'Acme', product: 'Tool', classification: 'Updates' };
const INSTALLED = { fileVersion: { path: '%ProgramFiles%\\Acme\\tool.exe', comparison: 'greaterThanOrEqualTo', version: '2.0' } };

function refusal(json: unknown, field: string, message: RegExp, overrides = {}): ManifestError {
  let caught: unknown;
  try {
    parseManifest(json, overrides);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ManifestError, `expected a ManifestError for ${field}, got ${String(caught)}`);
  assert.ok(caught instanceof DomainError && caught.code === 'InvalidInput');
  assert.equal(caught.field, field, caught.message);
  assert.match(caught.message, message);
  assert.ok(caught.message.includes(field), 'the message names the path');
  return caught;
}

const withRule = (installed: unknown): unknown => ({ ...BASE, applicability: { installed } });

test('a minimal manifest gets the documented defaults', () => {
  const spec = parseManifest(BASE);
  assert.equal(spec.title, 'Acme Tool 2.0');
  assert.equal(spec.language, 'en');
  assert.deepEqual(spec.classification, { key: 'updates', id: 'cd5ffd1e-e932-4e3a-bf74-18bf0b1bbd83', title: 'Updates' });
  assert.deepEqual(spec.behavior, { reboot: 'CanRequestReboot', impact: 'Normal', requiresUserInput: false, requiresNetwork: false });
  assert.deepEqual(spec.supersedes, []);
  assert.equal(spec.vendor.id, vendorCategoryId('Acme'));
  assert.equal(spec.product.id, productCategoryId('Acme', 'Tool'));
});

test('a full manifest is normalised', () => {
  const spec = parseManifest({
    ...BASE, formatVersion: 1, description: 'Line one\r\nLine two', language: 'pt-BR', severity: 'important', kb: 'KB0501234',
    moreInfoUrl: 'https://acme.example/notes', supportUrl: 'http://acme.example/support', reboot: 'always', impact: 'minor',
    requiresUserInput: true, supersedes: ['{AAAAAAAA-0000-4000-8000-000000000001}'],
    install: { arguments: '/S /norestart', defaultResult: 'failed', rebootByDefault: true,
      returnCodes: [{ code: 0, result: 'succeeded' }, { code: 0x80070002, result: 'failed' }, { code: 3010, result: 'Succeeded', reboot: true }] },
    applicability: {
      installed: { and: [INSTALLED, { registryValue: { key: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Acme', value: 'Version', type: 'version', comparison: '>=', data: '2.0.1' } }] },
      installable: { and: [{ processor: ['x64', 'arm64'] }, { windowsVersion: { min: '10.0.19041', productType: 'workstation' } }, { not: { registryKeyExists: { key: 'HKLM\\SOFTWARE\\Acme\\Block', view32: true } } }] },
    },
  });
  assert.equal(spec.description, 'Line one\nLine two');
  assert.equal(spec.language, 'pt-br');
  assert.equal(spec.severity, 'Important');
  assert.equal(spec.kbArticleId, '501234');
  assert.equal(spec.behavior.reboot, 'AlwaysRequiresReboot');
  assert.equal(spec.behavior.impact, 'Minor');
  assert.deepEqual(spec.supersedes, ['aaaaaaaa-0000-4000-8000-000000000001']);
  assert.deepEqual(spec.install.returnCodes, [
    { code: 0, result: 'Succeeded', reboot: false }, { code: -2147024894, result: 'Failed', reboot: false }, { code: 3010, result: 'Succeeded', reboot: true },
  ]);
  const installed = spec.applicability.installed;
  assert.ok(installed?.kind === 'and');
  assert.deepEqual(installed.rules[0], { kind: 'fileVersion', file: { csidl: 38, path: '\\Acme\\tool.exe' }, comparison: 'GreaterThanOrEqualTo', version: '2.0.0.0' });
  assert.deepEqual(installed.rules[1], { kind: 'registryValue', key: { subkey: 'SOFTWARE\\Acme', view32: false }, value: 'Version', type: 'version', comparison: 'GreaterThanOrEqualTo', data: '2.0.1.0' });
});

test('CLI flags override the manifest, and can stand in for it entirely', () => {
  const spec = parseManifest({ ...BASE, install: { arguments: '/old' } },
    { title: 'Flag title', vendor: 'Other Vendor', product: 'Other Product', classification: 'securityUpdates', command: '/new /quiet' });
  assert.equal(spec.title, 'Flag title');
  assert.equal(spec.vendor.name, 'Other Vendor');
  assert.equal(spec.product.id, productCategoryId('Other Vendor', 'Other Product'));
  assert.equal(spec.classification.key, 'securityUpdates');
  assert.equal(spec.install.arguments, '/new /quiet');
  const flagsOnly = parseManifest(undefined, { title: 't', vendor: 'v', product: 'p', classification: 'tools' });
  assert.equal(flagsOnly.classification.title, 'Tools');
  const e = refusal(BASE, 'classification', /from --classification/, { classification: 'Bogus' });
  assert.match(e.message, /Security Updates \(securityUpdates\)/);
  refusal({ vendor: 'v', product: 'p', classification: 'tools' }, 'title', /required .*--title/);
});

test('classification: title or key, any case; unknown names list the valid ones', () => {
  for (const name of ['Security Updates', 'security updates', 'securityUpdates', 'SECURITY-UPDATES']) {
    assert.equal(parseManifest({ ...BASE, classification: name }).classification.key, 'securityUpdates');
  }
  const e = refusal({ ...BASE, classification: 'Hotfixes' }, 'classification', /'Hotfixes' is not a known classification/);
  for (const valid of ['Critical Updates', 'Security Updates', 'Definition Updates', 'Updates', 'Tools', 'Applications']) assert.match(e.message, new RegExp(valid));
  refusal({ ...BASE, classification: 'Upgrades' }, 'classification', /not a known classification/);
});

test('bad version strings name the field and say what a version is', () => {
  const at = 'applicability.installed.fileVersion.version';
  const rule = (version: unknown): unknown => withRule({ fileVersion: { path: '%ProgramFiles%\\a.exe', comparison: '>=', version } });
  refusal(rule('1.2.x'), at, /'1\.2\.x' is not a version; use 1 to 4 dot-separated whole numbers from 0 to 65535/);
  refusal(rule('1.2.3.4.5'), at, /has 5 parts/);
  refusal(rule('1.70000'), at, /70000 is larger than 65535/);
  refusal(rule(''), at, /is not a version/);
  refusal(rule(['1']), at, /must be a version string/);
  refusal({ ...BASE, msi: { productVersion: '1.0-beta' } }, 'msi.productVersion', /not a version/);
  refusal(withRule({ windowsVersion: { min: '10.0.19041.1000' } }), 'applicability.installed.windowsVersion.min', /UBR/);
});

test('unknown keys, polluting keys and non-objects are refused with their path', () => {
  refusal({ ...BASE, titel: 'x' }, 'titel', /unknown key; allowed here: formatVersion, title/);
  refusal({ ...BASE, install: { args: '/S' } }, 'install.args', /unknown key; allowed here: arguments, returnCodes/);
  refusal(withRule({ and: [INSTALLED, { fileVersion: { ...INSTALLED.fileVersion, extra: 1 } }] }), 'applicability.installed.and[1].fileVersion.extra', /unknown key/);
  refusal(withRule({ fileExists: { path: '%windir%\\x.dll' }, not: INSTALLED }), 'applicability.installed', /exactly one of these keys/);
  refusal(withRule({ regValue: {} }), 'applicability.installed.regValue', /unknown key; allowed here: and, or, not/);
  const polluted: unknown = JSON.parse(`{"title":"t","vendor":"v","product":"p","classification":"tools","__proto__":{"polluted":true}}`);
  refusal(polluted, '__proto__', /not allowed/);
  refusal({ ...BASE, applicability: JSON.parse('{"constructor":{}}') }, 'applicability.constructor', /not allowed/);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  refusal([BASE], '', /must be a JSON object, got an array/);
  refusal('{"title":"x"}', '', /must be a JSON object/);
  refusal({ ...BASE, install: null }, 'install', /must be a JSON object, got null/);
  refusal({ ...BASE, title: 42 }, 'title', /must be a string/);
  refusal({ ...BASE, title: 'x'.repeat(201) }, 'title', /201 characters long; at most 200/);
  refusal({ ...BASE, vendor: 'Acme\nEvil' }, 'vendor', /single line/);
  refusal({ ...BASE, title: '   ' }, 'title', /must not be empty/);
  refusal({ ...BASE, formatVersion: 2 }, 'formatVersion', /from 1 to 1/);
});

test('bad GUIDs and URLs name the field', () => {
  refusal({ ...BASE, vendorId: 'not-a-guid' }, 'vendorId', /must be a GUID/);
  refusal({ ...BASE, supersedes: ['aaaaaaaa-0000-4000-8000-000000000001', '1234'] }, 'supersedes[1]', /must be a GUID/);
  refusal(withRule({ msiProductInstalled: { productCode: '{1234}' } }), 'applicability.installed.msiProductInstalled.productCode', /must be a GUID/);
  refusal({ ...BASE, moreInfoUrl: 'ftp://acme.example/x' }, 'moreInfoUrl', /scheme ftp: is not allowed; use an http:\/\/ or https:\/\//);
  refusal({ ...BASE, supportUrl: 'javascript:alert(1)' }, 'supportUrl', /scheme javascript: is not allowed/);
  refusal({ ...BASE, supportUrl: 'acme.example/support' }, 'supportUrl', /not an absolute URL/);
  refusal({ ...BASE, supportUrl: 'https://user:pw@acme.example/' }, 'supportUrl', /user name or password/);
});

test('other rule and field errors are specific', () => {
  refusal(withRule({ fileVersion: { path: '%Desktop%\\a.exe', comparison: '>=', version: '1' } }), 'applicability.installed.fileVersion.path', /%Desktop% is not a known folder; use one of %ProgramFiles%/);
  refusal(withRule({ fileVersion: { path: 'relative\\a.exe', comparison: '>=', version: '1' } }), 'applicability.installed.fileVersion.path', /must start with a known folder/);
  refusal(withRule({ fileVersion: { path: '%ProgramFiles%\\a.exe', comparison: 'newer', version: '1' } }), 'applicability.installed.fileVersion.comparison', /must be one of lessThan/);
  refusal(withRule({ registryKeyExists: { key: 'HKCU\\Software\\Acme' } }), 'applicability.installed.registryKeyExists.key', /HKEY_LOCAL_MACHINE/);
  refusal(withRule({ registryValue: { key: 'HKLM\\SOFTWARE\\Acme', type: 'dword', comparison: '=', data: -1 } }), 'applicability.installed.registryValue.data', /from 0 to 4294967295/);
  refusal(withRule({ registryValue: { key: 'HKLM\\SOFTWARE\\Acme', type: 'sz', comparison: '>=', data: 'x' } }), 'applicability.installed.registryValue.comparison', /equalTo, contains, beginsWith, endsWith/);
  refusal(withRule({ processor: 'ia64' }), 'applicability.installed.processor', /x86, x64, arm64/);
  refusal(withRule({ and: [] }), 'applicability.installed.and', /at least one rule/);
  refusal({ ...BASE, severity: 'Severe' }, 'severity', /Critical, Important, Moderate, Low/);
  refusal({ ...BASE, kb: 'KB12a' }, 'kb', /Knowledge Base article number/);
  refusal({ ...BASE, reboot: 'sometimes' }, 'reboot', /never, canRequest, always/);
  refusal({ ...BASE, language: 'en_US' }, 'language', /not a language tag/);
  refusal({ ...BASE, install: { returnCodes: [{ code: 0, result: 'succeeded' }, { code: 0, result: 'failed' }] } }, 'install.returnCodes[1].code', /listed twice/);
  refusal({ ...BASE, install: { returnCodes: [{ code: 1, result: 'maybe' }] } }, 'install.returnCodes[0].result', /succeeded, failed, cancelled/);
  let deep: unknown = INSTALLED;
  for (let i = 0; i < 40; i++) deep = { not: deep };
  assert.throws(() => parseManifest(withRule(deep)), (e: unknown) => e instanceof ManifestError && /deeper than/.test(e.message));
});

test('category ids are name-based UUIDv5, stable across case and spacing, scoped by vendor', () => {
  // RFC 4122 test vector: the DNS namespace and www.example.com.
  assert.equal(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com'), '2ed6657d-e927-568b-95e1-2665a8aea6a2');
  assert.equal(vendorCategoryId('Acme Corp'), vendorCategoryId('  acme   CORP '));
  assert.equal(productCategoryId('Acme', 'Tool'), productCategoryId('ACME', 'tool'));
  assert.notEqual(productCategoryId('Acme', 'Tool'), productCategoryId('Other', 'Tool'));
  assert.notEqual(vendorCategoryId('Tool'), productCategoryId('Tool', 'Tool'));
  assert.match(vendorCategoryId('Acme'), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const a = parseManifest(BASE);
  const b = parseManifest({ ...BASE, vendor: 'ACME', product: 'tool' });
  assert.equal(a.vendor.id, b.vendor.id);
  assert.equal(a.product.id, b.product.id);
  const explicit = parseManifest({ ...BASE, vendorId: '{0A0A0A0A-0000-4000-8000-000000000001}', productId: '0a0a0a0a-0000-4000-8000-000000000002' });
  assert.equal(explicit.vendor.id, '0a0a0a0a-0000-4000-8000-000000000001');
  assert.equal(explicit.product.id, '0a0a0a0a-0000-4000-8000-000000000002');
});

test('payloadKindOf: extension and magic must agree', () => {
  const cfb = Buffer.from('D0CF11E0A1B11AE1', 'hex');
  const mz = Buffer.from('MZ\x90\x00\x03\x00\x00\x00', 'latin1');
  const mscf = Buffer.from('MSCF\x00\x00\x00\x00', 'latin1');
  assert.equal(payloadKindOf('app.msi', cfb), 'msi');
  assert.equal(payloadKindOf('fix.MSP', cfb), 'msp');
  assert.equal(payloadKindOf('setup.exe', mz), 'exe');
  assert.equal(payloadKindOf('windows10.0-kb1.msu', mscf), 'msu');
  const kind = (name: string, head: Uint8Array): ManifestError => {
    try {
      payloadKindOf(name, head);
    } catch (e) {
      assert.ok(e instanceof ManifestError);
      return e;
    }
    assert.fail(`${name} was accepted`);
  };
  assert.match(kind('app.msi', mz).message, /named \.msi but its content is a Windows executable/);
  assert.match(kind('setup.exe', cfb).message, /named \.exe but its content is a Windows Installer/);
  assert.match(kind('update.msu', mz).message, /named \.msu but its content is a Windows executable/);
  assert.match(kind('payload.cab', mscf).message, /extension \.cab; supported payloads are \.msi and \.msp/);
  assert.match(kind('readme', mz).message, /no extension/);
  assert.match(kind('app.msi', Buffer.from('D0CF', 'hex')).message, /too short/);
  assert.match(kind('..\\evil.exe', mz).message, /plain file name/);
  assert.match(kind('script.ps1', Buffer.from('Write-Host', 'latin1')).message, /extension \.ps1/);
});

test('spec vs payload: exe needs an installed rule; msi-only and exe-only fields are refused', () => {
  const check = (spec: PublishSpec, kind: 'exe' | 'msu' | 'msi' | 'msp', field: string, message: RegExp, msi?: Record<string, string>): void => {
    assert.throws(() => checkSpecForPayload(spec, { fileName: `x.${kind}`, kind, ...(msi ? { msi } : {}) }),
      (e: unknown) => e instanceof ManifestError && e.field === field && message.test(e.message));
  };
  check(parseManifest(BASE), 'exe', 'applicability.installed', /required for \.exe payloads.*offered it again/);
  check(parseManifest(BASE), 'msu', 'applicability.installed', /required for \.msu payloads/);
  check(parseManifest({ ...withRule(INSTALLED) as object, uninstall: {} }), 'exe', 'uninstall', /only \.msi and \.msp/);
  check(parseManifest({ ...BASE, install: { returnCodes: [{ code: 0, result: 'succeeded' }] } }), 'msi', 'install.returnCodes', /Windows Installer handler/, { ProductCode: '{AAAAAAAA-0000-4000-8000-000000000001}' });
  check(parseManifest(BASE), 'msi', 'msi.productCode', /no ProductCode/, {});
  check(parseManifest(BASE), 'msi', 'payload.msi.ProductCode', /must be a GUID/, { ProductCode: 'garbage' });
  check(parseManifest(BASE), 'msi', 'payload.msi.ProductVersion', /give msi\.productVersion/, { ProductCode: '{AAAAAAAA-0000-4000-8000-000000000001}', ProductVersion: '1.x' });
  check(parseManifest(BASE), 'msp', 'msp.targetProductCodes', /no target product/, { PatchCode: '{AAAAAAAA-0000-4000-8000-000000000001}' });
  check(parseManifest(BASE), 'msp', 'msp.patchCode', /PatchCode/, {});
  check(parseManifest({ ...withRule(INSTALLED) as object, msi: {} }), 'exe', 'msi', /only to Windows Installer/);
  const exe = checkSpecForPayload(parseManifest(withRule(INSTALLED)), { fileName: 'setup.exe', kind: 'exe' });
  assert.equal(exe.installed?.kind, 'fileVersion');
  assert.equal(exe.installable, undefined);
});
