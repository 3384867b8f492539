// The publishing manifest (documented in notes/manifest-format.md): untrusted JSON plus CLI
// flags in, one validated and normalised PublishSpec out. Nothing here reads files or the
// payload; payload facts (kind, MSI properties) meet the spec in payload-facts.ts.

import { CLASSIFICATION_IDS, CLASSIFICATION_TITLES, type ClassificationKey } from '../../fixtures/well-known-ids.js';
import { productCategoryId, vendorCategoryId } from './category-ids.js';
import { readRule, type Rule } from './applicability-rule.js';
import { ManifestError } from './manifest-error.js';
import {
  child, readArray, readBoolean, readChoice, readGuid, readInteger, readMsiCode, readObject, readString, readUrl, readVersion,
} from './manifest-values.js';

export { ManifestError } from './manifest-error.js';
export { payloadKindOf, type PayloadKind } from './payload-kind.js';
export type { Rule } from './applicability-rule.js';

export type MsrcSeverity = 'Critical' | 'Important' | 'Moderate' | 'Low';
export type InstallResult = 'Succeeded' | 'Failed' | 'Cancelled';
export type RebootBehavior = 'NeverReboots' | 'CanRequestReboot' | 'AlwaysRequiresReboot';
export type InstallImpact = 'Normal' | 'Minor' | 'RequiresExclusiveHandling';

export interface ReturnCodeSpec {
  /** signed 32-bit, as Windows reports process exit codes (0x80070002 → -2147024894) */
  code: number;
  result: InstallResult;
  reboot: boolean;
}

export interface PublishSpec {
  title: string;
  description?: string;
  /** language of title/description, e.g. `en`, `pt-br` */
  language: string;
  vendor: { name: string; id: string };
  product: { name: string; id: string };
  classification: { key: ClassificationKey; id: string; title: string };
  severity?: MsrcSeverity;
  /** digits only */
  kbArticleId?: string;
  moreInfoUrl?: string;
  supportUrl?: string;
  install: { arguments?: string; returnCodes?: ReturnCodeSpec[]; defaultResult?: InstallResult; rebootByDefault?: boolean };
  /** only Windows Installer payloads can be uninstalled by the client */
  uninstall?: { arguments?: string };
  behavior: { reboot: RebootBehavior; impact: InstallImpact; requiresUserInput: boolean; requiresNetwork: boolean };
  /** lower-case update ids this update supersedes */
  supersedes: string[];
  applicability: { installed?: Rule; installable?: Rule };
  /** overrides for what the MSI database says (codes `{UPPER}`, versions 4-part) */
  msi?: { productCode?: string; productVersion?: string };
  msp?: { patchCode?: string; targetProductCodes?: string[] };
}

/** CLI flags; each one, when given, replaces the manifest's field. */
export interface ManifestOverrides {
  title?: string;
  vendor?: string;
  product?: string;
  classification?: string;
  /** install arguments (`install.arguments`) */
  command?: string;
}

const TOP_KEYS = [
  'formatVersion', 'title', 'description', 'language', 'vendor', 'vendorId', 'product', 'productId', 'classification',
  'severity', 'kb', 'moreInfoUrl', 'supportUrl', 'install', 'uninstall', 'reboot', 'impact', 'requiresUserInput',
  'requiresNetwork', 'supersedes', 'applicability', 'msi', 'msp',
] as const;

export const LIMITS = { title: 200, description: 1500, name: 100, arguments: 2048, supersedes: 100, returnCodes: 64 } as const;
const LANGUAGE = /^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$/;

/**
 * Classifications a locally published software update may carry. Upgrades, driver sets and WSUS
 * infrastructure have client-side meanings (feature updates, driver ranking, WSUS self-update) that
 * a third-party package must not borrow.
 */
export const PUBLISHABLE_CLASSIFICATIONS: readonly ClassificationKey[] = [
  'criticalUpdates', 'securityUpdates', 'definitionUpdates', 'updates', 'updateRollups', 'servicePacks',
  'featurePacks', 'tools', 'drivers', 'applications',
];

const SEVERITIES = new Map<string, MsrcSeverity>([['Critical', 'Critical'], ['Important', 'Important'], ['Moderate', 'Moderate'], ['Low', 'Low']]);
const RESULTS = new Map<string, InstallResult>([['succeeded', 'Succeeded'], ['failed', 'Failed'], ['cancelled', 'Cancelled']]);
const REBOOTS = new Map<string, RebootBehavior>([['never', 'NeverReboots'], ['canRequest', 'CanRequestReboot'], ['always', 'AlwaysRequiresReboot']]);
const IMPACTS = new Map<string, InstallImpact>([['normal', 'Normal'], ['minor', 'Minor'], ['exclusive', 'RequiresExclusiveHandling']]);

const compact = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, '');

function readClassification(value: unknown, path: string): PublishSpec['classification'] {
  const wanted = typeof value === 'string' ? compact(value) : '';
  const key = PUBLISHABLE_CLASSIFICATIONS.find((k) => compact(k) === wanted || compact(CLASSIFICATION_TITLES[k]) === wanted);
  if (!key) {
    const valid = PUBLISHABLE_CLASSIFICATIONS.map((k) => `${CLASSIFICATION_TITLES[k]} (${k})`).join(', ');
    throw new ManifestError(path, `${typeof value === 'string' ? `'${value.slice(0, 60)}' is not a known classification` : 'must be a string'}; use one of: ${valid}`);
  }
  return { key, id: CLASSIFICATION_IDS[key], title: CLASSIFICATION_TITLES[key] };
}

function readKb(value: unknown, path: string): string {
  const s = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim().replace(/^KB/i, '') : undefined;
  if (s === undefined || !/^[0-9]{1,10}$/.test(s)) {
    throw new ManifestError(path, `must be a Knowledge Base article number (digits, optionally prefixed KB), got ${JSON.stringify(value)?.slice(0, 40)}`);
  }
  return String(Number(s));
}

function readReturnCodes(value: unknown, path: string): ReturnCodeSpec[] {
  const seen = new Set<number>();
  return readArray(value, path, LIMITS.returnCodes).map((entry, i) => {
    const at = child(path, i);
    const f = readObject(entry, at, ['code', 'result', 'reboot']);
    if (!f.has('code')) throw new ManifestError(child(at, 'code'), 'is required');
    if (!f.has('result')) throw new ManifestError(child(at, 'result'), 'is required');
    // Exit codes are DWORDs; metadata spells them signed (3010, -2147024894), so accept either spelling.
    let code = readInteger(f.get('code'), child(at, 'code'), -0x80000000, 0xffffffff);
    if (code > 0x7fffffff) code -= 0x100000000;
    if (seen.has(code)) throw new ManifestError(child(at, 'code'), `exit code ${code} is listed twice`);
    seen.add(code);
    const reboot = f.has('reboot') ? readBoolean(f.get('reboot'), child(at, 'reboot')) : false;
    return { code, result: readChoice(f.get('result'), child(at, 'result'), RESULTS), reboot };
  });
}

function readInstall(value: unknown, path: string): PublishSpec['install'] {
  const f = readObject(value, path, ['arguments', 'returnCodes', 'defaultResult', 'rebootByDefault']);
  const out: PublishSpec['install'] = {};
  if (f.has('arguments')) out.arguments = readString(f.get('arguments'), child(path, 'arguments'), { max: LIMITS.arguments });
  if (f.has('returnCodes')) out.returnCodes = readReturnCodes(f.get('returnCodes'), child(path, 'returnCodes'));
  if (f.has('defaultResult')) out.defaultResult = readChoice(f.get('defaultResult'), child(path, 'defaultResult'), RESULTS);
  if (f.has('rebootByDefault')) out.rebootByDefault = readBoolean(f.get('rebootByDefault'), child(path, 'rebootByDefault'));
  return out;
}

function readSupersedes(value: unknown, path: string, self: Set<string>): string[] {
  const ids = readArray(value, path, LIMITS.supersedes).map((v, i) => readGuid(v, child(path, i)));
  ids.forEach((id, i) => {
    if (self.has(id)) throw new ManifestError(child(path, i), 'an update cannot supersede its own vendor or product category');
  });
  return [...new Set(ids)];
}

function readName(value: unknown, path: string): string {
  return readString(value, path, { max: LIMITS.name });
}

/** Reads a field that a CLI flag may replace; an error about the flag's value says it came from the flag. */
function overridable<T>(manifest: Map<string, unknown>, field: string, flag: string | undefined, flagName: string, read: (v: unknown) => T): T {
  if (flag === undefined) {
    if (!manifest.has(field)) throw new ManifestError(field, `is required (in the manifest or as --${flagName})`);
    return read(manifest.get(field));
  }
  try {
    return read(flag);
  } catch (e) {
    throw e instanceof ManifestError ? new ManifestError(e.field, `${e.reason} (from --${flagName})`) : e;
  }
}

export function parseManifest(json: unknown, overrides: ManifestOverrides = {}): PublishSpec {
  const m = readObject(json ?? {}, '', TOP_KEYS);
  if (m.has('formatVersion')) readInteger(m.get('formatVersion'), 'formatVersion', 1, 1);
  const title = overridable(m, 'title', overrides.title, 'title', (v) => readString(v, 'title', { max: LIMITS.title }));
  const vendorName = overridable(m, 'vendor', overrides.vendor, 'vendor', (v) => readName(v, 'vendor'));
  const productName = overridable(m, 'product', overrides.product, 'product', (v) => readName(v, 'product'));
  const classification = overridable(m, 'classification', overrides.classification, 'classification', (v) => readClassification(v, 'classification'));

  const spec: PublishSpec = {
    title,
    language: 'en',
    vendor: { name: vendorName, id: m.has('vendorId') ? readGuid(m.get('vendorId'), 'vendorId') : vendorCategoryId(vendorName) },
    product: { name: productName, id: m.has('productId') ? readGuid(m.get('productId'), 'productId') : productCategoryId(vendorName, productName) },
    classification,
    install: m.has('install') ? readInstall(m.get('install'), 'install') : {},
    behavior: {
      reboot: m.has('reboot') ? readChoice(m.get('reboot'), 'reboot', REBOOTS) : 'CanRequestReboot',
      impact: m.has('impact') ? readChoice(m.get('impact'), 'impact', IMPACTS) : 'Normal',
      requiresUserInput: m.has('requiresUserInput') ? readBoolean(m.get('requiresUserInput'), 'requiresUserInput') : false,
      requiresNetwork: m.has('requiresNetwork') ? readBoolean(m.get('requiresNetwork'), 'requiresNetwork') : false,
    },
    supersedes: [],
    applicability: {},
  };
  if (spec.vendor.id === spec.product.id) throw new ManifestError('productId', 'must differ from vendorId');
  if (overrides.command !== undefined) {
    spec.install.arguments = overridable(m, 'install', overrides.command, 'command', (v) => readString(v, 'install.arguments', { max: LIMITS.arguments }));
  }
  if (m.has('description')) spec.description = readString(m.get('description'), 'description', { max: LIMITS.description, multiline: true });
  if (m.has('language')) {
    const lang = readString(m.get('language'), 'language', { max: 35 });
    if (!LANGUAGE.test(lang)) throw new ManifestError('language', `'${lang}' is not a language tag; use e.g. en, de, pt-br`);
    spec.language = lang.toLowerCase();
  }
  if (m.has('severity')) spec.severity = readChoice(m.get('severity'), 'severity', SEVERITIES);
  if (m.has('kb')) spec.kbArticleId = readKb(m.get('kb'), 'kb');
  if (m.has('moreInfoUrl')) spec.moreInfoUrl = readUrl(m.get('moreInfoUrl'), 'moreInfoUrl');
  if (m.has('supportUrl')) spec.supportUrl = readUrl(m.get('supportUrl'), 'supportUrl');
  if (m.has('uninstall')) {
    const f = readObject(m.get('uninstall'), 'uninstall', ['arguments']);
    spec.uninstall = f.has('arguments') ? { arguments: readString(f.get('arguments'), 'uninstall.arguments', { max: LIMITS.arguments }) } : {};
  }
  if (m.has('supersedes')) spec.supersedes = readSupersedes(m.get('supersedes'), 'supersedes', new Set([spec.vendor.id, spec.product.id]));
  if (m.has('applicability')) {
    const f = readObject(m.get('applicability'), 'applicability', ['installed', 'installable']);
    if (f.has('installed')) spec.applicability.installed = readRule(f.get('installed'), 'applicability.installed');
    if (f.has('installable')) spec.applicability.installable = readRule(f.get('installable'), 'applicability.installable');
  }
  if (m.has('msi')) {
    const f = readObject(m.get('msi'), 'msi', ['productCode', 'productVersion']);
    spec.msi = {};
    if (f.has('productCode')) spec.msi.productCode = readMsiCode(f.get('productCode'), 'msi.productCode');
    if (f.has('productVersion')) spec.msi.productVersion = readVersion(f.get('productVersion'), 'msi.productVersion');
  }
  if (m.has('msp')) {
    const f = readObject(m.get('msp'), 'msp', ['patchCode', 'targetProductCodes']);
    spec.msp = {};
    if (f.has('patchCode')) spec.msp.patchCode = readMsiCode(f.get('patchCode'), 'msp.patchCode');
    if (f.has('targetProductCodes')) {
      const list = readArray(f.get('targetProductCodes'), 'msp.targetProductCodes', 32);
      if (list.length === 0) throw new ManifestError('msp.targetProductCodes', 'must list at least one product code');
      spec.msp.targetProductCodes = [...new Set(list.map((v, i) => readMsiCode(v, child('msp.targetProductCodes', i))))];
    }
  }
  return spec;
}
