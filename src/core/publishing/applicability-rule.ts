// The manifest's applicability rule language and its validation. A rule is a JSON object with
// exactly one key naming the test; the tests are the subset of Microsoft's Base/Msi/Logical
// applicability vocabulary that third-party publishing needs (see notes/manifest-format.md).

import { ManifestError } from './manifest-error.js';
import {
  child, readArray, readBoolean, readChoice, readInteger, readMsiCode, readObject, readString, readVersion,
} from './manifest-values.js';

export type Comparison = 'LessThan' | 'LessThanOrEqualTo' | 'EqualTo' | 'GreaterThanOrEqualTo' | 'GreaterThan';
export type StringComparison = 'EqualTo' | 'Contains' | 'BeginsWith' | 'EndsWith';
export type Architecture = 'x86' | 'x64' | 'arm64';
export type ProductType = 'workstation' | 'domainController' | 'server';

/** Where a file lives: a CSIDL folder plus a relative path, or an absolute path (no Csidl). */
export interface FileLocation {
  csidl?: number;
  path: string;
}

/** Always HKEY_LOCAL_MACHINE: the only hive the rule schema lets a machine-wide scan read. */
export interface RegistryLocation {
  subkey: string;
  /** read the 32-bit (WOW6432Node) view on 64-bit Windows (`RegType32="true"`) */
  view32: boolean;
}

export type Rule =
  | { kind: 'and' | 'or'; rules: Rule[] }
  | { kind: 'not'; rule: Rule }
  | {
      kind: 'msiProductInstalled'; productCode: string; versionMin?: string; versionMax?: string;
      excludeVersionMin?: boolean; excludeVersionMax?: boolean; language?: number;
    }
  | { kind: 'msiPatchInstalled'; patchCode: string; productCode: string }
  | { kind: 'fileVersion'; file: FileLocation; comparison: Comparison; version: string }
  | { kind: 'fileExists'; file: FileLocation }
  | { kind: 'registryValue'; key: RegistryLocation; value: string; type: 'sz'; comparison: StringComparison; data: string }
  | { kind: 'registryValue'; key: RegistryLocation; value: string; type: 'dword'; comparison: Comparison; data: number }
  | { kind: 'registryValue'; key: RegistryLocation; value: string; type: 'version'; comparison: Comparison; data: string }
  | { kind: 'registryKeyExists'; key: RegistryLocation }
  | { kind: 'windowsVersion'; min?: WindowsVersionSpec; max?: WindowsVersionSpec; productType?: ProductType }
  | { kind: 'processor'; architectures: Architecture[] };

export interface WindowsVersionSpec {
  major: number;
  minor?: number;
  build?: number;
}

export const RULE_KINDS = [
  'and', 'or', 'not', 'msiProductInstalled', 'msiPatchInstalled', 'fileVersion', 'fileExists',
  'registryValue', 'registryKeyExists', 'windowsVersion', 'processor',
] as const;

const MAX_DEPTH = 24;
const MAX_CHILDREN = 64;

const COMPARISONS = new Map<string, Comparison>([
  ['lessThan', 'LessThan'], ['lessThanOrEqualTo', 'LessThanOrEqualTo'], ['equalTo', 'EqualTo'],
  ['greaterThanOrEqualTo', 'GreaterThanOrEqualTo'], ['greaterThan', 'GreaterThan'],
  ['<', 'LessThan'], ['<=', 'LessThanOrEqualTo'], ['=', 'EqualTo'], ['==', 'EqualTo'], ['>=', 'GreaterThanOrEqualTo'], ['>', 'GreaterThan'],
]);
const STRING_COMPARISONS = new Map<string, StringComparison>([
  ['equalTo', 'EqualTo'], ['contains', 'Contains'], ['beginsWith', 'BeginsWith'], ['endsWith', 'EndsWith'],
]);
const ARCHITECTURES = new Map<string, Architecture>([['x86', 'x86'], ['x64', 'x64'], ['arm64', 'arm64']]);
const PRODUCT_TYPES = new Map<string, ProductType>([
  ['workstation', 'workstation'], ['server', 'server'], ['domainController', 'domainController'],
]);
const REGISTRY_TYPES = new Map<string, 'sz' | 'dword' | 'version'>([['sz', 'sz'], ['dword', 'dword'], ['version', 'version']]);

/**
 * `%Name%` prefixes a path may start with, and the CSIDL each stands for. The Windows Update
 * service is a native process, so on 64-bit Windows %ProgramFiles% is the 64-bit folder.
 */
export const KNOWN_FOLDERS: ReadonlyMap<string, number> = new Map([
  ['%ProgramFiles%', 38], ['%ProgramFiles(x86)%', 42], ['%CommonProgramFiles%', 43], ['%CommonProgramFiles(x86)%', 44],
  ['%SystemRoot%', 36], ['%windir%', 36], ['%System32%', 37], ['%SysWOW64%', 41], ['%ProgramData%', 35],
]);

const PATH_FORBIDDEN = /["<>|?*]/;

function relativePath(raw: string, path: string): string {
  const rel = raw.replace(/\//g, '\\').replace(/^\\+/, '');
  if (rel === '') throw new ManifestError(path, 'names a folder but no file inside it');
  if (rel.includes(':') || rel.includes('%')) {
    throw new ManifestError(path, `'${raw}' must continue with a relative path like \\Vendor\\App\\app.exe`);
  }
  return `\\${rel}`;
}

function readFileLocation(fields: Map<string, unknown>, path: string): FileLocation {
  const at = child(path, 'path');
  const raw = readString(fields.get('path'), at, { max: 260 });
  if (PATH_FORBIDDEN.test(raw)) throw new ManifestError(at, 'contains a character Windows paths cannot hold (" < > | ? *)');
  const known = [...KNOWN_FOLDERS.keys()].join(', ');
  if (fields.has('csidl')) {
    const csidl = readInteger(fields.get('csidl'), child(path, 'csidl'), 0, 255);
    return { csidl, path: relativePath(raw, at) };
  }
  const m = /^(%[^%\\/]+%)(.*)$/.exec(raw);
  if (m) {
    const folder = [...KNOWN_FOLDERS].find(([name]) => name.toLowerCase() === m[1]!.toLowerCase());
    if (!folder) throw new ManifestError(at, `${m[1]} is not a known folder; use one of ${known}, or give csidl`);
    return { csidl: folder[1], path: relativePath(m[2]!, at) };
  }
  if (/^[A-Za-z]:[\\/]/.test(raw)) {
    const rest = raw.slice(2);
    if (rest.includes(':') || rest.includes('%')) throw new ManifestError(at, `'${raw}' is not a valid absolute path`);
    return { path: `${raw.slice(0, 2)}${rest.replace(/\//g, '\\')}` };
  }
  throw new ManifestError(at, `'${raw}' must start with a known folder (${known}) or a drive letter (C:\\...), or give csidl`);
}

function readRegistryKey(fields: Map<string, unknown>, path: string): RegistryLocation {
  const at = child(path, 'key');
  const raw = readString(fields.get('key'), at, { max: 1024 });
  const m = /^(HKLM|HKEY_LOCAL_MACHINE)\\+(.+)$/i.exec(raw.replace(/\//g, '\\'));
  if (!m) {
    throw new ManifestError(at, `'${raw.slice(0, 60)}' must be an HKLM key like HKLM\\SOFTWARE\\Vendor\\Product ` +
      '(applicability rules can only read HKEY_LOCAL_MACHINE)');
  }
  const subkey = m[2]!.replace(/\\+$/, '');
  if (subkey === '' || /\\\\/.test(subkey)) throw new ManifestError(at, 'has an empty key name between backslashes');
  const view32 = fields.has('view32') ? readBoolean(fields.get('view32'), child(path, 'view32')) : false;
  return { subkey, view32 };
}

function readWindowsVersion(value: unknown, path: string): WindowsVersionSpec {
  const allowed = 'use major.minor[.build], e.g. 10.0.19045 (Windows version rules cannot test the 4th, UBR part)';
  const s = typeof value === 'string' ? value.trim() : undefined;
  const m = s === undefined ? null : /^([0-9]{1,5})(?:\.([0-9]{1,5}))?(?:\.([0-9]{1,5}))?$/.exec(s);
  const parts = m ? [m[1], m[2], m[3]].filter((p): p is string => p !== undefined).map(Number) : [];
  if (!m || parts.some((n) => n > 65535)) throw new ManifestError(path, `'${String(value).slice(0, 40)}' is not a Windows version; ${allowed}`);
  const spec: WindowsVersionSpec = { major: parts[0]! };
  if (parts[1] !== undefined) spec.minor = parts[1];
  if (parts[2] !== undefined) spec.build = parts[2];
  return spec;
}

function readRegistryValue(f: Map<string, unknown>, path: string): Rule {
  const key = readRegistryKey(f, path);
  const value = readString(f.get('value') ?? '', child(path, 'value'), { max: 255, allowEmpty: true });
  const type = readChoice(f.get('type'), child(path, 'type'), REGISTRY_TYPES);
  const cmpAt = child(path, 'comparison');
  const dataAt = child(path, 'data');
  if (!f.has('data')) throw new ManifestError(dataAt, 'is required');
  switch (type) {
    case 'sz':
      return { kind: 'registryValue', key, value, type, comparison: readChoice(f.get('comparison'), cmpAt, STRING_COMPARISONS),
        data: readString(f.get('data'), dataAt, { max: 1024, allowEmpty: true }) };
    case 'dword':
      return { kind: 'registryValue', key, value, type, comparison: readChoice(f.get('comparison'), cmpAt, COMPARISONS),
        data: readInteger(f.get('data'), dataAt, 0, 0xffffffff) };
    case 'version':
      return { kind: 'registryValue', key, value, type, comparison: readChoice(f.get('comparison'), cmpAt, COMPARISONS),
        data: readVersion(f.get('data'), dataAt) };
  }
}

function required(f: Map<string, unknown>, key: string, path: string): unknown {
  if (!f.has(key)) throw new ManifestError(child(path, key), 'is required');
  return f.get(key);
}

export function readRule(value: unknown, path: string, depth = 0): Rule {
  if (depth > MAX_DEPTH) throw new ManifestError(path, `rules nest deeper than ${MAX_DEPTH} levels`);
  const outer = readObject(value, path, RULE_KINDS);
  if (outer.size !== 1) {
    throw new ManifestError(path, `a rule is an object with exactly one of these keys: ${RULE_KINDS.join(', ')}`);
  }
  const [kind, body] = [...outer][0]! as [(typeof RULE_KINDS)[number], unknown];
  const at = child(path, kind);
  switch (kind) {
    case 'and':
    case 'or': {
      const list = readArray(body, at, MAX_CHILDREN);
      if (list.length === 0) throw new ManifestError(at, 'must list at least one rule');
      return { kind, rules: list.map((r, i) => readRule(r, child(at, i), depth + 1)) };
    }
    case 'not':
      return { kind, rule: readRule(body, at, depth + 1) };
    case 'msiProductInstalled': {
      const f = readObject(body, at, ['productCode', 'versionMin', 'versionMax', 'excludeVersionMin', 'excludeVersionMax', 'language']);
      const rule: Rule = { kind, productCode: readMsiCode(required(f, 'productCode', at), child(at, 'productCode')) };
      if (f.has('versionMin')) rule.versionMin = readVersion(f.get('versionMin'), child(at, 'versionMin'));
      if (f.has('versionMax')) rule.versionMax = readVersion(f.get('versionMax'), child(at, 'versionMax'));
      if (f.has('excludeVersionMin')) rule.excludeVersionMin = readBoolean(f.get('excludeVersionMin'), child(at, 'excludeVersionMin'));
      if (f.has('excludeVersionMax')) rule.excludeVersionMax = readBoolean(f.get('excludeVersionMax'), child(at, 'excludeVersionMax'));
      if (f.has('language')) rule.language = readInteger(f.get('language'), child(at, 'language'), 0, 65535);
      return rule;
    }
    case 'msiPatchInstalled': {
      const f = readObject(body, at, ['patchCode', 'productCode']);
      return {
        kind,
        patchCode: readMsiCode(required(f, 'patchCode', at), child(at, 'patchCode')),
        productCode: readMsiCode(required(f, 'productCode', at), child(at, 'productCode')),
      };
    }
    case 'fileVersion': {
      const f = readObject(body, at, ['path', 'csidl', 'comparison', 'version']);
      required(f, 'path', at);
      return {
        kind, file: readFileLocation(f, at),
        comparison: readChoice(required(f, 'comparison', at), child(at, 'comparison'), COMPARISONS),
        version: readVersion(required(f, 'version', at), child(at, 'version')),
      };
    }
    case 'fileExists': {
      const f = readObject(body, at, ['path', 'csidl']);
      required(f, 'path', at);
      return { kind, file: readFileLocation(f, at) };
    }
    case 'registryValue': {
      const f = readObject(body, at, ['key', 'value', 'type', 'comparison', 'data', 'view32']);
      required(f, 'key', at);
      required(f, 'type', at);
      required(f, 'comparison', at);
      return readRegistryValue(f, at);
    }
    case 'registryKeyExists': {
      const f = readObject(body, at, ['key', 'view32']);
      required(f, 'key', at);
      return { kind, key: readRegistryKey(f, at) };
    }
    case 'windowsVersion': {
      const f = readObject(body, at, ['min', 'max', 'productType']);
      if (f.size === 0) throw new ManifestError(at, 'needs at least one of min, max, productType');
      const rule: Rule = { kind };
      if (f.has('min')) rule.min = readWindowsVersion(f.get('min'), child(at, 'min'));
      if (f.has('max')) rule.max = readWindowsVersion(f.get('max'), child(at, 'max'));
      if (f.has('productType')) rule.productType = readChoice(f.get('productType'), child(at, 'productType'), PRODUCT_TYPES);
      return rule;
    }
    case 'processor': {
      const list = Array.isArray(body) ? readArray(body, at, 3) : [body];
      if (list.length === 0) throw new ManifestError(at, 'must name at least one architecture (x86, x64, arm64)');
      const architectures = list.map((a, i) => readChoice(a, Array.isArray(body) ? child(at, i) : at, ARCHITECTURES));
      return { kind, architectures: [...new Set(architectures)] };
    }
  }
}
