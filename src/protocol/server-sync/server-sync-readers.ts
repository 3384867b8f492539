import { invalidParameters } from '../../core/errors.js';
import type {
  IdAndDelta, LanguageAndDelta, RevisionFilter, UpdateIdentity,
} from '../../core/server-sync/server-sync-model.js';
import { child, children, isNil, type XmlElement } from '../xml/xml-element.js';

// Typed readers for MS-WSUSSS requests. Rules (the same WSUS applies through ASMX): an absent
// or xsi:nil element is "not given"; arrays that are absent are null (the service decides
// whether that is an error); GUIDs are 8-4-4-4-12 in any case and leave lower-cased; ints are
// 32-bit; booleans are xs:boolean (true|false|1|0). Anything malformed is InvalidParameters
// naming the parameter as WSUS names it (`filter`, `updateIds`, ...).

const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const INT_RE = /^[+-]?\d{1,10}$/;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

export function given(el: XmlElement | undefined): el is XmlElement {
  return el !== undefined && !isNil(el);
}

/** Text of a child element, or null when it is absent or nil. */
export function optionalText(el: XmlElement | undefined, name: string): string | null {
  const c = child(el, name);
  return given(c) ? c.text : null;
}

/** Like optionalText, but whitespace-only counts as absent (anchors, ids). */
export function optionalToken(el: XmlElement | undefined, name: string): string | null {
  const t = optionalText(el, name)?.trim();
  return t ? t : null;
}

export function parseGuid(value: string | null | undefined, path: string): string {
  const t = value?.trim();
  if (!t || !GUID_RE.test(t)) throw invalidParameters(path);
  return t.toLowerCase();
}

export function parseInt32(value: string | null | undefined, path: string): number {
  const t = value?.trim();
  if (!t || !INT_RE.test(t)) throw invalidParameters(path);
  const n = Number(t);
  if (n > 2147483647 || n < -2147483648) throw invalidParameters(path);
  return n;
}

export function parseBool(value: string | null | undefined, path: string): boolean {
  const t = value?.trim();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  throw invalidParameters(path);
}

export function optionalBool(el: XmlElement | undefined, name: string, path: string, def: boolean): boolean {
  const v = optionalText(el, name);
  return v === null ? def : parseBool(v, path);
}

export function optionalGuid(el: XmlElement | undefined, name: string, path: string): string | null {
  const v = optionalText(el, name);
  return v === null ? null : parseGuid(v, path);
}

/** Base64 text, optionally of an exact decoded length (SHA-1 digests: 20). */
export function parseBase64(value: string, path: string, exactBytes?: number): string {
  const t = value.replace(/\s+/g, '');
  if (t.length % 4 !== 0 || !BASE64_RE.test(t)) throw invalidParameters(path);
  if (exactBytes !== undefined && Buffer.from(t, 'base64').length !== exactBytes) throw invalidParameters(path);
  return t;
}

/**
 * The opaque part of a `Cookie` element; null when the cookie, or its EncryptedData, is absent
 * or empty (the first GetCookie oldCookie and the rollup dummy cookie carry none).
 */
export function cookieData(el: XmlElement | undefined, name = 'cookie'): string | null {
  const c = child(el, name);
  if (!given(c)) return null;
  return optionalToken(c, 'EncryptedData');
}

function arrayItems(el: XmlElement | undefined, name: string, item: string, path: string, max: number): XmlElement[] | null {
  const c = child(el, name);
  if (!given(c)) return null;
  const items = children(c, item);
  if (items.length > max) throw invalidParameters(path);
  // A nil item in an id list cannot mean anything useful; WSUS rejects it too.
  for (const i of items) if (isNil(i)) throw invalidParameters(path);
  return items;
}

export function identityList(el: XmlElement | undefined, name: string, path: string, max: number): UpdateIdentity[] | null {
  return arrayItems(el, name, 'UpdateIdentity', path, max)?.map((i) => ({
    updateId: parseGuid(optionalText(i, 'UpdateID'), path),
    revisionNumber: parseInt32(optionalText(i, 'RevisionNumber'), path),
  })) ?? null;
}

export function guidList(el: XmlElement | undefined, name: string, path: string, max: number): string[] | null {
  return arrayItems(el, name, 'guid', path, max)?.map((g) => parseGuid(g.text, path)) ?? null;
}

export function base64List(el: XmlElement | undefined, name: string, path: string, max: number, exactBytes?: number): string[] | null {
  return arrayItems(el, name, 'base64Binary', path, max)?.map((b) => parseBase64(b.text, path, exactBytes)) ?? null;
}

function idAndDeltas(f: XmlElement, name: string, max: number): IdAndDelta[] | null {
  return arrayItems(f, name, 'IdAndDelta', 'filter', max)?.map((i) => ({
    id: parseGuid(optionalText(i, 'Id'), 'filter'),
    delta: parseBool(optionalText(i, 'Delta'), 'filter'),
  })) ?? null;
}

function languageAndDeltas(f: XmlElement, max: number): LanguageAndDelta[] | null {
  return arrayItems(f, 'Languages', 'LanguageAndDelta', 'filter', max)?.map((i) => ({
    id: parseInt32(optionalText(i, 'Id'), 'filter'),
    delta: parseBool(optionalText(i, 'Delta'), 'filter'),
  })) ?? null;
}

/**
 * GetRevisionIdList `filter` ([MS-WSUSSS] 3.1.4.5.3.1 ServerSyncFilter). GetConfig and
 * Get63LanguageOnly are required by the schema but WSUS treats a missing one as false
 * (captures 000006-000012 send no Get63LanguageOnly); an empty Anchor counts as none.
 */
export function readFilter(op: XmlElement, maxItems: number): RevisionFilter {
  const f = child(op, 'filter');
  if (!given(f)) throw invalidParameters('filter');
  return {
    anchor: optionalToken(f, 'Anchor'),
    getConfig: optionalBool(f, 'GetConfig', 'filter', false),
    get63LanguageOnly: optionalBool(f, 'Get63LanguageOnly', 'filter', false),
    categories: idAndDeltas(f, 'Categories', maxItems),
    classifications: idAndDeltas(f, 'Classifications', maxItems),
    languages: languageAndDeltas(f, maxItems),
  };
}
