// Cabinet (MS-CAB) and LZX decoding: the real XmlUpdateBlobCompressed values a WSUS
// upstream sent (shared captures, read in place) must decode to the recorded update
// documents; the simple LZX encoder (src/protocol/cab/lzx-encoder.ts) produces the
// block kinds, E8 translation and window wraps the real blobs do not exercise
// (cross-checked with cabextract when installed); stored and MSZIP cabinets are
// built with node:zlib; damaged inputs
// must fail with CabinetFormatError without allocating what they claim.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../src/paths.js';
import {
  CabinetFormatError,
  LzxDecoder,
  TYPE_COMPRESS_LZX21,
  assembleCabinet,
  buildCabinet,
  decodeUpdateBlob,
  extractCabinetMember,
  lzxCompress,
  readCabinet,
  type LzxEncodeOptions,
  type LzxToken,
} from '../src/protocol/cab/index.js';

const CAPTURES = path.resolve(projectRoot, '../shared/captures/wsus-m0-wsusss');
const SKIP = 'shared captures not found (expected ../shared/captures next to the project)';
const LIMITS = { maxUncompressedBytes: 64 << 20 };
const isCabError = (code?: string) => (e: unknown) =>
  e instanceof CabinetFormatError && (code === undefined || e.code === code);

function hasTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// Deterministic pseudo-random bytes (xorshift32) so failures reproduce.
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}
function randomBytes(n: number, seed: number): Uint8Array {
  const next = prng(seed);
  return Uint8Array.from({ length: n }, () => next() & 0xff);
}

function lzxCab(data: Uint8Array, plan: LzxEncodeOptions = {}, checksums = true): Buffer {
  const typeCompress = 0x0003 | ((plan.windowBits ?? 21) << 8);
  return assembleCabinet({
    folders: [{ typeCompress, blocks: lzxCompress(data, plan) }],
    files: [{ name: 'blob', size: data.length, folderIndex: 0, folderOffset: 0 }],
    checksums,
  });
}

// ---------------------------------------------------------------- real captures

interface RealBlob {
  exchange: string;
  base64: string;
}
function realBlobs(): RealBlob[] {
  const found: RealBlob[] = [];
  for (const set of ['exchanges', 'exchanges-client']) {
    const dir = path.join(CAPTURES, set);
    if (!existsSync(dir)) continue;
    for (const ex of readdirSync(dir).sort()) {
      const body = path.join(dir, ex, 'response.body');
      if (!existsSync(body)) continue;
      for (const m of readFileSync(body, 'utf8').matchAll(/<XmlUpdateBlobCompressed>([^<]*)</g)) {
        found.push({ exchange: `${set}/${ex}`, base64: m[1] });
      }
    }
  }
  return found;
}
const identity = (xml: string): string => {
  const m = /<(?:\w+:)?UpdateIdentity\b[^>]*\bUpdateID="([^"]+)"[^>]*\bRevisionNumber="(\d+)"/.exec(xml);
  assert.ok(m, 'document has an UpdateIdentity');
  return `${m[1].toLowerCase()}-r${m[2]}`;
};

test('real XmlUpdateBlobCompressed values decode to the recorded update documents', (t) => {
  if (!existsSync(path.join(CAPTURES, 'docs'))) return t.skip(SKIP);
  const blobs = realBlobs();
  assert.ok(blobs.length >= 3, `found ${blobs.length} compressed blobs`);
  const decoded = new Set<string>();
  for (const { exchange, base64 } of blobs) {
    assert.ok(base64.startsWith('TVNDRg'), `${exchange}: a cabinet`);
    const cab = Buffer.from(base64, 'base64');
    const parsed = readCabinet(cab, LIMITS);
    assert.equal(parsed.folders.length, 1);
    assert.equal(parsed.folders[0].typeCompress, TYPE_COMPRESS_LZX21, `${exchange}: LZX, 2 MiB window`);
    assert.deepEqual(parsed.members.map((m) => m.name), ['blob']);

    const xml = decodeUpdateBlob(base64, 1 << 20);
    const id = identity(xml);
    const docFile = path.join(CAPTURES, 'docs', `${id}.xml`);
    assert.ok(existsSync(docFile), `${exchange}: docs/${id}.xml exists`);
    const doc = readFileSync(docFile, 'utf8').replace(/^\uFEFF/, '');
    assert.equal(xml, doc, `${exchange}: text equals docs/${id}.xml`);
    // Byte-exact too: the member is the document in UTF-16LE, without a BOM.
    const raw = extractCabinetMember(cab, 'blob', LIMITS);
    assert.ok(raw.equals(Buffer.from(doc, 'utf16le')), `${exchange}: UTF-16LE bytes`);
    decoded.add(id);
  }
  t.diagnostic(`decoded ${[...decoded].join(', ')}`);
});

test('real blob: every truncation and every payload byte flip is refused or contained', (t) => {
  const blob = realBlobs().find((b) => b.exchange.endsWith('000014'));
  if (!blob) return t.skip(SKIP);
  const cab = Buffer.from(blob.base64, 'base64');
  const good = extractCabinetMember(cab, 'blob', LIMITS);
  for (let len = 0; len < cab.length; len += 7) {
    assert.throws(() => extractCabinetMember(cab.subarray(0, len), 'blob', LIMITS), isCabError(), `cut at ${len}`);
  }
  const payload = readCabinet(cab, LIMITS).folders[0].blocks[0].offset;
  // With the checksum in place any flip is caught before decompression...
  const flipped = Buffer.from(cab);
  flipped[payload + 100] ^= 0x10;
  assert.throws(() => extractCabinetMember(flipped, 'blob', LIMITS), /checksum/);
  // ...without it the LZX decoder itself must fail cleanly or produce the declared size.
  let refused = 0;
  for (let i = payload; i < cab.length; i++) {
    const bad = Buffer.from(cab);
    bad.writeUInt32LE(0, payload - 8);
    bad[i] ^= 1 << (i % 8);
    try {
      assert.equal(extractCabinetMember(bad, 'blob', LIMITS).length, good.length);
    } catch (e) {
      assert.ok(e instanceof CabinetFormatError, `flip at ${i}: ${String(e)}`);
      refused++;
    }
  }
  t.diagnostic(`${refused} of ${cab.length - payload} single-bit flips refused`);
});

// ---------------------------------------------------------------- LZX features

function x86Like(n: number, seed: number): Uint8Array {
  // CALL rel32 opcodes with near targets among random bytes: what E8 translation is for.
  const next = prng(seed);
  const out = randomBytes(n, seed);
  const dv = new DataView(out.buffer);
  for (let i = 0; i + 5 <= n; i += 7 + (next() % 40)) {
    out[i] = 0xe8;
    dv.setInt32(i + 1, (next() % 20000) - 10000 - (next() % 3 === 0 ? i : 0), true);
  }
  for (let i = 1000; i + 64 < n; i += 3000) out.copyWithin(i, i - 900, i - 900 + 64);
  return out;
}
function lzMix(n: number, seed: number): Uint8Array {
  // Random literals and copies of every length and many distances: all symbols in use.
  const next = prng(seed);
  const out = randomBytes(n, seed + 1);
  for (let i = 300; i < n; ) {
    const len = 2 + (next() % 256);
    const dist = 1 + (next() % Math.min(i, 1 << (4 + (next() % 14))));
    for (let k = 0; k < len && i < n; k++, i++) out[i] = out[i - dist];
    i += next() % 8;
  }
  return out;
}
const text = (n: number): Uint8Array =>
  Buffer.from(
    Array.from(
      { length: Math.ceil(n / 20) },
      (_, i) => `<File Digest="${(i * 7919) % 1000}" Name="f${i % 97}.cab"/>\n`,
    ).join(''),
  ).subarray(0, n);

const lzxCases: [string, Uint8Array, LzxEncodeOptions][] = [
  ['verbatim blocks, several frames', text(150_000), {}],
  ['aligned offset blocks', text(120_000), { blocks: [[2, 50_000]] }],
  ['uncompressed blocks of odd sizes spanning frames', randomBytes(100_001, 7), { blocks: [[3, 40_001], [3, 32_767]] }],
  [
    'mixed blocks, odd uncompressed block ending a frame',
    text(140_000),
    { blocks: [[1, 30_001], [3, 2_767], [2, 65_536], [3, 9]] },
  ],
  ['E8 translation', x86Like(200_000, 3), { e8Size: 12_000_000, blocks: [[1, 70_000], [3, 10_001], [2, 30_000]] }],
  ['E8 translation, small translation size', x86Like(70_000, 5), { e8Size: 20_000 }],
  ['all lengths and many offsets', lzMix(150_000, 21), { blocks: [[1, 60_000], [2, 60_000]] }],
  ['codes longer than the lookup tables', lzMix(90_000, 23), { skew: 16, blocks: [[2, 45_000], [1, 45_000]] }],
  ['32 KiB window (wraps every frame)', text(200_000), { windowBits: 15 }],
  ['1 MiB window', text(80_000), { windowBits: 20, blocks: [[2, 80_000]] }],
  ['one short frame', Buffer.from('<upd:Update/>'), {}],
];

for (const [name, data, plan] of lzxCases) {
  test(`LZX round trip: ${name}`, () => {
    const cab = lzxCab(data, plan);
    assert.ok(Buffer.from(data).equals(extractCabinetMember(cab, 'blob', LIMITS)));
  });
}

test('LZX: matches across a wrapped 2 MiB window', () => {
  // Random data only a match from (almost) a whole window back can compress; zeros
  // between the copies so the matcher finds it.
  // Distance 2,000,000 needs 17 extra offset bits: the first copy lands in a
  // verbatim block, the second in an aligned one.
  const data = new Uint8Array(2_300_000);
  data.set(randomBytes(20_000, 11), 110_000);
  data.set(randomBytes(20_000, 12), 160_000);
  data.copyWithin(2_110_000, 110_000, 130_000);
  data.copyWithin(2_160_000, 160_000, 180_000);
  const cab = lzxCab(data, { blocks: [[1, 50_000], [2, 50_000]] });
  assert.ok(cab.length < 50_000, `the far match was used (${cab.length} bytes)`);
  assert.ok(Buffer.from(data).equals(extractCabinetMember(cab, 'blob', LIMITS)));
});

test('LZX cabinets from the test encoder agree with cabextract', (t) => {
  if (!hasTool('cabextract')) return t.skip('cabextract not installed');
  const dir = mkdtempSync(path.join(tmpdir(), 'cab-lzx-'));
  try {
    for (const [name, data, plan] of lzxCases) {
      const file = path.join(dir, 'x.cab');
      writeFileSync(file, lzxCab(data, plan));
      const out = execFileSync('cabextract', ['-q', '-p', file], { maxBuffer: 1 << 26 });
      assert.ok(out.equals(Buffer.from(data)), `cabextract agrees: ${name}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('LZX: invalid streams are refused', () => {
  const lit = (s: string): LzxToken[] => [...Buffer.from(s)].map((c) => ({ lit: c }));
  const bad = (tokens: LzxToken[], size: number, re: RegExp) => {
    const cab = assembleCabinet({
      folders: [{ typeCompress: TYPE_COMPRESS_LZX21, blocks: lzxCompress(new Uint8Array(size), { tokens }) }],
      files: [{ name: 'blob', size, folderIndex: 0, folderOffset: 0 }],
    });
    assert.throws(() => extractCabinetMember(cab, 'blob', LIMITS), (e) => isCabError()(e) && re.test(String(e)));
  };
  bad([{ len: 3, off: 1 }], 3, /offset 1 out of range/); // before the start of the folder
  bad([...lit('ab'), { len: 3, off: 5 }], 5, /offset 5 out of range/);
  bad([...lit('ab'), { len: 3, off: 1 }], 4, /overruns its block/);
  // E8 flag 0, block type 7; after a failure the decoder refuses to go on.
  const broken = new LzxDecoder(21);
  assert.throws(() => broken.decodeFrame(Uint8Array.from([0xff, 0x7f, 0, 0]), 10), /block type 7/);
  assert.throws(() => broken.decodeFrame(Uint8Array.from([0, 0]), 10), /already failed/);
  // A frame whose compressed data stops half way.
  const [frame] = lzxCompress(text(30_000));
  for (const cut of [2, 40, frame.payload.length >> 1, frame.payload.length - 2]) {
    const part = frame.payload.subarray(0, cut);
    assert.throws(() => new LzxDecoder(21).decodeFrame(part, 30_000), isCabError(), `cut ${cut}`);
  }
  assert.throws(() => new LzxDecoder(22), isCabError('unsupported'));
  assert.throws(() => new LzxDecoder(21, 100).decodeFrame(frame.payload, 30_000), /exceeds the declared size/);
});

// ---------------------------------------------------------------- stored and MSZIP

test('stored and MSZIP cabinets built with node:zlib', () => {
  const big = text(100_000); // 4 MSZIP blocks that refer back across block boundaries
  const small = Buffer.from('second member');
  for (const kind of ['none', 'mszip'] as const) {
    const files = [
      { name: 'blob', data: big },
      { name: 'b\u00e9.txt', data: small },
      { name: 'empty', data: new Uint8Array(0) },
    ];
    const cab = buildCabinet(files, kind);
    const parsed = readCabinet(cab, LIMITS);
    assert.equal(parsed.folders[0].compression, kind);
    assert.equal(parsed.folders[0].blocks.length, 4);
    assert.ok(Buffer.from(big).equals(extractCabinetMember(cab, 'blob', LIMITS)), kind);
    assert.ok(small.equals(extractCabinetMember(cab, 'b\u00e9.txt', LIMITS)), kind);
    assert.equal(extractCabinetMember(cab, 'empty', LIMITS).length, 0);
    assert.throws(() => extractCabinetMember(cab, undefined, LIMITS), /expected one member/);
    assert.throws(() => extractCabinetMember(cab, 'nope', LIMITS), /no member named/);
  }
  // MSZIP without its CK signature, or with a damaged deflate stream.
  const cab = buildCabinet([{ name: 'blob', data: big }], 'mszip');
  const first = readCabinet(cab, LIMITS).folders[0].blocks[0];
  const noCk = Buffer.from(cab);
  noCk.writeUInt32LE(0, first.offset - 8);
  noCk[first.offset] = 0x44;
  assert.throws(() => extractCabinetMember(noCk, 'blob', LIMITS), /CK signature/);
  const damaged = Buffer.from(cab);
  damaged.writeUInt32LE(0, first.offset - 8);
  damaged.fill(0xff, first.offset + 2, first.offset + 40);
  assert.throws(() => extractCabinetMember(damaged, 'blob', LIMITS), isCabError('corrupt'));
});

/** An MSZIP cabinet with reserved areas in CFHEADER, CFFOLDER and every CFDATA. */
function withReserve(data: Uint8Array): Buffer {
  const folder = buildCabinet([{ name: 'blob', data }], 'mszip');
  const { blocks } = readCabinet(folder, LIMITS).folders[0];
  return assembleCabinet({
    folders: [
      {
        typeCompress: 1,
        blocks: blocks.map((b) => ({
          payload: folder.subarray(b.offset, b.offset + b.compressedSize),
          uncompressedSize: b.uncompressedSize,
        })),
      },
    ],
    files: [{ name: 'blob', size: data.length, folderIndex: 0, folderOffset: 0 }],
    reserve: { header: 6, folder: 3, data: 5 },
  });
}

test('reserved areas are skipped', () => {
  const data = text(70_000);
  const cab = withReserve(data);
  assert.equal(cab.readUInt16LE(30) & 4, 4);
  assert.ok(Buffer.from(data).equals(extractCabinetMember(cab, 'blob', LIMITS)));
});

test('cabinets written by gcab (MSZIP) and read by cabextract (ours)', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cab-mszip-'));
  try {
    const data = text(70_000);
    writeFileSync(path.join(dir, 'blob'), data);
    if (hasTool('gcab')) {
      execFileSync('gcab', ['-c', '-z', '-n', path.join(dir, 'g.cab'), 'blob'], { cwd: dir });
      assert.ok(Buffer.from(data).equals(extractCabinetMember(readFileSync(path.join(dir, 'g.cab')), 'blob', LIMITS)));
    } else t.diagnostic('gcab not installed');
    if (hasTool('cabextract')) {
      writeFileSync(path.join(dir, 'o.cab'), buildCabinet([{ name: 'blob', data }], 'mszip'));
      assert.ok(execFileSync('cabextract', ['-q', '-p', path.join(dir, 'o.cab')]).equals(Buffer.from(data)));
      writeFileSync(path.join(dir, 'r.cab'), withReserve(data));
      assert.ok(execFileSync('cabextract', ['-q', '-p', path.join(dir, 'r.cab')]).equals(Buffer.from(data)));
    } else t.diagnostic('cabextract not installed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------- structure and limits

test('inconsistent cabinet structures are refused', () => {
  const good = buildCabinet([{ name: 'blob', data: text(40_000) }], 'none');
  const edit = (f: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(good);
    f(b);
    return b;
  };
  const D = 65; // the CFDATA block: after CFHEADER (36), CFFOLDER (8) and CFFILE "blob" (21)
  const cases: [string, Buffer, RegExp][] = [
    ['signature', edit((b) => b.write('MSCE', 0, 'latin1')), /MSCF/],
    ['reserved', edit((b) => b.writeUInt32LE(1, 4)), /reserved/],
    ['cbCabinet too large', edit((b) => b.writeUInt32LE(good.length + 1, 8)), /declares/],
    ['cbCabinet too small', edit((b) => b.writeUInt32LE(good.length - 1, 8)), /follow the cabinet/],
    ['coffFiles inside the folder table', edit((b) => b.writeUInt32LE(40, 16)), /coffFiles/],
    ['coffFiles past the end', edit((b) => b.writeUInt32LE(good.length, 16)), /truncated/],
    ['version', edit((b) => b.writeUInt8(2, 25)), /version/],
    ['unknown flags', edit((b) => b.writeUInt16LE(0x10, 30)), /flags/],
    ['cabinet set', edit((b) => b.writeUInt16LE(0x2, 30)), /multi-cabinet/],
    ['too many members', edit((b) => b.writeUInt16LE(5000, 28)), /limit/],
    ['CFDATA offset past the end', edit((b) => b.writeUInt32LE(good.length + 10, 36)), /truncated/],
    ['CFDATA inside the headers', edit((b) => b.writeUInt32LE(20, 36)), /overlaps/],
    ['more CFDATA than present', edit((b) => b.writeUInt16LE(3, 40)), /truncated/],
    ['unknown compression', edit((b) => b.writeUInt16LE(0x0004, 42)), /typeCompress/],
    ['LZX window too large', edit((b) => b.writeUInt16LE(0x1603, 42)), /window/],
    ['member beyond its folder', edit((b) => b.writeUInt32LE(40_001, 44)), /outside its folder/],
    ['member in a missing folder', edit((b) => b.writeUInt16LE(1, 52)), /folder 1/],
    ['member continued from another cabinet', edit((b) => b.writeUInt16LE(0xfffd, 52)), /across cabinets/],
    ['unterminated name', edit((b) => b.fill(0x41, 60, 66)), /truncated|terminated|overlaps/],
    ['stored sizes differ', edit((b) => b.writeUInt16LE(100, D + 4)), /differ|truncated|checksum/],
    ['block larger than 32 KiB', edit((b) => b.writeUInt16LE(40_000, D + 6)), /more than 32768/],
    ['checksum', edit((b) => (b[D + 8 + 5] ^= 1)), /checksum/],
  ];
  assert.equal(good.readUInt32LE(36), D, 'layout assumed by the cases');
  for (const [name, cab, re] of cases) {
    assert.throws(() => extractCabinetMember(cab, 'blob', LIMITS), (e) => isCabError()(e) && re.test(String(e)), name);
  }
  const quantum = edit((b) => b.writeUInt16LE(0x0f12, 42));
  assert.throws(() => extractCabinetMember(quantum, 'blob', LIMITS), isCabError('unsupported'));
});

test('size claims beyond the cap are refused before allocation (bombs)', () => {
  const zeros = new Uint8Array(3 << 20);
  const bomb = lzxCab(zeros); // 3 MiB of zeros in a few hundred bytes
  assert.ok(bomb.length < 40_000);
  const before = process.memoryUsage().arrayBuffers;
  assert.throws(() => extractCabinetMember(bomb, 'blob', { maxUncompressedBytes: 1 << 20 }), isCabError('limit'));
  assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20, 'no output buffer was allocated');
  assert.equal(extractCabinetMember(bomb, 'blob', { maxUncompressedBytes: 4 << 20 }).length, zeros.length);

  // A member claiming 4 GiB in a folder of one block.
  const liar = buildCabinet([{ name: 'blob', data: text(1000) }], 'mszip');
  liar.writeUInt32LE(0xffffffff, 36 + 8);
  assert.throws(() => extractCabinetMember(liar, 'blob', { maxUncompressedBytes: 2 ** 40 }), /outside its folder/);
  assert.throws(() => decodeUpdateBlob(bomb.toString('base64'), 1 << 20), isCabError('limit'));
  assert.throws(() => decodeUpdateBlob('A'.repeat(1 << 20), 1000), isCabError('limit'));
});

// ---------------------------------------------------------------- decodeUpdateBlob

test('decodeUpdateBlob: encodings, member choice and bad base64', () => {
  const xml = '<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update">\u00e9\u4e2d</upd:Update>';
  const utf16 = Buffer.from(xml, 'utf16le');
  const b64 = (files: { name: string; data: Uint8Array }[]) => buildCabinet(files, 'mszip').toString('base64');
  assert.equal(decodeUpdateBlob(lzxCab(utf16).toString('base64'), 1 << 20), xml);
  const bom = Buffer.concat([Buffer.from([0xff, 0xfe]), utf16]);
  assert.equal(decodeUpdateBlob(b64([{ name: 'blob', data: bom }]), 1 << 20), xml);
  assert.equal(decodeUpdateBlob(b64([{ name: 'other', data: utf16 }]), 1 << 20), xml);
  assert.equal(decodeUpdateBlob(b64([{ name: 'x', data: Buffer.from(xml) }]), 1 << 20), xml, 'UTF-8 tolerated');
  assert.equal(
    decodeUpdateBlob(b64([{ name: 'a', data: Buffer.from('x') }, { name: 'blob', data: utf16 }]), 1 << 20),
    xml,
  );
  const wrapped = b64([{ name: 'blob', data: utf16 }]).replace(/.{76}/g, '$&\r\n');
  assert.equal(decodeUpdateBlob(wrapped, 1 << 20), xml, 'line-wrapped base64');
  const two = b64([{ name: 'a', data: utf16 }, { name: 'b', data: utf16 }]);
  assert.throws(() => decodeUpdateBlob(two, 1 << 20), /one member/);
  assert.throws(() => decodeUpdateBlob(b64([{ name: 'blob', data: utf16.subarray(1) }]), 1 << 20), isCabError());
  const loneSurrogate = b64([{ name: 'blob', data: Buffer.from([0x00, 0xd8, 0x3c, 0x00]) }]);
  assert.throws(() => decodeUpdateBlob(loneSurrogate, 1 << 20), /UTF-16LE/);
  assert.throws(() => decodeUpdateBlob('TVNDRg!!', 1 << 20), /base64/);
  assert.throws(() => decodeUpdateBlob('TVNDRgAA', 1 << 20), isCabError('truncated'));
  assert.throws(() => decodeUpdateBlob(b64([{ name: 'blob', data: utf16 }]), utf16.length - 1), isCabError('limit'));
});
