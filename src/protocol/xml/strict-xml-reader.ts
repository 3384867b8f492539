import type { XmlElement } from './xml-element.js';

// A strict, bounded XML reader for SOAP requests. It accepts the subset real clients send
// (elements, attributes, text, CDATA, comments, the five predefined entities and numeric
// character references) and refuses DTDs, entity declarations and processing instructions
// outright: no expansion can happen because nothing is ever declared.

export class XmlSyntaxError extends Error {
  constructor(message: string, readonly position: number) {
    super(`${message} at offset ${position}`);
    this.name = 'XmlSyntaxError';
  }
}

export interface ReaderLimits {
  maxDepth: number;
  /**
   * Elements and attributes together: each becomes an object, so this bounds the memory a
   * document can cost (16 MB of `a=""` pairs would otherwise make some 250 MB of heap).
   */
  maxElements: number;
  maxAttributes: number;
  /** elements (by local name) whose `<int>` children are read straight into a number array */
  intArrayElements?: ReadonlySet<string>;
}

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const LT = 60, GT = 62, SLASH = 47, QMARK = 63, BANG = 33, EQ = 61, QUOT = 34, APOS = 39, AMP = 38;

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

function isNameChar(c: number): boolean {
  return !(isSpace(c) || c === GT || c === SLASH || c === EQ || c === LT || c === QUOT || c === APOS || Number.isNaN(c));
}

/** Characters XML 1.0 does not allow (section 2.2), raw or as references: nothing we echo back may carry them. */
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

export function decodeEntities(s: string, pos: number): string {
  if (NOT_XML_CHAR.test(s)) throw new XmlSyntaxError('character not allowed in XML', pos + s.search(NOT_XML_CHAR));
  let amp = s.indexOf('&');
  if (amp < 0) return s;
  // A plain loop with slices: request text (DeviceAttributes, titles) carries dozens of
  // `&amp;` and this runs on every scan request.
  let out = '';
  let from = 0;
  while (amp >= 0) {
    const semi = s.indexOf(';', amp + 1);
    if (semi < 0 || semi - amp > 13) throw new XmlSyntaxError('bare "&" in text', pos + amp);
    out += s.slice(from, amp) + entityValue(s.slice(amp + 1, semi), pos + amp);
    from = semi + 1;
    amp = s.indexOf('&', from);
  }
  return out + s.slice(from);
}

function entityValue(name: string, pos: number): string {
  switch (name) {
    case 'lt': return '<';
    case 'gt': return '>';
    case 'amp': return '&';
    case 'quot': return '"';
    case 'apos': return "'";
  }
  let code = NaN;
  if (/^#x[0-9a-fA-F]{1,6}$/.test(name)) code = parseInt(name.slice(2), 16);
  else if (/^#[0-9]{1,7}$/.test(name)) code = parseInt(name.slice(1), 10);
  if (!Number.isFinite(code) || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) || (code <= 0xffff && NOT_XML_CHAR.test(String.fromCharCode(code)))) {
    throw new XmlSyntaxError(`undeclared or invalid entity &${name};`, pos);
  }
  return String.fromCodePoint(code);
}

interface Frame {
  el: XmlElement;
  /** prefix -> uri bindings introduced by this element */
  bindings: Map<string, string> | null;
}

/**
 * `bytes`, when given, is the body `text` was decoded from; if every character took one byte
 * (an ASCII body, as clients send), integer arrays are read from the bytes, which is about
 * twice as fast as reading characters.
 */
export function readXml(text: string, limits: ReaderLimits, bytes?: Uint8Array): XmlElement {
  const ascii = bytes !== undefined && bytes.length === text.length ? bytes : undefined;
  const stack: Frame[] = [];
  let root: XmlElement | null = null;
  /** elements and attributes so far (see ReaderLimits.maxElements) */
  let nodes = 0;
  let i = 0;
  const n = text.length;
  if (text.charCodeAt(0) === 0xfeff) i = 1;

  const resolve = (prefix: string, pos: number): string => {
    if (prefix === 'xml') return XML_NS;
    for (let k = stack.length - 1; k >= 0; k--) {
      const b = stack[k]!.bindings;
      if (b && b.has(prefix)) return b.get(prefix)!;
    }
    if (prefix === '') return '';
    throw new XmlSyntaxError(`unbound namespace prefix "${prefix}"`, pos);
  };

  while (i < n) {
    const lt = text.indexOf('<', i);
    const top = stack.length > 0 ? stack[stack.length - 1]!.el : null;
    if (lt < 0) {
      if (text.slice(i).trim() !== '') throw new XmlSyntaxError('text after the document element', i);
      break;
    }
    if (lt > i) {
      const chunk = text.slice(i, lt);
      if (top) top.text += decodeEntities(chunk, i);
      else if (chunk.trim() !== '') throw new XmlSyntaxError('text outside the document element', i);
    }
    i = lt;
    const c1 = text.charCodeAt(i + 1);
    if (c1 === QMARK) {
      // Only the XML declaration, only before the root; any other processing instruction is refused.
      if (root || stack.length || !text.startsWith('<?xml', i) || !isSpace(text.charCodeAt(i + 5))) {
        throw new XmlSyntaxError('processing instruction not allowed', i);
      }
      const end = text.indexOf('?>', i);
      if (end < 0) throw new XmlSyntaxError('unterminated XML declaration', i);
      i = end + 2;
      continue;
    }
    if (c1 === BANG) {
      if (text.startsWith('<!--', i)) {
        const end = text.indexOf('-->', i + 4);
        if (end < 0) throw new XmlSyntaxError('unterminated comment', i);
        i = end + 3;
        continue;
      }
      if (text.startsWith('<![CDATA[', i)) {
        if (!top) throw new XmlSyntaxError('CDATA outside the document element', i);
        const end = text.indexOf(']]>', i + 9);
        if (end < 0) throw new XmlSyntaxError('unterminated CDATA section', i);
        const cdata = text.slice(i + 9, end);
        if (NOT_XML_CHAR.test(cdata)) throw new XmlSyntaxError('character not allowed in XML', i);
        top.text += cdata;
        i = end + 3;
        continue;
      }
      throw new XmlSyntaxError('DTDs and declarations are not allowed', i);
    }
    if (c1 === SLASH) {
      const gt = text.indexOf('>', i);
      if (gt < 0) throw new XmlSyntaxError('unterminated end tag', i);
      const name = text.slice(i + 2, gt).trimEnd();
      if (!top || top.name !== name) throw new XmlSyntaxError(`mismatched end tag </${name}>`, i);
      stack.pop();
      i = gt + 1;
      continue;
    }
    // Start tag.
    let j = i + 1;
    while (j < n && isNameChar(text.charCodeAt(j))) j++;
    const name = text.slice(i + 1, j);
    if (name === '') throw new XmlSyntaxError('empty element name', i);
    const rawAttrs: Array<[string, string]> = [];
    let bindings: Map<string, string> | null = null;
    let selfClosing = false;
    for (;;) {
      while (j < n && isSpace(text.charCodeAt(j))) j++;
      if (j >= n) throw new XmlSyntaxError('unterminated start tag', i);
      const c = text.charCodeAt(j);
      if (c === GT) { j++; break; }
      if (c === SLASH) {
        if (text.charCodeAt(j + 1) !== GT) throw new XmlSyntaxError('expected "/>"', j);
        selfClosing = true;
        j += 2;
        break;
      }
      const an = j;
      while (j < n && isNameChar(text.charCodeAt(j))) j++;
      const aname = text.slice(an, j);
      while (j < n && isSpace(text.charCodeAt(j))) j++;
      if (aname === '' || text.charCodeAt(j) !== EQ) throw new XmlSyntaxError('malformed attribute', j);
      j++;
      while (j < n && isSpace(text.charCodeAt(j))) j++;
      const q = text.charCodeAt(j);
      if (q !== QUOT && q !== APOS) throw new XmlSyntaxError('attribute value must be quoted', j);
      const vend = text.indexOf(q === QUOT ? '"' : "'", j + 1);
      if (vend < 0) throw new XmlSyntaxError('unterminated attribute value', j);
      const raw = text.slice(j + 1, vend);
      if (raw.indexOf('<') >= 0) throw new XmlSyntaxError('"<" in attribute value', j);
      const value = decodeEntities(raw, j);
      j = vend + 1;
      if (rawAttrs.length >= limits.maxAttributes) throw new XmlSyntaxError('too many attributes', j);
      if (++nodes > limits.maxElements) throw new XmlSyntaxError('too many elements and attributes', j);
      if (rawAttrs.some(([k]) => k === aname)) throw new XmlSyntaxError(`duplicate attribute ${aname}`, j);
      if (aname === 'xmlns' || aname.startsWith('xmlns:')) {
        (bindings ??= new Map()).set(aname === 'xmlns' ? '' : aname.slice(6), value);
      }
      rawAttrs.push([aname, value]);
    }
    if (root && stack.length === 0) throw new XmlSyntaxError('more than one document element', i);
    if (++nodes > limits.maxElements) throw new XmlSyntaxError('too many elements and attributes', i);
    if (stack.length >= limits.maxDepth) throw new XmlSyntaxError('document nested too deeply', i);
    const colon = name.indexOf(':');
    const el: XmlElement = {
      name,
      local: colon >= 0 ? name.slice(colon + 1) : name,
      ns: '',
      attrs: rawAttrs,
      children: [],
      text: '',
    };
    stack.push({ el, bindings });
    el.ns = resolve(colon >= 0 ? name.slice(0, colon) : '', i);
    if (top) top.children.push(el);
    else root = el;
    i = j;
    if (selfClosing) {
      stack.pop();
      if (limits.intArrayElements?.has(el.local)) el.ints = [];
      continue;
    }
    if (limits.intArrayElements?.has(el.local)) {
      i = readIntArray(text, i, el, limits, ascii);
      stack.pop();
    }
  }
  if (stack.length) throw new XmlSyntaxError('unexpected end of document', n);
  if (!root) throw new XmlSyntaxError('no document element', 0);
  return root;
}

// Cached-id arrays are the bulk of scan requests (thousands of `<int>` elements); reading
// them with a digit loop instead of building an element per id keeps the scan cheap. The
// unprefixed `<int>`...`</int>` every client sends is matched char by char, allocation-free.
function isPlainInt(text: string, i: number, close: boolean): boolean {
  let k = i + 1;
  if (close) {
    if (text.charCodeAt(k) !== SLASH) return false;
    k++;
  }
  return text.charCodeAt(k) === 105 && text.charCodeAt(k + 1) === 110 && text.charCodeAt(k + 2) === 116 && text.charCodeAt(k + 3) === GT;
}

function readIntArray(text: string, start: number, el: XmlElement, limits: ReaderLimits, ascii: Uint8Array | undefined): number {
  const ints: number[] = [];
  let i = ascii ? readPlainIntsAscii(ascii, start, ints, limits.maxElements) : start;
  const closeTag = `</${el.name}>`;
  for (;;) {
    let c = text.charCodeAt(i);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = text.charCodeAt(++i);
    if (c !== LT) throw new XmlSyntaxError(`expected <int> in ${el.local}`, i);
    if (text.charCodeAt(i + 1) === SLASH && text.startsWith(closeTag, i)) {
      el.ints = ints;
      return i + closeTag.length;
    }
    if (ints.length >= limits.maxElements) throw new XmlSyntaxError('too many elements', i);
    // The common spelling `<int>123</int>` is matched char by char without creating strings;
    // anything else (a prefix, inner spaces, a sign) takes the general path for that item.
    if (isPlainInt(text, i, false)) {
      let k = i + 5;
      let v = 0;
      let digits = 0;
      c = text.charCodeAt(k);
      while (c >= 48 && c <= 57) {
        v = v * 10 + (c - 48);
        digits++;
        c = text.charCodeAt(++k);
      }
      if (digits > 0 && digits <= 10 && v <= 2147483647 && isPlainInt(text, k, true)) {
        ints.push(v);
        i = k + 6;
        continue;
      }
    }
    i = readOneInt(text, i, el, ints);
  }
}

// Byte twin of the plain-item loop above: consumes `<int>digits</int>` items (with whitespace
// between them) and stops at the first thing it does not recognise, leaving it to the
// character path. Offsets are the same because the body is ASCII.
function readPlainIntsAscii(b: Uint8Array, i: number, ints: number[], max: number): number {
  const n = b.length;
  for (;;) {
    let c = b[i];
    while (c === 32 || c === 10 || c === 13 || c === 9) c = b[++i];
    if (c !== LT || b[i + 1] !== 105 || b[i + 2] !== 110 || b[i + 3] !== 116 || b[i + 4] !== GT || ints.length >= max) return i;
    let k = i + 5;
    let v = 0;
    let digits = 0;
    c = b[k];
    while (c !== undefined && c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      digits++;
      c = b[++k];
    }
    if (digits === 0 || digits > 10 || v > 2147483647 || k + 6 > n) return i;
    if (c !== LT || b[k + 1] !== SLASH || b[k + 2] !== 105 || b[k + 3] !== 110 || b[k + 4] !== 116 || b[k + 5] !== GT) return i;
    ints.push(v);
    i = k + 6;
  }
}

function readOneInt(text: string, i: number, el: XmlElement, ints: number[]): number {
  const n = text.length;
  const gt = text.indexOf('>', i);
  if (gt < 0) throw new XmlSyntaxError('unterminated tag', i);
  const tag = text.slice(i + 1, gt);
  if (tag !== 'int' && !/^[A-Za-z_][\w.-]*:int$/.test(tag)) throw new XmlSyntaxError(`expected <int> in ${el.local}`, i);
  i = gt + 1;
  while (i < n && isSpace(text.charCodeAt(i))) i++;
  const neg = text.charCodeAt(i) === 45;
  if (neg) i++;
  let v = 0;
  let digits = 0;
  for (; i < n; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
    if (++digits > 10) throw new XmlSyntaxError('integer out of range', i);
  }
  while (i < n && isSpace(text.charCodeAt(i))) i++;
  if (digits === 0 || v > 2147483647) throw new XmlSyntaxError('invalid integer', i);
  const end = `</${tag}>`;
  if (!text.startsWith(end, i)) throw new XmlSyntaxError('expected </int>', i);
  ints.push(neg ? -v : v);
  return i + end.length;
}

/** Decodes a request body as real clients send it: UTF-8 (optionally with BOM) or UTF-16 with a BOM. */
export function decodeBody(body: Uint8Array): string {
  const bom = body.length >= 2 ? (body[0] === 0xff && body[1] === 0xfe ? 'utf-16le' : body[0] === 0xfe && body[1] === 0xff ? 'utf-16be' : null) : null;
  try {
    return new TextDecoder(bom ?? 'utf-8', { fatal: true }).decode(bom ? body.subarray(2) : body);
  } catch {
    // An odd byte count or a lone surrogate is the same client mistake as bad UTF-8.
    throw new XmlSyntaxError(`body is not valid ${bom === null ? 'UTF-8' : bom.toUpperCase()}`, 0);
  }
}
