// A namespace-aware element tree built from fast-xml-parser's ordered output. The update
// documents redeclare prefixes on individual elements (`xmlns:bar=` on every rule), so names are
// resolved here against an in-scope declaration stack and everything downstream matches on
// namespace URIs, never on the prefixes an upstream happened to choose.

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { XML_NS, XMLNS_NS } from './msus-namespaces.js';
import { UpdateDocumentError } from './update-document-error.js';
import { assertNoForbiddenChars, decodeAttributeValue, decodeReferences, normalizeLineEnds } from './xml-text.js';

export interface XmlAttr {
  /** name as written, e.g. `xsi:type`, `xmlns:bar`, `UpdateID` */
  qname: string;
  prefix: string;
  local: string;
  /** resolved namespace ('' for unqualified attributes; XMLNS_NS for declarations) */
  ns: string;
  value: string;
}

export interface XmlElement {
  ns: string;
  local: string;
  prefix: string;
  /** attributes in document order, namespace declarations included */
  attrs: XmlAttr[];
  /** element children only */
  children: XmlElement[];
  /** elements and text in document order */
  content: XmlContent[];
  /** the element's own text, concatenated */
  text: string;
}

export type XmlContent = XmlElement | string;

export interface XmlTreeLimits {
  maxBytes: number;
  maxDepth: number;
}

type OrderedNode = Record<string, unknown>;
type Scope = ReadonlyMap<string, string>;

const NAME = /^[A-Za-z_\u00C0-\uFFFF][A-Za-z0-9_.\-\u00B7\u00C0-\uFFFF]*$/;
const DTD_MARKUP = /<!(?:DOCTYPE|ENTITY)/i;
const XML_SPACE_ONLY = /^[ \t\n\r]*$/;
const ROOT_SCOPE: Scope = new Map([['xml', XML_NS]]);

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // References are resolved by xml-text.ts in one pass (see there for why).
  processEntities: false,
  htmlEntities: false,
  allowBooleanAttributes: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: '#cdata',
  commentPropName: false,
  removeNSPrefix: false,
});

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Size and DTD refusal: both run before the parser sees a byte. */
function assertAcceptableInput(xml: string, maxBytes: number): void {
  // UTF-8 never takes fewer bytes than UTF-16 code units, so the cheap test is exact in one direction.
  if (xml.length > maxBytes || utf8Length(xml) > maxBytes) {
    throw new UpdateDocumentError(`document exceeds the size limit of ${maxBytes} bytes`);
  }
  // Entity expansion and external entities are the XML attack surface; update metadata never needs a DTD.
  if (DTD_MARKUP.test(xml)) {
    throw new UpdateDocumentError('DTDs and entity declarations (<!DOCTYPE, <!ENTITY) are not accepted');
  }
}

function splitName(qname: string, what: string): [prefix: string, local: string] {
  const name = qname === '#__proto__' ? '__proto__' : qname;
  const colon = name.indexOf(':');
  const prefix = colon < 0 ? '' : name.slice(0, colon);
  const local = colon < 0 ? name : name.slice(colon + 1);
  if (!NAME.test(local) || (colon >= 0 && !NAME.test(prefix))) {
    throw new UpdateDocumentError(`invalid ${what} name '${name.slice(0, 64)}'`);
  }
  return [prefix, local];
}

function tagOf(node: OrderedNode): string | undefined {
  for (const key of Object.keys(node)) if (key !== ':@') return key;
  return undefined;
}

function textOf(nodes: unknown): string {
  let s = '';
  for (const n of nodes as OrderedNode[]) if (typeof n['#text'] === 'string') s += n['#text'];
  return s;
}

function readAttributes(node: OrderedNode, path: string): { attrs: XmlAttr[]; scope: Map<string, string> | undefined } {
  const raw = node[':@'] as Record<string, string> | undefined;
  const attrs: XmlAttr[] = [];
  let declared: Map<string, string> | undefined;
  if (!raw) return { attrs, scope: declared };
  for (const key of Object.keys(raw)) {
    const [prefix, local] = splitName(key, 'attribute');
    const qname = prefix ? `${prefix}:${local}` : local;
    const value = decodeAttributeValue(String(raw[key]), `${path}/@${qname}`);
    const isDecl = prefix === 'xmlns' || (prefix === '' && local === 'xmlns');
    if (isDecl) {
      const bound = prefix === '' ? '' : local;
      if (bound === 'xmlns' || (bound !== 'xml' && value === XML_NS) || (bound === 'xml' && value !== XML_NS)) {
        throw new UpdateDocumentError(`${path}: reserved namespace binding '${qname}'`);
      }
      if (bound !== '' && value === '') {
        throw new UpdateDocumentError(`${path}: prefix '${bound}' cannot be undeclared`);
      }
      (declared ??= new Map()).set(bound, value);
    }
    attrs.push({ qname, prefix, local, ns: isDecl ? XMLNS_NS : '', value });
  }
  return { attrs, scope: declared };
}

function resolve(scope: Scope, prefix: string, path: string): string {
  const ns = scope.get(prefix);
  if (ns === undefined) {
    if (prefix === '') return '';
    throw new UpdateDocumentError(`${path}: namespace prefix '${prefix}' is not declared`);
  }
  return ns;
}

function buildElement(node: OrderedNode, tag: string, outer: Scope, depth: number, limits: XmlTreeLimits, path: string): XmlElement {
  if (depth > limits.maxDepth) {
    throw new UpdateDocumentError(`element nesting exceeds the depth limit of ${limits.maxDepth}`);
  }
  const [prefix, local] = splitName(tag, 'element');
  const here = `${path}/${prefix ? `${prefix}:${local}` : local}`;
  const { attrs, scope: declared } = readAttributes(node, here);
  let scope = outer;
  if (declared) {
    const merged = new Map(outer);
    for (const [p, uri] of declared) merged.set(p, uri);
    scope = merged;
  }
  const ns = resolve(scope, prefix, here);
  const seen = new Set<string>();
  for (const a of attrs) {
    if (a.ns === XMLNS_NS) continue;
    a.ns = a.prefix ? resolve(scope, a.prefix, here) : '';
    const key = `${a.ns}\u0000${a.local}`;
    if (seen.has(key)) throw new UpdateDocumentError(`${here}: attribute '${a.qname}' is repeated`);
    seen.add(key);
  }

  const content: XmlContent[] = [];
  const children: XmlElement[] = [];
  let pending = '';
  for (const child of node[tag] as OrderedNode[]) {
    const childTag = tagOf(child);
    if (childTag === undefined) continue;
    if (childTag === '#text') {
      pending += decodeReferences(String(child['#text']), here);
    } else if (childTag === '#cdata') {
      pending += textOf(child['#cdata']);
    } else {
      if (pending) content.push(pending);
      pending = '';
      const el = buildElement(child, childTag, scope, depth + 1, limits, here);
      content.push(el);
      children.push(el);
    }
  }
  if (pending) content.push(pending);
  // Whitespace-only text is formatting, not data: .NET loads documents without PreserveWhitespace,
  // so a pretty-printed upstream document must give the same fragments as a compact one.
  const kept = content.filter((c) => typeof c !== 'string' || !XML_SPACE_ONLY.test(c));
  let text = '';
  for (const c of kept) if (typeof c === 'string') text += c;
  return { ns, local, prefix, attrs, children, content: kept, text };
}

/** Parses a whole document into its root element, enforcing the size, DTD and depth limits. */
export function parseXmlTree(input: string, limits: XmlTreeLimits): XmlElement {
  assertAcceptableInput(input, limits.maxBytes);
  const xml = normalizeLineEnds(input.charCodeAt(0) === 0xfeff ? input.slice(1) : input);
  assertNoForbiddenChars(xml);
  const verdict = XMLValidator.validate(xml, { allowBooleanAttributes: false });
  if (verdict !== true) {
    const { msg, line, col } = verdict.err;
    throw new UpdateDocumentError(`not well-formed XML: ${msg} (line ${line}, column ${col})`);
  }
  const top = parser.parse(xml) as OrderedNode[];
  let root: XmlElement | undefined;
  for (const node of top) {
    const tag = tagOf(node);
    if (tag === undefined || tag === '#text') continue;
    if (tag.startsWith('#') && tag !== '#__proto__') continue;
    if (root) throw new UpdateDocumentError('not well-formed XML: more than one root element');
    root = buildElement(node, tag, ROOT_SCOPE, 1, limits, '');
  }
  if (!root) throw new UpdateDocumentError('not well-formed XML: no root element');
  return root;
}

export function childElements(el: XmlElement | undefined, ns: string, local: string): XmlElement[] {
  return el ? el.children.filter((c) => c.ns === ns && c.local === local) : [];
}

export function childElement(el: XmlElement | undefined, ns: string, local: string): XmlElement | undefined {
  return el?.children.find((c) => c.ns === ns && c.local === local);
}

/** An unqualified attribute's value (the update schema puts all its data in unqualified attributes). */
export function attribute(el: XmlElement | undefined, local: string): string | undefined {
  return el?.attrs.find((a) => a.ns === '' && a.local === local)?.value;
}

/** Depth-first, document order; bounded by the depth limit the tree was built with. */
export function descendants(el: XmlElement, ns: string, local: string, out: XmlElement[] = []): XmlElement[] {
  for (const c of el.children) {
    if (c.ns === ns && c.local === local) out.push(c);
    descendants(c, ns, local, out);
  }
  return out;
}
