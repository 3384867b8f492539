// Byte ranges and conditional requests (RFC 9110 §13, §14) for static files: what status to
// answer and which bytes to send, decided from the request headers, the file size and its
// validators. Pure: no I/O, the clock is a parameter.
//
// Hostile input stays cheap: at most MAX_RANGES range-specs are looked at (more → the header is
// ignored, as RFC 9110 §14.2 allows, and the whole file is answered with 200: a request any
// client could make without a Range header, so it costs nothing an attacker could not get
// anyway, while a 416 would strand a legitimate but over-eager client); numbers longer than 15
// digits are treated as "beyond any file"; overlapping and adjacent ranges are coalesced, so a
// multipart answer never repeats a byte and never exceeds the file size plus part headers.

import { parseHttpDate } from './http-dates.js';

/** Inclusive byte positions, 0 <= start <= end < size. */
export interface ByteRange {
  start: number;
  end: number;
}

export const MAX_RANGES = 16;

export type RangeOutcome =
  /** no usable Range header: serve the whole file */
  | { kind: 'ignore' }
  /** valid syntax, but no range overlaps the file: 416 */
  | { kind: 'unsatisfiable' }
  /** sorted, coalesced, non-empty */
  | { kind: 'ranges'; ranges: ByteRange[] };

const IGNORE: RangeOutcome = { kind: 'ignore' };
const SPEC = /^(\d*)-(\d*)$/;
const OWS = /^[ \t]+|[ \t]+$/g;

/** A decimal position; longer than 15 digits means larger than any file we can hold. */
function position(digits: string): number {
  return digits.length > 15 ? Infinity : Number(digits);
}

export function parseRange(header: string | undefined, size: number, maxRanges = MAX_RANGES): RangeOutcome {
  if (header === undefined) return IGNORE;
  const eq = header.indexOf('=');
  if (eq < 0 || header.slice(0, eq).replace(OWS, '').toLowerCase() !== 'bytes') return IGNORE;
  // An empty representation has no byte to point at; answering it whole is always correct.
  if (size <= 0) return IGNORE;
  const found: ByteRange[] = [];
  let specs = 0;
  let elements = 0;
  let from = eq + 1;
  while (from <= header.length) {
    // Empty list elements are legal (RFC 9110 §5.6.1) but still bounded, like the specs.
    if (++elements > maxRanges * 4) return IGNORE;
    let comma = header.indexOf(',', from);
    if (comma < 0) comma = header.length;
    const spec = header.slice(from, comma).replace(OWS, '');
    from = comma + 1;
    if (spec === '') continue;
    if (++specs > maxRanges) return IGNORE;
    const m = SPEC.exec(spec);
    if (!m || (m[1] === '' && m[2] === '')) return IGNORE;
    if (m[1] === '') {
      const suffix = position(m[2]!);
      if (suffix > 0) found.push({ start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const first = position(m[1]!);
    const last = m[2] === '' ? Infinity : position(m[2]!);
    if (last < first) return IGNORE;
    if (first < size) found.push({ start: first, end: Math.min(last, size - 1) });
  }
  if (specs === 0) return IGNORE;
  if (found.length === 0) return { kind: 'unsatisfiable' };
  return { kind: 'ranges', ranges: coalesce(found) };
}

/** Sorts and merges overlapping or touching ranges (RFC 9110 §14.6 allows it). */
export function coalesce(ranges: ByteRange[]): ByteRange[] {
  if (ranges.length < 2) return ranges;
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const out: ByteRange[] = [{ ...sorted[0]! }];
  for (let i = 1; i < sorted.length; i++) {
    const r = sorted[i]!;
    const last = out[out.length - 1]!;
    if (r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

export const contentRange = (r: ByteRange, size: number): string => `bytes ${r.start}-${r.end}/${size}`;
export const unsatisfiedRange = (size: number): string => `bytes */${size}`;

/** Validators of one representation: a strong, quoted ETag and the modification time. */
export interface Validators {
  etag: string;
  lastModifiedMs: number;
}

export interface ConditionalHeaders {
  range?: string;
  ifRange?: string;
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

export type Decision =
  | { status: 200 }
  | { status: 206; ranges: ByteRange[] }
  | { status: 304 }
  | { status: 412 }
  | { status: 416 };

/** Seconds: HTTP dates carry no milliseconds, so comparisons are made at that precision. */
const seconds = (ms: number): number => Math.floor(ms / 1000);

interface EntityTag {
  weak: boolean;
  opaque: string;
}

const MAX_TAGS = 64;
const TAG = /^(W\/)?("[\x21\x23-\x7e\x80-\xff]*")$/;

/** `*` → 'any'; otherwise the entity tags of a list, or null when the field is malformed. */
function parseTagList(value: string): 'any' | EntityTag[] | null {
  const v = value.replace(OWS, '');
  if (v === '*') return 'any';
  const tags: EntityTag[] = [];
  for (const part of v.split(',', MAX_TAGS + 1)) {
    const p = part.replace(OWS, '');
    if (p === '') continue;
    const m = TAG.exec(p);
    if (!m || tags.length >= MAX_TAGS) return null;
    tags.push({ weak: m[1] !== undefined, opaque: m[2]! });
  }
  return tags;
}

const strongMatch = (t: EntityTag, etag: string): boolean => !t.weak && t.opaque === etag;
const weakMatch = (t: EntityTag, etag: string): boolean => t.opaque === etag;

/**
 * Preconditions in the order of RFC 9110 §13.2.2, then Range and If-Range. `method` is GET or
 * HEAD; Range is honoured for GET only (§14.2: range handling is defined for GET alone), so a
 * HEAD answers the headers of the whole file.
 */
export function decide(method: string, h: ConditionalHeaders, size: number, v: Validators, nowMs: number): Decision {
  if (h.ifMatch !== undefined) {
    const tags = parseTagList(h.ifMatch);
    if (tags !== 'any' && (tags === null || !tags.some((t) => strongMatch(t, v.etag)))) return { status: 412 };
  } else if (h.ifUnmodifiedSince !== undefined) {
    const d = parseHttpDate(h.ifUnmodifiedSince);
    if (d !== null && seconds(v.lastModifiedMs) > seconds(d)) return { status: 412 };
  }
  if (h.ifNoneMatch !== undefined) {
    const tags = parseTagList(h.ifNoneMatch);
    if (tags === 'any' || (tags !== null && tags.some((t) => weakMatch(t, v.etag)))) return { status: 304 };
  } else if (h.ifModifiedSince !== undefined) {
    const d = parseHttpDate(h.ifModifiedSince);
    if (d !== null && seconds(v.lastModifiedMs) <= seconds(d)) return { status: 304 };
  }
  if (method !== 'GET' || h.range === undefined) return { status: 200 };
  if (h.ifRange !== undefined && !ifRangeHolds(h.ifRange, v, nowMs)) return { status: 200 };
  const r = parseRange(h.range, size);
  if (r.kind === 'ignore') return { status: 200 };
  if (r.kind === 'unsatisfiable') return { status: 416 };
  return { status: 206, ranges: r.ranges };
}

/**
 * If-Range (RFC 9110 §13.1.5): the range applies only when the validator names the current
 * representation. An entity tag must match strongly; a date must equal Last-Modified exactly,
 * and only counts when Last-Modified is strong, i.e. at least a second in the past.
 */
export function ifRangeHolds(value: string, v: Validators, nowMs: number): boolean {
  const s = value.replace(OWS, '');
  if (s.startsWith('"') || s.startsWith('W/')) return s === v.etag;
  const d = parseHttpDate(s);
  if (d === null) return false;
  return seconds(d) === seconds(v.lastModifiedMs) && seconds(nowMs) > seconds(v.lastModifiedMs);
}
