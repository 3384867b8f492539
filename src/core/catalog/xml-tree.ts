// A namespace-aware element tree read by a small strict scanner. The update documents redeclare
// prefixes on individual elements (`xmlns:bar=` on every rule), so names are resolved here
// against an in-scope declaration stack and everything downstream matches on namespace URIs,
// never on the prefixes an upstream happened to choose.
//
// Why not fast-xml-parser (used here before): ingest is the hot path of a sync, and its
// validate + ordered parse cost ~340 µs of the ~410 µs it took to read a 5.6 KB update document;
// this scanner builds the same tree in a single pass (see bench/xml-parse.ts for the figures).
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

type Scope = ReadonlyMap<string, string>;

const NAME = /^[A-Za-z_\u00C0-\uFFFF][A-Za-z0-9_.\-\u00B7\u00C0-\uFFFF]*$/;
const DTD_MARKUP = /<!(?:DOCTYPE|ENTITY)/i;
const XML_SPACE_ONLY = /^[ \t\n\r]*$/;
const ROOT_SCOPE: Scope = new Map([['xml', XML_NS]]);

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Size and DTD refusal: both run before the scanner sees a byte. */
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

function malformed(xml: string, at: number, msg: string): UpdateDocumentError {
  let line = 1;
  let lineStart = 0;
  for (let i = xml.indexOf('\n'); i >= 0 && i < at; i = xml.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return new UpdateDocumentError(`not well-formed XML: ${msg} (line ${line}, column ${at - lineStart + 1})`);
}

function splitName(qname: string, what: string): [prefix: string, local: string] {
  const colon = qname.indexOf(':');
  const prefix = colon < 0 ? '' : qname.slice(0, colon);
  const local = colon < 0 ? qname : qname.slice(colon + 1);
  if (!NAME.test(local) || (colon >= 0 && !NAME.test(prefix))) {
    throw new UpdateDocumentError(`invalid ${what} name '${qname.slice(0, 64)}'`);
  }
  return [prefix, local];
}

function readAttribute(raw: string, qname: string, path: string, attrs: XmlAttr[], declared: Map<string, string> | undefined): Map<string, string> | undefined {
  const [prefix, local] = splitName(qname, 'attribute');
  const value = decodeAttributeValue(raw, `${path}/@${qname}`);
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
  return declared;
}

function resolve(scope: Scope, prefix: string, path: string): string {
  const ns = scope.get(prefix);
  if (ns === undefined) {
    if (prefix === '') return '';
    throw new UpdateDocumentError(`${path}: namespace prefix '${prefix}' is not declared`);
  }
  return ns;
}

interface Open {
  el: XmlElement;
  qname: string;
  scope: Scope;
  path: string;
  pending: string;
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
// Name characters end at whitespace, '=', '>', '/' and quotes; NAME validates the rest.
const isNameEnd = (c: number): boolean => isSpace(c) || c === 0x3d || c === 0x3e || c === 0x2f || c === 0x22 || c === 0x27 || Number.isNaN(c);

function finishContent(o: Open): void {
  if (o.pending) o.el.content.push(o.pending);
  o.pending = '';
}

/** Closes an element: whitespace-only text is formatting, not data (.NET loads documents without PreserveWhitespace). */
function closeElement(el: XmlElement): void {
  const kept = el.content.filter((c) => typeof c !== 'string' || !XML_SPACE_ONLY.test(c));
  let text = '';
  for (const c of kept) if (typeof c === 'string') text += c;
  el.content = kept;
  el.text = text;
}

/** Parses a whole document into its root element, enforcing the size, DTD and depth limits. */
export function parseXmlTree(input: string, limits: XmlTreeLimits): XmlElement {
  assertAcceptableInput(input, limits.maxBytes);
  const xml = normalizeLineEnds(input.charCodeAt(0) === 0xfeff ? input.slice(1) : input);
  assertNoForbiddenChars(xml);
  const stack: Open[] = [];
  let root: XmlElement | undefined;
  let pos = 0;
  const n = xml.length;
  while (pos < n) {
    const lt = xml.indexOf('<', pos);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > pos) {
      const raw = xml.slice(pos, textEnd);
      const top = stack[stack.length - 1];
      if (top) top.pending += decodeReferences(raw, top.path);
      else if (!XML_SPACE_ONLY.test(raw)) throw malformed(xml, pos, root ? 'text after the root element' : 'text before the root element');
    }
    if (lt < 0) break;
    pos = lt;
    const next = xml.charCodeAt(pos + 1);
    if (next === 0x3f /* ? */) {
      const end = xml.indexOf('?>', pos + 2);
      if (end < 0) throw malformed(xml, pos, 'unterminated processing instruction');
      pos = end + 2;
      continue;
    }
    if (next === 0x21 /* ! */) {
      if (xml.startsWith('<!--', pos)) {
        const end = xml.indexOf('-->', pos + 4);
        if (end < 0) throw malformed(xml, pos, 'unterminated comment');
        pos = end + 3;
        continue;
      }
      if (xml.startsWith('<![CDATA[', pos)) {
        const top = stack[stack.length - 1];
        if (!top) throw malformed(xml, pos, 'CDATA outside the root element');
        const end = xml.indexOf(']]>', pos + 9);
        if (end < 0) throw malformed(xml, pos, 'unterminated CDATA section');
        top.pending += xml.slice(pos + 9, end);
        pos = end + 3;
        continue;
      }
      throw malformed(xml, pos, 'unexpected markup declaration');
    }
    if (next === 0x2f /* / */) {
      let p = pos + 2;
      while (p < n && !isNameEnd(xml.charCodeAt(p))) p++;
      const qname = xml.slice(pos + 2, p);
      while (p < n && isSpace(xml.charCodeAt(p))) p++;
      if (xml.charCodeAt(p) !== 0x3e) throw malformed(xml, pos, `bad closing tag '${qname.slice(0, 64)}'`);
      const top = stack.pop();
      if (!top) throw malformed(xml, pos, `closing tag '${qname.slice(0, 64)}' without an open element`);
      if (top.qname !== qname) throw malformed(xml, pos, `closing tag '${qname.slice(0, 64)}' does not match '${top.qname.slice(0, 64)}'`);
      finishContent(top);
      closeElement(top.el);
      pos = p + 1;
      continue;
    }
    // Start tag.
    if (root && stack.length === 0) throw malformed(xml, pos, 'more than one root element');
    let p = pos + 1;
    while (p < n && !isNameEnd(xml.charCodeAt(p))) p++;
    const qname = xml.slice(pos + 1, p);
    if (!qname) throw malformed(xml, pos, "'<' that does not start a tag");
    const parent = stack[stack.length - 1];
    const depth = stack.length + 1;
    if (depth > limits.maxDepth) throw new UpdateDocumentError(`element nesting exceeds the depth limit of ${limits.maxDepth}`);
    const [prefix, local] = splitName(qname, 'element');
    const path = `${parent?.path ?? ''}/${qname}`;
    const attrs: XmlAttr[] = [];
    let declared: Map<string, string> | undefined;
    let selfClosing = false;
    for (;;) {
      const before = p;
      while (p < n && isSpace(xml.charCodeAt(p))) p++;
      const c = xml.charCodeAt(p);
      if (c === 0x3e) { p++; break; }
      if (c === 0x2f) {
        if (xml.charCodeAt(p + 1) !== 0x3e) throw malformed(xml, p, `bad tag '${qname.slice(0, 64)}'`);
        selfClosing = true;
        p += 2;
        break;
      }
      if (Number.isNaN(c)) throw malformed(xml, pos, `unterminated tag '${qname.slice(0, 64)}'`);
      if (p === before) throw malformed(xml, p, `attributes of '${qname.slice(0, 64)}' must be separated by whitespace`);
      const nameStart = p;
      while (p < n && !isNameEnd(xml.charCodeAt(p))) p++;
      const aname = xml.slice(nameStart, p);
      while (p < n && isSpace(xml.charCodeAt(p))) p++;
      if (!aname || xml.charCodeAt(p) !== 0x3d) throw malformed(xml, p, `attribute without a value in '${qname.slice(0, 64)}'`);
      p++;
      while (p < n && isSpace(xml.charCodeAt(p))) p++;
      const q = xml.charCodeAt(p);
      if (q !== 0x22 && q !== 0x27) throw malformed(xml, p, `unquoted attribute value in '${qname.slice(0, 64)}'`);
      const close = xml.indexOf(q === 0x22 ? '"' : "'", p + 1);
      if (close < 0) throw malformed(xml, p, `unterminated attribute value in '${qname.slice(0, 64)}'`);
      if (attrs.some((a) => a.qname === aname)) throw malformed(xml, nameStart, `attribute '${aname.slice(0, 64)}' is repeated`);
      declared = readAttribute(xml.slice(p + 1, close), aname, path, attrs, declared);
      p = close + 1;
    }
    const outer = parent?.scope ?? ROOT_SCOPE;
    let scope = outer;
    if (declared) {
      const merged = new Map(outer);
      for (const [pre, uri] of declared) merged.set(pre, uri);
      scope = merged;
    }
    const ns = resolve(scope, prefix, path);
    const seen = new Set<string>();
    for (const a of attrs) {
      if (a.ns === XMLNS_NS) continue;
      a.ns = a.prefix ? resolve(scope, a.prefix, path) : '';
      const key = `${a.ns}\u0000${a.local}`;
      if (seen.has(key)) throw new UpdateDocumentError(`${path}: attribute '${a.qname}' is repeated`);
      seen.add(key);
    }
    const el: XmlElement = { ns, local, prefix, attrs, children: [], content: [], text: '' };
    if (parent) {
      finishContent(parent);
      parent.el.content.push(el);
      parent.el.children.push(el);
    } else {
      root = el;
    }
    if (selfClosing) closeElement(el);
    else stack.push({ el, qname, scope, path, pending: '' });
    pos = p;
  }
  if (stack.length) throw malformed(xml, n, `unclosed element '${stack[stack.length - 1]!.qname.slice(0, 64)}'`);
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
