// Typed reads of untrusted manifest values. Each reader names the JSON path it was given in its
// error and says what would have been accepted; nothing here copies a user-chosen key into an
// object, so prototype-polluting keys have nowhere to land (they are refused anyway).

import { ManifestError } from './manifest-error.js';

const POLLUTING_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const GUID = /^\{?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}?$/;
// C0 controls, DEL, U+FFFE/U+FFFF and lone surrogates cannot be carried through XML faithfully.
const BAD_CHARS_MULTILINE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const BAD_CHARS_LINE = /[\u0000-\u001F\u007F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const child = (path: string, key: string | number): string =>
  typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

/** A plain JSON object whose keys are all in `allowed`; returned as a Map so no key becomes a property. */
export function readObject(value: unknown, path: string, allowed: readonly string[]): Map<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ManifestError(path, `must be a JSON object, got ${describe(value)}`);
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) throw new ManifestError(path, 'must be a plain JSON object');
  const out = new Map<string, unknown>();
  for (const key of Object.keys(value)) {
    if (POLLUTING_KEYS.has(key)) throw new ManifestError(child(path, key), `the key '${key}' is not allowed`);
    if (!allowed.includes(key)) {
      throw new ManifestError(child(path, key), `unknown key; allowed here: ${allowed.join(', ')}`);
    }
    out.set(key, (value as Record<string, unknown>)[key]);
  }
  return out;
}

export function readArray(value: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(value)) throw new ManifestError(path, `must be a JSON array, got ${describe(value)}`);
  if (value.length > max) throw new ManifestError(path, `has ${value.length} entries; at most ${max} are allowed`);
  return value;
}

export interface StringRule {
  max: number;
  /** newlines and tabs allowed (descriptions) */
  multiline?: boolean;
  /** an empty string is a valid value (e.g. a registry default value name) */
  allowEmpty?: boolean;
}

export function readString(value: unknown, path: string, rule: StringRule): string {
  if (typeof value !== 'string') throw new ManifestError(path, `must be a string, got ${describe(value)}`);
  const s = rule.multiline ? value.replace(/\r\n?/g, '\n').trim() : value.trim();
  if (s === '' && !rule.allowEmpty) throw new ManifestError(path, 'must not be empty');
  if (s.length > rule.max) throw new ManifestError(path, `is ${s.length} characters long; at most ${rule.max} are allowed`);
  if ((rule.multiline ? BAD_CHARS_MULTILINE : BAD_CHARS_LINE).test(s)) {
    throw new ManifestError(path, rule.multiline
      ? 'contains a control character or an invalid code point (only tab and newline are allowed)'
      : 'contains a control character or an invalid code point (it must be a single line of text)');
  }
  return s;
}

export function readBoolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw new ManifestError(path, `must be true or false, got ${describe(value)}`);
  return value;
}

export function readInteger(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ManifestError(path, `must be a whole number from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

/** Case-insensitive choice among `choices` (keys as written in the docs); returns the mapped value. */
export function readChoice<T>(value: unknown, path: string, choices: ReadonlyMap<string, T>): T {
  const names = [...choices.keys()];
  if (typeof value === 'string') {
    const wanted = value.trim().toLowerCase();
    for (const [name, mapped] of choices) if (name.toLowerCase() === wanted) return mapped;
  }
  throw new ManifestError(path, `must be one of ${names.join(', ')}; got ${describe(value)}`);
}

/** Update ids and category ids: lower-case, no braces (the model's spelling). */
export function readGuid(value: unknown, path: string): string {
  const m = typeof value === 'string' ? GUID.exec(value.trim()) : null;
  if (!m) throw new ManifestError(path, `must be a GUID like 01234567-89ab-cdef-0123-456789abcdef, got ${describe(value)}`);
  return m[1]!.toLowerCase();
}

/** Windows Installer codes are written `{UPPER-CASE}` as MSI databases store them. */
export function readMsiCode(value: unknown, path: string): string {
  return `{${readGuid(value, path).toUpperCase()}}`;
}

/**
 * A file/product version: 1 to 4 dot-separated numbers, each 0-65535 (the four 16-bit halves of
 * a VS_FIXEDFILEINFO version). Written back with four parts, as real rules spell them.
 */
export function readVersion(value: unknown, path: string): string {
  const allowed = 'use 1 to 4 dot-separated whole numbers from 0 to 65535, e.g. 1.2.3.4';
  const s = typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : undefined;
  if (s === undefined) throw new ManifestError(path, `must be a version string; ${allowed}`);
  const parts = s.split('.');
  if (parts.length > 4) throw new ManifestError(path, `'${s}' has ${parts.length} parts; ${allowed}`);
  for (const p of parts) {
    if (!/^[0-9]{1,5}$/.test(p)) throw new ManifestError(path, `'${s.slice(0, 40)}' is not a version; ${allowed}`);
    if (Number(p) > 65535) throw new ManifestError(path, `'${s}': part ${p} is larger than 65535; ${allowed}`);
  }
  while (parts.length < 4) parts.push('0');
  return parts.map((p) => String(Number(p))).join('.');
}

export function readUrl(value: unknown, path: string): string {
  const s = readString(value, path, { max: 2048 });
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw new ManifestError(path, `'${s.slice(0, 60)}' is not an absolute URL; use an http:// or https:// address`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ManifestError(path, `scheme ${url.protocol} is not allowed; use an http:// or https:// address`);
  }
  if (url.username || url.password) throw new ManifestError(path, 'must not carry a user name or password');
  if (/\s/.test(s)) throw new ManifestError(path, 'must not contain spaces (percent-encode them)');
  return url.href;
}
