import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coalesce, decide, ifRangeHolds, parseRange, type ConditionalHeaders, type Decision, type RangeOutcome } from '../src/core/content/http-ranges.js';
import { httpDate, parseHttpDate } from '../src/core/content/http-dates.js';
import { multipartByteranges } from '../src/core/content/multipart-byteranges.js';
import { mediaTypeFor } from '../src/core/content/media-types.js';

const SIZE = 1000;
const ignore: RangeOutcome = { kind: 'ignore' };
const unsat: RangeOutcome = { kind: 'unsatisfiable' };
const ranges = (...r: Array<[number, number]>): RangeOutcome => ({ kind: 'ranges', ranges: r.map(([start, end]) => ({ start, end })) });

test('parseRange: the forms of RFC 9110 §14.1.2, clamped to the file', () => {
  const cases: Array<[string | undefined, number, RangeOutcome]> = [
    [undefined, SIZE, ignore],
    ['bytes=0-0', SIZE, ranges([0, 0])],
    ['bytes=0-999', SIZE, ranges([0, 999])],
    ['bytes=0-5000', SIZE, ranges([0, 999])],
    ['bytes=500-', SIZE, ranges([500, 999])],
    ['bytes=999-', SIZE, ranges([999, 999])],
    ['bytes=-1', SIZE, ranges([999, 999])],
    ['bytes=-300', SIZE, ranges([700, 999])],
    ['bytes=-5000', SIZE, ranges([0, 999])],
    ['Bytes=1-2', SIZE, ranges([1, 2])],
    ['bytes= 1-2 ,\t4-5 ', SIZE, ranges([1, 2], [4, 5])],
    ['bytes=1-2,,4-5,', SIZE, ranges([1, 2], [4, 5])],
    // the real Delivery Optimization ranges (content-headers captures)
    ['bytes=0-918943', 918_944, ranges([0, 918_943])],
    ['bytes=204472320-204745167', 204_745_168, ranges([204_472_320, 204_745_167])],
    // unsatisfiable: valid syntax, nothing inside the file
    ['bytes=1000-', SIZE, unsat],
    ['bytes=1000-2000', SIZE, unsat],
    ['bytes=-0', SIZE, unsat],
    ['bytes=5000-6000,7000-', SIZE, unsat],
    ['bytes=99999999999999999999999-', SIZE, unsat],
    // mixed: the satisfiable part wins
    ['bytes=5000-6000,0-1', SIZE, ranges([0, 1])],
    // huge numbers are "beyond the file", not overflow
    ['bytes=0-99999999999999999999999', SIZE, ranges([0, 999])],
    ['bytes=-99999999999999999999999', SIZE, ranges([0, 999])],
    // invalid syntax or unknown unit: ignored (RFC 9110 §14.2), the whole file is served
    ['bytes=5-1', SIZE, ignore],
    ['bytes=99999999999999999999-5', SIZE, ignore],
    ['bytes=-', SIZE, ignore],
    ['bytes=', SIZE, ignore],
    ['bytes=,,,', SIZE, ignore],
    ['bytes=-5-10', SIZE, ignore],
    ['bytes=-1-', SIZE, ignore],
    ['bytes=a-b', SIZE, ignore],
    ['bytes=0x10-20', SIZE, ignore],
    ['bytes=1.5-2', SIZE, ignore],
    ['bytes=+1-2', SIZE, ignore],
    ['bytes 0-1', SIZE, ignore],
    ['items=0-1', SIZE, ignore],
    ['bytes=0-1;x', SIZE, ignore],
    ['', SIZE, ignore],
    // an empty file has no byte to point at: served whole
    ['bytes=0-0', 0, ignore],
    ['bytes=-5', 0, ignore],
  ];
  for (const [header, size, want] of cases) assert.deepEqual(parseRange(header, size), want, `${header} / ${size}`);
});

test('parseRange: overlapping and adjacent ranges are coalesced, out of order sorted', () => {
  assert.deepEqual(parseRange('bytes=0-10,5-20', SIZE), ranges([0, 20]));
  assert.deepEqual(parseRange('bytes=21-30,0-10,11-20', SIZE), ranges([0, 30]));
  assert.deepEqual(parseRange('bytes=500-600,0-1,-10', SIZE), ranges([0, 1], [500, 600], [990, 999]));
  assert.deepEqual(parseRange('bytes=0-,0-,0-,0-', SIZE), ranges([0, 999]));
  assert.deepEqual(coalesce([{ start: 5, end: 9 }, { start: 0, end: 3 }]), [{ start: 0, end: 3 }, { start: 5, end: 9 }]);
});

test('parseRange: hostile headers cost bounded work and are ignored', () => {
  const many = (n: number): string => 'bytes=' + Array.from({ length: n }, (_, i) => `${i * 2}-${i * 2}`).join(',');
  assert.equal(parseRange(many(16), SIZE).kind, 'ranges');
  assert.deepEqual(parseRange(many(17), SIZE), ignore);
  const huge = many(5000);
  const t0 = process.hrtime.bigint();
  assert.deepEqual(parseRange(huge, SIZE), ignore);
  assert.deepEqual(parseRange('bytes=' + ','.repeat(16_000), SIZE), ignore);
  assert.deepEqual(parseRange('bytes=0-0' + ' '.repeat(16_000) + ',1-1', SIZE), ranges([0, 1]));
  assert.ok(Number(process.hrtime.bigint() - t0) < 50e6, 'fast');
  assert.equal(parseRange(many(30), SIZE, 32).kind, 'ranges', 'the cap is a parameter');
});

test('HTTP dates: IMF-fixdate written, three forms read, garbage refused', () => {
  const ms = Date.UTC(1994, 10, 6, 8, 49, 37);
  assert.equal(httpDate(ms), 'Sun, 06 Nov 1994 08:49:37 GMT');
  assert.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), ms);
  assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', Date.UTC(2026, 0, 1)), ms);
  assert.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), ms);
  assert.equal(parseHttpDate('Wed, 02 Sep 2026 08:30:53 GMT'), Date.UTC(2026, 8, 2, 8, 30, 53));
  for (const bad of ['1', '', 'yesterday', 'Sun, 31 Feb 1994 08:49:37 GMT', 'Sun, 06 Nov 1994 25:49:37 GMT', 'Sun, 06 Nov 1994 08:49:37 UTC', '2026-09-02T08:30:53Z', 'x'.repeat(10_000)]) {
    assert.equal(parseHttpDate(bad), null, bad);
  }
});

const V = { etag: '"2F88DF42DA48AA980FB748D13BAA2DE49CD154AB"', lastModifiedMs: Date.UTC(2026, 8, 2, 8, 30, 53, 456) };
const LM = 'Wed, 02 Sep 2026 08:30:53 GMT';
const NOW = Date.UTC(2026, 9, 4);

test('decide: conditionals and ranges in RFC 9110 §13.2.2 order', () => {
  const cases: Array<[string, string, ConditionalHeaders, Decision]> = [
    ['plain GET', 'GET', {}, { status: 200 }],
    ['range', 'GET', { range: 'bytes=0-9' }, { status: 206, ranges: [{ start: 0, end: 9 }] }],
    ['HEAD ignores Range (§14.2: range handling is defined for GET only)', 'HEAD', { range: 'bytes=0-9' }, { status: 200 }],
    ['416', 'GET', { range: 'bytes=5000-' }, { status: 416 }],
    ['If-None-Match match', 'GET', { ifNoneMatch: V.etag }, { status: 304 }],
    ['If-None-Match weak match', 'HEAD', { ifNoneMatch: `"x", W/${V.etag}` }, { status: 304 }],
    ['If-None-Match *', 'GET', { ifNoneMatch: '*' }, { status: 304 }],
    ['If-None-Match other', 'GET', { ifNoneMatch: '"other"', range: 'bytes=0-0' }, { status: 206, ranges: [{ start: 0, end: 0 }] }],
    ['If-None-Match garbage', 'GET', { ifNoneMatch: 'garbage' }, { status: 200 }],
    ['If-None-Match beats If-Modified-Since', 'GET', { ifNoneMatch: '"other"', ifModifiedSince: LM }, { status: 200 }],
    ['If-Modified-Since same second', 'GET', { ifModifiedSince: LM }, { status: 304 }],
    ['If-Modified-Since later', 'GET', { ifModifiedSince: 'Thu, 03 Sep 2026 00:00:00 GMT' }, { status: 304 }],
    ['If-Modified-Since earlier', 'GET', { ifModifiedSince: 'Tue, 01 Sep 2026 00:00:00 GMT' }, { status: 200 }],
    ['If-Modified-Since garbage', 'GET', { ifModifiedSince: '1' }, { status: 200 }],
    ['If-Match mismatch', 'GET', { ifMatch: '"other"' }, { status: 412 }],
    ['If-Match weak never matches', 'GET', { ifMatch: `W/${V.etag}` }, { status: 412 }],
    ['If-Match match', 'GET', { ifMatch: V.etag, range: 'bytes=0-0' }, { status: 206, ranges: [{ start: 0, end: 0 }] }],
    ['If-Match *', 'GET', { ifMatch: '*' }, { status: 200 }],
    ['If-Unmodified-Since earlier', 'GET', { ifUnmodifiedSince: 'Tue, 01 Sep 2026 00:00:00 GMT' }, { status: 412 }],
    ['If-Unmodified-Since same', 'GET', { ifUnmodifiedSince: LM }, { status: 200 }],
    ['If-Range etag match', 'GET', { range: 'bytes=0-9', ifRange: V.etag }, { status: 206, ranges: [{ start: 0, end: 9 }] }],
    ['If-Range etag mismatch → whole file', 'GET', { range: 'bytes=0-9', ifRange: '"other"' }, { status: 200 }],
    ['If-Range weak etag → whole file', 'GET', { range: 'bytes=0-9', ifRange: `W/${V.etag}` }, { status: 200 }],
    ['If-Range date match', 'GET', { range: 'bytes=0-9', ifRange: LM }, { status: 206, ranges: [{ start: 0, end: 9 }] }],
    ['If-Range date mismatch', 'GET', { range: 'bytes=0-9', ifRange: 'Tue, 01 Sep 2026 00:00:00 GMT' }, { status: 200 }],
    ['If-Range garbage', 'GET', { range: 'bytes=0-9', ifRange: 'garbage' }, { status: 200 }],
    ['If-Range mismatch beats 416', 'GET', { range: 'bytes=5000-', ifRange: '"other"' }, { status: 200 }],
    ['If-Range without Range', 'GET', { ifRange: '"other"' }, { status: 200 }],
  ];
  for (const [name, method, h, want] of cases) assert.deepEqual(decide(method, h, SIZE, V, NOW), want, name);
});

test('If-Range with a date counts only when Last-Modified is at least a second old', () => {
  assert.equal(ifRangeHolds(LM, V, NOW), true);
  assert.equal(ifRangeHolds(LM, V, V.lastModifiedMs + 100), false);
});

test('multipart/byteranges framing: exact length, one part per range', () => {
  const body = multipartByteranges([{ start: 0, end: 1 }, { start: 5, end: 9 }], 10, 'application/octet-stream', 'B0UND');
  assert.equal(body.contentType, 'multipart/byteranges; boundary=B0UND');
  const file = Buffer.from('0123456789');
  const wire = Buffer.concat(body.pieces.map((p) => (p.kind === 'bytes' ? p.data : file.subarray(p.range.start, p.range.end + 1))));
  assert.equal(wire.toString('latin1'),
    '--B0UND\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-1/10\r\n\r\n01' +
    '\r\n--B0UND\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 5-9/10\r\n\r\n56789' +
    '\r\n--B0UND--\r\n');
  assert.equal(body.length, wire.length);
});

test('media types by extension, IIS-like, unknown → octet-stream', () => {
  const cases: Array<[string, string]> = [
    ['cab', 'application/vnd.ms-cab-compressed'], ['CAB', 'application/vnd.ms-cab-compressed'], ['exe', 'application/octet-stream'],
    ['msi', 'application/octet-stream'], ['msu', 'application/octet-stream'], ['psf', 'application/octet-stream'],
    ['wim', 'application/octet-stream'], ['esd', 'application/octet-stream'], ['appx', 'application/appx'],
    ['msix', 'application/msix'], ['msixbundle', 'application/msixbundle'], ['xml', 'text/xml'], ['x/y/a.Cab', 'application/vnd.ms-cab-compressed'],
    ['weird', 'application/octet-stream'], ['constructor', 'application/octet-stream'], ['__proto__', 'application/octet-stream'],
  ];
  for (const [ext, type] of cases) assert.equal(mediaTypeFor(ext), type, ext);
});
