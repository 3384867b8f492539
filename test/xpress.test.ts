import { SeededRandom } from '../src/fixtures/seeded-random.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  XpressFormatError,
  decodePlainLz77,
  encodePlainLz77,
  maxPlainLz77Size,
  xpressCompress,
  xpressDecompress,
} from '../src/protocol/xpress/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(s.trim().split(/\s+/), (h) => parseInt(h, 16));
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

// Deterministic data so a failure reproduces.
function rng(seed: number): () => number {
  const r = new SeededRandom(`xpress-${seed}`);
  return () => r.nextUint32() / 4294967296;
}
function randomBytes(n: number, seed: number): Uint8Array {
  const next = rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (next() * 256) | 0;
  return out;
}
function guid(next: () => number): string {
  const h = (n: number) => Array.from({ length: n }, () => ((next() * 16) | 0).toString(16)).join('');
  return `${h(8)}-${h(4)}-${h(4)}-${h(4)}-${h(12)}`;
}
function soapXml(entries: number, seed: number): Uint8Array {
  const next = rng(seed);
  let s = '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
    + '<soap:Body><SyncUpdatesResponse xmlns="http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService">'
    + '<SyncUpdatesResult><NewUpdates>';
  for (let i = 0; i < entries; i++) {
    const id = guid(next);
    s += `<UpdateInfo><ID>${200000 + i}</ID><Deployment><ID>${30000 + i}</ID><Action>Install</Action>`
      + `<IsAssigned>true</IsAssigned><LastChangeTime>2024-0${1 + (i % 9)}-1${i % 10}</LastChangeTime></Deployment>`
      + `<IsLeaf>${i % 3 === 0}</IsLeaf><Xml>&lt;UpdateIdentity UpdateID="${id}" RevisionNumber="${100 + (i % 250)}" /&gt;`
      + `&lt;Properties UpdateType="Software" /&gt;&lt;Relationships&gt;&lt;Prerequisites&gt;&lt;UpdateIdentity UpdateID="${guid(next)}" /&gt;`
      + '&lt;/Prerequisites&gt;&lt;/Relationships&gt;</Xml></UpdateInfo>';
  }
  return ascii(s + '</NewUpdates><Truncated>false</Truncated></SyncUpdatesResult></SyncUpdatesResponse></soap:Body></soap:Envelope>');
}
function roundTrip(data: Uint8Array): Uint8Array {
  const packed = encodePlainLz77(data);
  assert.ok(packed.length <= maxPlainLz77Size(data.length), 'compressed size within the documented bound');
  assert.deepEqual(decodePlainLz77(packed, data.length), data);
  return packed;
}
const isFormatError = (e: unknown) => e instanceof XpressFormatError;

// [MS-XCA] section 3.1 examples.
const SPEC_ALPHABET = hex('3f 00 00 00 61 62 63 64 65 66 67 68 69 6a 6b 6c 6d 6e 6f 70 71 72 73 74 75 76 77 78 79 7a');
const SPEC_ABC = hex('ff ff ff 1f 61 62 63 17 00 0f ff 26 01');
const ALPHABET = ascii('abcdefghijklmnopqrstuvwxyz');
const ABC300 = ascii('abc'.repeat(100));

test('MS-XCA 3.1: decodes the alphabet example', () => {
  assert.deepEqual(decodePlainLz77(SPEC_ALPHABET, 26), ALPHABET);
});

test('MS-XCA 3.1: decodes the abc x100 example (match distance 3, length 297)', () => {
  assert.deepEqual(decodePlainLz77(SPEC_ABC, 300), ABC300);
});

test('MS-XCA 3.1: the encoder reproduces both example encodings byte for byte', () => {
  assert.deepEqual(encodePlainLz77(ALPHABET), SPEC_ALPHABET);
  assert.deepEqual(encodePlainLz77(ABC300), SPEC_ABC);
});

test('decodes two extended lengths sharing one nibble byte', () => {
  // abc, match(3, 10) takes the low nibble (0) of byte f0, match(3, 25) its high
  // nibble (15) and then one extra length byte (0).
  const stream = hex('ff ff ff 1f 61 62 63 17 00 f0 17 00 00');
  assert.deepEqual(decodePlainLz77(stream, 38), ascii('abc'.repeat(13)).subarray(0, 38));
});

test('round trips empty and one-byte input', () => {
  assert.deepEqual(encodePlainLz77(new Uint8Array(0)), hex('ff ff ff ff'));
  assert.equal(decodePlainLz77(hex('ff ff ff ff'), 0).length, 0);
  assert.equal(decodePlainLz77(new Uint8Array(0), 0).length, 0);
  roundTrip(Uint8Array.of(0x42));
  roundTrip(Uint8Array.of(1, 2));
  roundTrip(Uint8Array.of(7, 7, 7));
});

test('round trips exactly 32 and 64 symbols (flag word boundaries)', () => {
  for (const n of [31, 32, 33, 63, 64, 65]) {
    const packed = roundTrip(randomBytes(n, n));
    // All literals: one flag word per 32 symbols plus a terminating one.
    assert.equal(packed.length, n + 4 * (Math.floor(n / 32) + 1));
  }
});

test('round trips random bytes', () => {
  for (const [n, seed] of [[100, 1], [4096, 2], [70000, 3]] as const) roundTrip(randomBytes(n, seed));
});

test('round trips highly repetitive data, including 32-bit match lengths', () => {
  const zeros = new Uint8Array(200000);
  const packed = roundTrip(zeros);
  assert.ok(packed.length < 64, `200000 zeros packed to ${packed.length} bytes`);
  roundTrip(ascii('ab'.repeat(50000)));
  roundTrip(ascii('0123456789'.repeat(9000)));
});

test('encodes every match length class (3..9, nibble, byte, 16-bit, 32-bit) and round trips it', () => {
  // "abc" then one match at distance 3 of length L: the exact size proves which
  // length extension the encoder chose.
  const extraBytes = (len: number) => (len <= 9 ? 0 : len <= 24 ? 1 : len <= 279 ? 2 : len <= 65538 ? 4 : 8);
  const lengths = [3, 4, 9, 10, 11, 24, 25, 26, 200, 278, 279, 280, 281, 297, 1000, 65537, 65538, 65539, 70000];
  for (const len of lengths) {
    const data = ascii('abc'.repeat(Math.ceil((len + 3) / 3))).subarray(0, 3 + len);
    const packed = roundTrip(data);
    assert.equal(packed.length, 4 + 3 + 2 + extraBytes(len), `match length ${len}`);
  }
  // The same classes with a non-periodic payload repeated at a distance.
  for (const len of [3, 10, 25, 280, 5000]) {
    const unit = randomBytes(len, len);
    const data = new Uint8Array([...unit, ...unit, ...randomBytes(8, len + 1)]);
    const packed = roundTrip(data);
    assert.ok(packed.length <= maxPlainLz77Size(len + 8) + 8, `length ${len}: packed to ${packed.length}`);
  }
});

test('uses offsets up to the 8192-byte window and none beyond', () => {
  for (const [distance, matched] of [[8192, true], [8193, false]] as const) {
    const unit = randomBytes(distance, distance);
    const packed = roundTrip(new Uint8Array([...unit, ...unit.subarray(0, 100)]));
    // The 100 repeated bytes cost ~4 as one match, 100+ as literals.
    assert.equal(packed.length < maxPlainLz77Size(distance + 100) - 90, matched, `distance ${distance}: ${packed.length} bytes`);
  }
});

test('round trips many consecutive long matches (nibble sharing in the encoder)', () => {
  const next = rng(9);
  const words = Array.from({ length: 40 }, (_, i) => `<Element${i} attribute="${guid(next)}">`);
  let s = '';
  for (let i = 0; i < 3000; i++) s += words[(next() * words.length) | 0];
  roundTrip(ascii(s));
});

test('round trips SOAP XML and compresses it well', () => {
  const xml = soapXml(300, 5);
  const packed = roundTrip(xml);
  assert.ok(packed.length < xml.length * 0.45, `ratio ${(packed.length / xml.length).toFixed(3)}`);
});

test('framing: round trips bodies of many sizes, including several blocks', () => {
  const xml = soapXml(600, 6);
  assert.ok(xml.length > 5 * 16352);
  for (const body of [new Uint8Array(0), Uint8Array.of(1), ascii('abc'), xml.subarray(0, 16352), xml.subarray(0, 16353), xml]) {
    const framed = xpressCompress(body);
    assert.deepEqual(xpressDecompress(framed, body.length), Buffer.from(body));
  }
  assert.equal(xpressCompress(new Uint8Array(0)).length, 0);
});

test('framing: blocks are 16352 bytes with little-endian size headers', () => {
  const xml = soapXml(600, 7);
  const framed = xpressCompress(xml);
  let p = 0;
  let total = 0;
  let blocks = 0;
  while (p < framed.length) {
    const raw = framed.readUInt32LE(p);
    const packed = framed.readUInt32LE(p + 4);
    assert.ok(packed < raw, 'XML blocks compress');
    assert.deepEqual(decodePlainLz77(framed.subarray(p + 8, p + 8 + packed), raw), xml.subarray(total, total + raw));
    p += 8 + packed;
    total += raw;
    blocks++;
    if (total < xml.length) assert.equal(raw, 16352);
  }
  assert.equal(p, framed.length);
  assert.equal(total, xml.length);
  assert.equal(blocks, Math.ceil(xml.length / 16352));
});

test('framing: incompressible blocks are stored raw with equal sizes', () => {
  const body = randomBytes(40000, 11);
  const framed = xpressCompress(body);
  assert.equal(framed.length, body.length + 8 * 3);
  for (let p = 0, i = 0; p < framed.length; i++) {
    const raw = framed.readUInt32LE(p);
    assert.equal(framed.readUInt32LE(p + 4), raw);
    assert.deepEqual(framed.subarray(p + 8, p + 8 + raw), Buffer.from(body.subarray(i * 16352, i * 16352 + raw)));
    p += 8 + raw;
  }
  assert.deepEqual(xpressDecompress(framed, body.length), Buffer.from(body));
  // Tiny blocks cannot shrink either.
  assert.deepEqual(xpressCompress(Uint8Array.of(9)), Buffer.from([1, 0, 0, 0, 1, 0, 0, 0, 9]));
});

test('framing: custom block sizes and mixed raw/compressed blocks', () => {
  const body = new Uint8Array([...randomBytes(1000, 12), ...ABC300, ...randomBytes(500, 13)]);
  for (const size of [1, 7, 300, 999, 65535]) {
    assert.deepEqual(xpressDecompress(xpressCompress(body, size), body.length), Buffer.from(body));
  }
  const handMade = Buffer.concat([
    Buffer.from([3, 0, 0, 0, 3, 0, 0, 0]), Buffer.from('xyz'),
    Buffer.from([44, 1, 0, 0, SPEC_ABC.length, 0, 0, 0]), SPEC_ABC,
  ]);
  assert.equal(xpressDecompress(handMade, 303).toString(), 'xyz' + 'abc'.repeat(100));
  assert.throws(() => xpressCompress(body, 0), RangeError);
  assert.throws(() => xpressCompress(body, 65536), RangeError);
});

test('rejects truncated streams', () => {
  assert.throws(() => decodePlainLz77(SPEC_ALPHABET.subarray(0, 29), 26), isFormatError);
  assert.throws(() => decodePlainLz77(SPEC_ABC.subarray(0, 12), 300), isFormatError);
  assert.throws(() => decodePlainLz77(SPEC_ABC.subarray(0, 8), 300), isFormatError);
  assert.throws(() => decodePlainLz77(hex('3f 00'), 26), isFormatError);
  assert.throws(() => decodePlainLz77(new Uint8Array(0), 1), isFormatError);
  // The end marker arrives before the declared size is reached.
  assert.throws(() => decodePlainLz77(SPEC_ABC, 301), isFormatError);
  assert.throws(() => decodePlainLz77(SPEC_ALPHABET, 27), isFormatError);
});

test('rejects a match offset before the start of the output', () => {
  assert.throws(() => decodePlainLz77(hex('ff ff ff ff 00 00'), 3), isFormatError);
  assert.throws(() => decodePlainLz77(hex('ff ff ff 1f 61 62 63 20 00'), 6), isFormatError); // offset 5 at 3
});

test('rejects match lengths overflowing expectedSize or malformed', () => {
  assert.throws(() => decodePlainLz77(SPEC_ABC, 299), isFormatError);
  assert.throws(() => decodePlainLz77(SPEC_ABC, 100), isFormatError);
  // 16-bit length below the 22 the shorter forms already cover.
  assert.throws(() => decodePlainLz77(hex('ff ff ff 1f 61 62 63 17 00 0f ff 05 00'), 300), isFormatError);
  // 32-bit length of ~4 GiB must be refused, not looped over.
  assert.throws(() => decodePlainLz77(hex('ff ff ff 1f 61 62 63 17 00 0f ff 00 00 ff ff ff ff'), 1000), isFormatError);
  assert.throws(() => decodePlainLz77(hex('ff ff ff 1f 61 62 63 17 00 0f ff 00 00 ff ff'), 1000), isFormatError);
});

test('randomly corrupted streams either decode to the right size or throw XpressFormatError', () => {
  const xml = soapXml(40, 21);
  const packed = encodePlainLz77(xml);
  const next = rng(22);
  for (let i = 0; i < 2000; i++) {
    const bad = packed.slice(0, i % 7 === 0 ? (next() * packed.length) | 0 : packed.length);
    for (let k = 0; k < 1 + (i % 4); k++) if (bad.length) bad[(next() * bad.length) | 0] = (next() * 256) | 0;
    try {
      assert.equal(decodePlainLz77(bad, xml.length).length, xml.length);
    } catch (e) {
      assert.ok(isFormatError(e), String(e));
    }
  }
});

test('framing: rejects truncated headers and data, oversized blocks and totals', () => {
  const framed = xpressCompress(soapXml(100, 31));
  assert.throws(() => xpressDecompress(framed.subarray(0, 5), 1e6), isFormatError);
  assert.throws(() => xpressDecompress(framed.subarray(0, framed.length - 1), 1e6), isFormatError);
  assert.throws(() => xpressDecompress(Buffer.concat([framed, Buffer.from([1, 0, 0])]), 1e6), isFormatError);
  assert.throws(() => xpressDecompress(Buffer.from([0, 0, 1, 0, 4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]), 1e6), isFormatError);
  assert.throws(() => xpressDecompress(Buffer.from([4, 0, 0, 0, 0, 0, 1, 0, 1, 2, 3, 4]), 1e6), isFormatError);
  const total = xpressDecompress(framed, 1e6).length;
  assert.throws(() => xpressDecompress(framed, total - 1), isFormatError);
  // A compressed block that decodes to less than its header claims.
  const short = Buffer.concat([Buffer.from([27, 0, 0, 0, SPEC_ALPHABET.length, 0, 0, 0]), SPEC_ALPHABET]);
  assert.throws(() => xpressDecompress(short, 1e6), isFormatError);
  // Blocks are independent: a match may not reach into the previous block.
  const crossing = Buffer.concat([Buffer.from([3, 0, 0, 0, 3, 0, 0, 0]), Buffer.from('abc'),
    Buffer.from([3, 0, 0, 0, 6, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x10, 0x00])]);
  assert.throws(() => xpressDecompress(crossing, 1e6), isFormatError);
});

test('framing: a decompression bomb is refused before allocating its output', () => {
  // 100,000 tiny blocks each claiming 65,535 bytes: 1.2 MB announcing 6.5 GB.
  const block = Buffer.from([0xff, 0xff, 0, 0, 4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
  const bomb = Buffer.alloc(block.length * 100000);
  for (let p = 0; p < bomb.length; p += block.length) block.copy(bomb, p);
  const before = process.memoryUsage().arrayBuffers;
  assert.throws(() => xpressDecompress(bomb, 64 * 1024 * 1024), isFormatError);
  assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 1024 * 1024, 'no output buffer was allocated');
  // A genuine 65,535-byte expansion from a 20-byte block, over a small cap.
  const packed = encodePlainLz77(new Uint8Array(65535));
  const real = Buffer.concat([Buffer.from([0xff, 0xff, 0, 0, packed.length, 0, 0, 0]), packed]);
  assert.equal(xpressDecompress(real, 65535).length, 65535);
  assert.throws(() => xpressDecompress(real, 65534), isFormatError);
});
