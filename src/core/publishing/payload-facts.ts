// Where the manifest meets the payload: which handler-specific facts (MSI product code, patch
// code, targets) apply, whether the spec is usable for this kind of payload, and the default
// applicability rules. Values read from the MSI database are as untrusted as the manifest.

import type { Rule } from './applicability-rule.js';
import type { PayloadKind } from './payload-kind.js';
import { checkPayloadFileName } from './payload-kind.js';
import type { PublishSpec } from './manifest.js';
import { ManifestError } from './manifest-error.js';
import { readMsiCode, readVersion } from './manifest-values.js';

export interface PublishPayload {
  /** the installer's own name, as it is stored inside the CAB */
  fileName: string;
  kind: PayloadKind;
  /** readMsiProperties output for .msi/.msp payloads */
  msi?: Record<string, string>;
}

export interface PayloadFacts {
  kind: PayloadKind;
  productCode?: string;
  productVersion?: string;
  patchCode?: string;
  targetProductCodes?: string[];
  installed?: Rule;
  installable?: Rule;
}

function property(msi: Record<string, string> | undefined, name: string): string | undefined {
  return msi && Object.hasOwn(msi, name) && typeof msi[name] === 'string' && msi[name] !== '' ? msi[name] : undefined;
}

function msiFacts(spec: PublishSpec, payload: PublishPayload): PayloadFacts {
  const fromFile = property(payload.msi, 'ProductCode');
  const productCode = spec.msi?.productCode ?? (fromFile !== undefined ? readMsiCode(fromFile, 'payload.msi.ProductCode') : undefined);
  if (!productCode) throw new ManifestError('msi.productCode', 'the MSI database has no ProductCode property; give msi.productCode in the manifest');
  const versionFromFile = property(payload.msi, 'ProductVersion');
  let productVersion = spec.msi?.productVersion;
  if (productVersion === undefined && versionFromFile !== undefined) {
    try {
      productVersion = readVersion(versionFromFile, 'payload.msi.ProductVersion');
    } catch (e) {
      throw e instanceof ManifestError ? new ManifestError(e.field, `${e.reason}; give msi.productVersion in the manifest`) : e;
    }
  }
  // Installed once this product is present at this version or later; a later version of the
  // same product code (a minor upgrade) counts as installed too.
  const present: Rule = { kind: 'msiProductInstalled', productCode, ...(productVersion ? { versionMin: productVersion } : {}) };
  return {
    kind: 'msi', productCode, ...(productVersion ? { productVersion } : {}),
    installed: spec.applicability.installed ?? present,
    installable: spec.applicability.installable ?? { kind: 'not', rule: present },
  };
}

function mspFacts(spec: PublishSpec, payload: PublishPayload): PayloadFacts {
  const patchFromFile = property(payload.msi, 'PatchCode');
  const patchCode = spec.msp?.patchCode ?? (patchFromFile !== undefined ? readMsiCode(patchFromFile, 'payload.msi.PatchCode') : undefined);
  if (!patchCode) throw new ManifestError('msp.patchCode', 'the patch has no readable PatchCode; give msp.patchCode in the manifest');
  const targetsFromFile = property(payload.msi, 'TargetProductCodes') ?? property(payload.msi, 'TargetProductCode');
  const targets = spec.msp?.targetProductCodes ??
    targetsFromFile?.split(';').map((s) => s.trim()).filter((s) => s !== '').map((s) => readMsiCode(s, 'payload.msi.TargetProductCodes'));
  const { installed, installable } = spec.applicability;
  if ((!targets || targets.length === 0) && (!installed || !installable)) {
    throw new ManifestError('msp.targetProductCodes', 'the patch names no target product; give msp.targetProductCodes ' +
      '(or both applicability.installed and applicability.installable)');
  }
  const unique = [...new Set(targets ?? [])];
  const anyOf = (rules: Rule[]): Rule => (rules.length === 1 ? rules[0]! : { kind: 'or', rules });
  const patchFor = (productCode: string): Rule => ({ kind: 'msiPatchInstalled', patchCode, productCode });
  return {
    kind: 'msp', patchCode, targetProductCodes: unique,
    // Installed when the patch is on any target; installable where a target is present without it.
    installed: installed ?? anyOf(unique.map(patchFor)),
    installable: installable ?? anyOf(unique.map((p): Rule => ({
      kind: 'and', rules: [{ kind: 'msiProductInstalled', productCode: p }, { kind: 'not', rule: patchFor(p) }],
    }))),
  };
}

/**
 * Checks that `spec` can describe this payload and resolves the handler facts and rules.
 * Call it before building anything: every refusal is a ManifestError naming the field to fix.
 */
export function checkSpecForPayload(spec: PublishSpec, payload: PublishPayload): PayloadFacts {
  checkPayloadFileName(payload.fileName);
  const windowsInstaller = payload.kind === 'msi' || payload.kind === 'msp';
  if (windowsInstaller) {
    // The Windows Installer handler runs msiexec itself and interprets its results; its handler
    // data has no place for exit codes, so accepting them would silently ignore them.
    for (const key of ['returnCodes', 'defaultResult', 'rebootByDefault'] as const) {
      if (spec.install[key] !== undefined) {
        throw new ManifestError(`install.${key}`, `applies only to .exe and .msu payloads; the Windows Installer handler interprets msiexec results itself`);
      }
    }
    return payload.kind === 'msi' ? msiFacts(spec, payload) : mspFacts(spec, payload);
  }
  if (spec.uninstall) {
    throw new ManifestError('uninstall', 'only .msi and .msp payloads can be uninstalled through Windows Update; remove it for .exe/.msu payloads');
  }
  if (spec.msi || spec.msp) {
    throw new ManifestError(spec.msi ? 'msi' : 'msp', `applies only to Windows Installer payloads, not to a .${payload.kind} payload`);
  }
  if (!spec.applicability.installed) {
    // Without it the client cannot tell the update is installed and would offer it forever.
    throw new ManifestError('applicability.installed', `is required for .${payload.kind} payloads: describe what is true once the ` +
      'update is installed (e.g. a fileVersion or registryValue rule), otherwise clients are offered it again after every install');
  }
  return { kind: payload.kind, installed: spec.applicability.installed, ...(spec.applicability.installable ? { installable: spec.applicability.installable } : {}) };
}
