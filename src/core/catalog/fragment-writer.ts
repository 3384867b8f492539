// The namespace-free serialization WSUS uses for the client fragments (Core, Extended,
// LocalizedProperties, Eula). Windows Update Agents compare nothing structurally: they read
// these strings with their own parser, so the output copies what a real WSUS sends byte for
// byte (see test/fragments-real.test.ts): element names lose their namespace except for the
// three rule vocabularies that WUA knows by a short `b.`/`m.`/`d.` prefix, empty elements are
// written `<Name attr="v" />` as .NET's XmlWriter does, attribute order is the document's.

import { BASE_RULES_NS, DRIVER_NS, MSI_RULES_NS, MSUS_ROOT, XML_NS, XMLNS_NS, XSI_NS } from './msus-namespaces.js';
import { UpdateDocumentError } from './update-document-error.js';
import type { XmlElement } from './xml-tree.js';

export interface FragmentElement {
  name: string;
  attrs: Array<readonly [name: string, value: string]>;
  content: FragmentNode[];
}

export type FragmentNode = FragmentElement | string;

export const FRAGMENT_PREFIXES: ReadonlyMap<string, string> = new Map([
  [BASE_RULES_NS, 'b.'],
  [MSI_RULES_NS, 'm.'],
  [DRIVER_NS, 'd.'],
]);

export interface FlattenOptions {
  /** elements written with their attributes but without any content */
  emptied?: (el: XmlElement, parent: XmlElement | undefined) => boolean;
}

/**
 * Namespaces outside Microsoft's update schemas (the CBS manifest's `urn:schemas-microsoft-com:asm.v3`,
 * the MSI patch applicability schema) are payload the client hands to another component, so WSUS
 * keeps them as a default-namespace declaration instead of stripping them.
 */
function isForeign(ns: string): boolean {
  return ns !== '' && !ns.startsWith(MSUS_ROOT);
}

function attributeName(ns: string, local: string): string {
  // `xsi:type="cat:Category"` is observed as `type="cat:Category"`; every other qualifier is dropped
  // too, except `xml:` which is bound in every document and so still means the same thing.
  return ns === XML_NS ? `xml:${local}` : local;
}

function flattenIn(el: XmlElement, options: FlattenOptions, outerDefault: string, parent: XmlElement | undefined): FragmentElement {
  const outNs = isForeign(el.ns) ? el.ns : '';
  const name = (FRAGMENT_PREFIXES.get(el.ns) ?? '') + el.local;
  const attrs: Array<readonly [string, string]> = [];
  const names = new Set<string>();
  let declared = false;
  for (const a of el.attrs) {
    if (a.ns === XMLNS_NS) {
      // The document's own declaration keeps its position (the CBS reference has it first).
      if (a.prefix === '' && outNs !== '' && a.value === outNs && outNs !== outerDefault && !declared) {
        attrs.push(['xmlns', a.value]);
        names.add('xmlns');
        declared = true;
      }
      continue;
    }
    const n = a.ns === XSI_NS ? a.local : attributeName(a.ns, a.local);
    if (names.has(n)) {
      throw new UpdateDocumentError(`attributes of <${name}> collide once namespaces are stripped: '${n}'`);
    }
    names.add(n);
    attrs.push([n, a.value]);
  }
  // A foreign element whose namespace was declared on a stripped ancestor still needs it.
  if (outNs !== outerDefault && !declared) attrs.unshift(['xmlns', outNs]);
  const content: FragmentNode[] = [];
  if (!options.emptied?.(el, parent)) {
    for (const c of el.content) {
      content.push(typeof c === 'string' ? c : flattenIn(c, options, outNs, el));
    }
  }
  return { name, attrs, content };
}

/** Strips namespaces from `el` and its subtree, applying the `b.`/`m.`/`d.` prefixes. */
export function flatten(el: XmlElement, options: FlattenOptions = {}): FragmentElement {
  return flattenIn(el, options, '', undefined);
}

const TEXT_SPECIAL = /[&<>\r]/g;
const ATTR_SPECIAL = /[&<>"\t\n\r]/g;
const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\t': '&#x9;',
  '\n': '&#xA;',
  '\r': '&#xD;',
};
const escapeOne = (c: string): string => ESCAPES[c]!;

// Whitespace characters are entitized where a parser would otherwise normalize them away
// (.NET XmlWriter spelling), so a value survives the client's parse unchanged.
export function escapeFragmentText(s: string): string {
  return s.replace(TEXT_SPECIAL, escapeOne);
}

export function escapeFragmentAttr(s: string): string {
  return s.replace(ATTR_SPECIAL, escapeOne);
}

function writeElement(el: FragmentElement, out: string[]): void {
  out.push('<', el.name);
  for (const [n, v] of el.attrs) out.push(' ', n, '="', escapeFragmentAttr(v), '"');
  if (el.content.length === 0) {
    out.push(' />');
    return;
  }
  out.push('>');
  for (const c of el.content) {
    if (typeof c === 'string') out.push(escapeFragmentText(c));
    else writeElement(c, out);
  }
  out.push('</', el.name, '>');
}

/** Writes the elements one after the other with nothing between them (a fragment has no wrapper). */
export function writeFragment(elements: readonly FragmentElement[]): string {
  const out: string[] = [];
  for (const el of elements) writeElement(el, out);
  return out.join('');
}
