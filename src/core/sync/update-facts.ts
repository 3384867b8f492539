import { BASE_RULES_NS, UPD_NS } from '../catalog/msus-namespaces.js';
import { localizedLanguage } from '../catalog/derive-fragments.js';
import { readBundledUpdates, readIdentity } from '../catalog/update-fields.js';
import { UpdateDocumentError } from '../catalog/update-document-error.js';
import { attribute, childElement, childElements, type XmlElement } from '../catalog/xml-tree.js';
import type { Architecture, UpdateFacts } from './exclusion-rules.js';

// The few fields exclusion rules look at, read from the element tree without deriving
// fragments (about a third of a full parse). The title is chosen exactly as the catalog
// chooses it (default language, else English, else the first), so a rule matches what the
// admin sees in listings.

/** PROCESSOR_ARCHITECTURE_* values of b:Processor/@Architecture. */
const PROCESSOR: Readonly<Record<string, Architecture>> = { 0: 'x86', 6: 'ia64', 9: 'x64', 12: 'arm64' };

function pickTitle(root: XmlElement, defaultLanguage: string): string {
  const all = childElements(childElement(root, UPD_NS, 'LocalizedPropertiesCollection'), UPD_NS, 'LocalizedProperties');
  const byLanguage = (lang: string) => all.find((lp) => localizedLanguage(lp)?.toLowerCase() === lang.toLowerCase());
  const lp = byLanguage(defaultLanguage) ?? byLanguage('en') ?? all[0];
  return lp ? (childElement(lp, UPD_NS, 'Title')?.text ?? '') : '';
}

/** Processor rules outside any `Not`: a negated one says what the update is NOT for. */
function processorHints(el: XmlElement, out: Set<Architecture>): void {
  for (const c of el.children) {
    if (c.local === 'Not') continue;
    if (c.ns === BASE_RULES_NS && c.local === 'Processor') {
      const arch = PROCESSOR[attribute(c, 'Architecture') ?? ''];
      if (arch) out.add(arch);
    }
    processorHints(c, out);
  }
}

export function factsFromTree(root: XmlElement): UpdateFacts {
  const identityEl = childElement(root, UPD_NS, 'UpdateIdentity');
  if (!identityEl) throw new UpdateDocumentError('missing UpdateIdentity', 'UpdateIdentity');
  const identity = readIdentity(identityEl, 'UpdateIdentity', true);
  const props = childElement(root, UPD_NS, 'Properties');
  const defaultLanguage = attribute(props, 'DefaultPropertiesLanguage')?.trim() || 'en';
  const hints = new Set<Architecture>();
  const rules = childElement(root, UPD_NS, 'ApplicabilityRules');
  if (rules) processorHints(rules, hints);
  return {
    updateId: identity.updateId,
    revisionNumber: identity.revisionNumber,
    updateType: attribute(props, 'UpdateType') ?? '',
    title: pickTitle(root, defaultLanguage),
    kbArticleIds: childElements(props, UPD_NS, 'KBArticleID').map((e) => e.text.trim()).filter((t) => t !== ''),
    bundled: readBundledUpdates(childElement(root, UPD_NS, 'Relationships')).map((b) => b.updateId),
    processorArchitectures: [...hints],
  };
}
