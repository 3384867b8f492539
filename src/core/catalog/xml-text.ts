// Character-level XML rules applied on top of fast-xml-parser, which is lenient by design: it
// leaves numeric character references alone, would decode `&amp;#65;` twice if combined with a
// second pass, and accepts `<` inside attribute values. The parser is therefore run with entity
// processing off and every reference is resolved here, exactly once, from the closed set XML
// defines without a DTD (the five predefined entities and numeric references).

import { UpdateDocumentError } from './update-document-error.js';

const PREDEFINED = new Map<string, string>([
  ['amp', '&'],
  ['lt', '<'],
  ['gt', '>'],
  ['quot', '"'],
  ['apos', "'"],
]);

// Characters XML 1.0 forbids anywhere in a document, even escaped.
const FORBIDDEN_LITERAL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

/**
 * XML end-of-line handling (section 2.11) done on the whole document before parsing, so that
 * text and attribute values see `\n` only, as any conforming parser would deliver them.
 */
export function normalizeLineEnds(xml: string): string {
  return xml.includes('\r') ? xml.replace(/\r\n?/g, '\n') : xml;
}

export function assertNoForbiddenChars(xml: string): void {
  const m = FORBIDDEN_LITERAL.exec(xml);
  if (m) {
    const code = m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    throw new UpdateDocumentError(`character U+${code} is not allowed in XML (offset ${m.index})`);
  }
}

function resolveReference(body: string, where: string): string {
  const named = PREDEFINED.get(body);
  if (named !== undefined) return named;
  let code = Number.NaN;
  if (/^#x[0-9A-Fa-f]{1,8}$/.test(body)) code = Number.parseInt(body.slice(2), 16);
  else if (/^#[0-9]{1,8}$/.test(body)) code = Number.parseInt(body.slice(1), 10);
  if (!isXmlChar(code)) {
    throw new UpdateDocumentError(`${where}: undefined or invalid reference '&${body.slice(0, 16)};'`);
  }
  return String.fromCodePoint(code);
}

/** Resolves character and predefined-entity references; any other `&` is an error. */
export function decodeReferences(raw: string, where: string): string {
  if (!raw.includes('&')) return raw;
  let out = '';
  let from = 0;
  for (;;) {
    const amp = raw.indexOf('&', from);
    if (amp < 0) return out + raw.slice(from);
    out += raw.slice(from, amp);
    const semi = raw.indexOf(';', amp + 1);
    if (semi < 0 || semi - amp > 12) {
      throw new UpdateDocumentError(`${where}: '&' that does not start a reference`);
    }
    out += resolveReference(raw.slice(amp + 1, semi), where);
    from = semi + 1;
  }
}

/** Attribute-value normalization (section 3.3.3) for CDATA-typed attributes, then references. */
export function decodeAttributeValue(raw: string, where: string): string {
  if (raw.includes('<')) throw new UpdateDocumentError(`${where}: '<' in an attribute value`);
  return decodeReferences(raw.replace(/[\t\n]/g, ' '), where);
}
