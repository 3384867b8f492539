import { invalidParameters } from '../../core/errors.js';
import { child, children, isNil, type XmlElement } from '../xml/xml-element.js';

// Typed readers over the request element tree. Each names the parameter path the real server
// reports in InvalidParameters faults, so a bad value gets the same answer as on WSUS.

const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

export function present(el: XmlElement | undefined): el is XmlElement {
  return el !== undefined && !isNil(el);
}

export function text(el: XmlElement | undefined, name: string): string | undefined {
  const c = child(el, name);
  return present(c) ? c.text : undefined;
}

export function requireText(el: XmlElement | undefined, name: string, path = name): string {
  const v = text(el, name);
  if (v === undefined) throw invalidParameters(path);
  return v;
}

export function bool(el: XmlElement | undefined, name: string, path: string, def = false): boolean {
  const v = text(el, name);
  if (v === undefined) return def;
  const t = v.trim();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  throw invalidParameters(path);
}

export function int(el: XmlElement | undefined, name: string, path: string, def?: number): number {
  const v = text(el, name);
  if (v === undefined) {
    if (def === undefined) throw invalidParameters(path);
    return def;
  }
  const t = v.trim();
  if (!/^-?\d{1,10}$/.test(t) || Math.abs(Number(t)) > 2147483647) throw invalidParameters(path);
  return Number(t);
}

export function guid(value: string | undefined, path: string): string {
  const t = value?.trim();
  if (!t || !GUID_RE.test(t)) throw invalidParameters(path);
  return t.toLowerCase();
}

/** Absent, nil and empty arrays are the same thing to real clients. */
export function intArray(el: XmlElement | undefined, name: string, path: string, max: number): number[] {
  const c = child(el, name);
  if (!present(c)) return [];
  const ints = c.ints ?? [];
  if (ints.length > max) throw invalidParameters(path);
  return ints;
}

export function stringArray(el: XmlElement | undefined, name: string, path: string, max: number): string[] | undefined {
  const c = child(el, name);
  if (!present(c)) return undefined;
  if (c.children.length > max) throw invalidParameters(path);
  return c.children.filter(present).map((s) => s.text);
}

export function base64(value: string, path: string, maxBytes: number): Buffer {
  const t = value.trim();
  if (!BASE64_RE.test(t) || t.length % 4 !== 0 || (t.length * 3) / 4 > maxBytes + 2) throw invalidParameters(path);
  return Buffer.from(t, 'base64');
}

/** The opaque part of a Cookie; an Expiration-only cookie (first GetCookie) counts as absent. */
export function cookieData(el: XmlElement | undefined, name: string): string | undefined {
  const c = child(el, name);
  if (!present(c)) return undefined;
  const data = text(c, 'EncryptedData')?.trim();
  return data ? data : undefined;
}

export function identities(el: XmlElement | undefined, name: string, path: string, max: number): Array<{ updateId: string; revisionNumber: number }> {
  const c = child(el, name);
  if (!present(c)) throw invalidParameters(path);
  const items = children(c, 'UpdateIdentity');
  if (items.length > max) throw invalidParameters(path);
  return items.map((i) => ({ updateId: guid(text(i, 'UpdateID'), path), revisionNumber: int(i, 'RevisionNumber', path) }));
}
