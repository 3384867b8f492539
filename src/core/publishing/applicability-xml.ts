// Renders validated rules as `bar:`/`lar:`/`msiar:` elements. The namespaces are declared on the
// document root; the Core fragment later turns them into the `b.`/`m.`/bare names WUA reads.

import type { Architecture, FileLocation, ProductType, RegistryLocation, Rule, WindowsVersionSpec } from './applicability-rule.js';
import { empty, type AttrList } from './xml-parts.js';

/** PROCESSOR_ARCHITECTURE_* values the `Processor` rule compares with. */
const ARCHITECTURE_CODE: Record<Architecture, number> = { x86: 0, x64: 9, arm64: 12 };
/** OSVERSIONINFOEX wProductType values (VER_NT_*). */
const PRODUCT_TYPE_CODE: Record<ProductType, number> = { workstation: 1, domainController: 2, server: 3 };
const HKLM = 'HKEY_LOCAL_MACHINE';

function fileAttrs(file: FileLocation): AttrList {
  return [['Path', file.path], ['Csidl', file.csidl]];
}

function registryAttrs(key: RegistryLocation, value?: string): AttrList {
  return [['Key', HKLM], ['Subkey', key.subkey], ['Value', value]];
}

function view32(key: RegistryLocation): AttrList {
  return key.view32 ? [['RegType32', 'true']] : [];
}

function windowsVersion(comparison: string, v: WindowsVersionSpec | undefined, productType: ProductType | undefined): string {
  return empty('bar:WindowsVersion', [
    ['Comparison', comparison], ['MajorVersion', v?.major], ['MinorVersion', v?.minor], ['BuildNumber', v?.build],
    ['ProductType', productType ? PRODUCT_TYPE_CODE[productType] : undefined],
  ]);
}

function logical(name: 'And' | 'Or', children: string[]): string {
  return children.length === 1 ? children[0]! : `<lar:${name}>${children.join('')}</lar:${name}>`;
}

export function ruleXml(rule: Rule): string {
  switch (rule.kind) {
    case 'and':
      return `<lar:And>${rule.rules.map(ruleXml).join('')}</lar:And>`;
    case 'or':
      return `<lar:Or>${rule.rules.map(ruleXml).join('')}</lar:Or>`;
    case 'not':
      return `<lar:Not>${ruleXml(rule.rule)}</lar:Not>`;
    case 'msiProductInstalled':
      return empty('msiar:MsiProductInstalled', [
        ['ProductCode', rule.productCode], ['VersionMin', rule.versionMin], ['ExcludeVersionMin', rule.excludeVersionMin],
        ['VersionMax', rule.versionMax], ['ExcludeVersionMax', rule.excludeVersionMax], ['Language', rule.language],
      ]);
    case 'msiPatchInstalled':
      return empty('msiar:MsiPatchInstalledForProduct', [['PatchCode', rule.patchCode], ['ProductCode', rule.productCode]]);
    case 'fileVersion':
      return empty('bar:FileVersion', [...fileAttrs(rule.file), ['Comparison', rule.comparison], ['Version', rule.version]]);
    case 'fileExists':
      return empty('bar:FileExists', fileAttrs(rule.file));
    case 'registryValue': {
      const element = { sz: 'bar:RegSz', dword: 'bar:RegDword', version: 'bar:RegSzToVersion' }[rule.type];
      return empty(element, [...registryAttrs(rule.key, rule.value), ['Comparison', rule.comparison], ['Data', rule.data], ...view32(rule.key)]);
    }
    case 'registryKeyExists':
      return empty('bar:RegKeyExists', [...registryAttrs(rule.key), ...view32(rule.key)]);
    case 'windowsVersion': {
      // VerifyVersionInfo semantics: the comparison covers major/minor/build, ProductType is always equality.
      const parts: string[] = [];
      if (rule.min) parts.push(windowsVersion('GreaterThanOrEqualTo', rule.min, rule.productType));
      if (rule.max) parts.push(windowsVersion('LessThanOrEqualTo', rule.max, rule.min ? undefined : rule.productType));
      if (!rule.min && !rule.max) parts.push(windowsVersion('EqualTo', undefined, rule.productType));
      return logical('And', parts);
    }
    case 'processor':
      return logical('Or', rule.architectures.map((a) => empty('bar:Processor', [['Architecture', ARCHITECTURE_CODE[a]]])));
  }
}

/** `<upd:ApplicabilityRules>` with the two rule slots WUA evaluates; absent slots are left out. */
export function applicabilityRulesXml(installed: Rule | undefined, installable: Rule | undefined): string {
  if (!installed && !installable) return '';
  let out = '<upd:ApplicabilityRules>';
  if (installed) out += `<upd:IsInstalled>${ruleXml(installed)}</upd:IsInstalled>`;
  if (installable) out += `<upd:IsInstallable>${ruleXml(installable)}</upd:IsInstallable>`;
  return `${out}</upd:ApplicabilityRules>`;
}
