// A simple LZX encoder for cabinet folders: greedy matching, block kinds chosen by
// the caller, and canonical codes whose lengths follow frequency rank rather than
// true Huffman optimality. It exists so the decoder can be tested on every block
// kind, E8 translation and window wrap (real WSUS blobs exercise few of them), and
// its output is checked against cabextract in the tests. It is not tuned for ratio.

import type { CabinetWriterBlock } from './cabinet-writer.js';
import { LZX_FRAME_SIZE, LZX_MAX_WINDOW_BITS, LZX_MIN_WINDOW_BITS } from './lzx-decoder.js';

const FRAME = LZX_FRAME_SIZE;

/** A literal byte, or a match of `len` (2..257) bytes `off` bytes back. */
export type LzxToken = { lit: number } | { len: number; off: number };

export interface LzxEncodeOptions {
  /** 15..21 (default 21, what WSUS uses). */
  windowBits?: number;
  /** E8 translation size written to the stream header; 0 (default) disables it. */
  e8Size?: number;
  /** Block kinds and sizes, used in turn: 1 verbatim, 2 aligned offset, 3 uncompressed. */
  blocks?: readonly (readonly [1 | 2 | 3, number])[];
  /**
   * Gives the most frequent symbols codes of length 1, 2, 3, ... up to this many,
   * forcing codes up to 16 bits (which a table-driven decoder handles separately).
   */
  skew?: number;
  /** Encode these tokens instead of matching (one block; lets tests build invalid streams). */
  tokens?: readonly LzxToken[];
}

/** Packs bits most significant first into 16-bit little-endian words. */
class BitWriter {
  readonly bytes: number[] = [];
  private word = 0;
  private n = 0;
  write(value: number, bits: number): void {
    for (let i = bits - 1; i >= 0; i--) {
      this.word = (this.word << 1) | (Math.floor(value / 2 ** i) & 1);
      if (++this.n === 16) {
        this.bytes.push(this.word & 0xff, this.word >>> 8);
        this.word = this.n = 0;
      }
    }
  }
  align(): void {
    if (this.n > 0) this.write(0, 16 - this.n);
  }
  get atWord(): boolean {
    return this.n === 0;
  }
}

const EXTRA = Array.from({ length: 50 }, (_, s) => (s < 4 ? 0 : Math.min((s >> 1) - 1, 17)));
const BASE: number[] = [];
EXTRA.reduce((base, extra, s) => ((BASE[s] = base), base + 2 ** extra), 0);

/** Complete prefix-code lengths for `used` (most frequent first); at least two symbols. */
function codeLengths(n: number, used: readonly number[], skew: number, maxLen: number): Uint8Array {
  const syms = [...used];
  for (let f = 0; syms.length < 2; f++) if (!syms.includes(f)) syms.push(f);
  const lens = new Uint8Array(n);
  // A staircase of m codes of lengths 1..m, then a balanced code below it.
  let m = Math.min(skew, syms.length - 2);
  while (m > 0 && m + Math.ceil(Math.log2(syms.length - m)) > maxLen) m--;
  for (let i = 0; i < m; i++) lens[syms[i]] = i + 1;
  const rest = syms.length - m;
  const d = Math.floor(Math.log2(rest));
  const shorter = 2 ** (d + 1) - rest;
  for (let j = 0; j < rest; j++) lens[syms[m + j]] = m + (j < shorter ? d : d + 1);
  return lens;
}

function byFrequency(counts: Map<number, number>): number[] {
  return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([s]) => s);
}

function canonicalCodes(lens: Uint8Array): number[] {
  const count = new Array<number>(18).fill(0);
  for (const l of lens) if (l) count[l]++;
  const next = [0, 0];
  for (let len = 1, code = 0; len <= 16; len++) next[len + 1] = code = (code + count[len]) << 1;
  return Array.from(lens, (l) => (l ? next[l]++ : 0));
}

function bump(m: Map<number, number>, s: number): void {
  m.set(s, (m.get(s) ?? 0) + 1);
}

/** Writes lengths [first, last) as pretree-coded deltas against `prev`, using runs. */
function writeLengths(
  w: BitWriter,
  prev: Uint8Array,
  lens: Uint8Array,
  first: number,
  last: number,
  skew: number,
): void {
  const ops: number[][] = []; // [symbol, runBits?, runBitCount?, secondSymbol?]
  for (let x = first; x < last; ) {
    let run = 0;
    while (x + run < last && lens[x + run] === lens[x]) run++;
    const delta = (prev[x] + 17 - lens[x]) % 17;
    let step = 1;
    if (lens[x] === 0 && run >= 20) ops.push([18, (step = Math.min(run, 51)) - 20, 5]);
    else if (lens[x] === 0 && run >= 4) ops.push([17, (step = Math.min(run, 19)) - 4, 4]);
    else if (run >= 4) ops.push([19, (step = Math.min(run, 5)) - 4, 1, delta]);
    else ops.push([delta]);
    x += step;
  }
  const counts = new Map<number, number>();
  for (const op of ops) {
    bump(counts, op[0]);
    if (op.length > 3) bump(counts, op[3]);
  }
  const pre = codeLengths(20, byFrequency(counts), skew, 15);
  const codes = canonicalCodes(pre);
  pre.forEach((l) => w.write(l, 4));
  for (const op of ops) {
    w.write(codes[op[0]], pre[op[0]]);
    if (op.length > 1) w.write(op[1], op[2]);
    if (op.length > 3) w.write(codes[op[3]], pre[op[3]]);
  }
}

/** The encoder side of E8 translation: relative CALL targets become absolute. */
function e8Encode(data: Uint8Array, e8Size: number): Uint8Array {
  const out = Uint8Array.from(data);
  const dv = new DataView(out.buffer);
  for (let start = 0; start < out.length && start / FRAME < 32768; start += FRAME) {
    const end = Math.min(out.length, start + FRAME) - 10;
    for (let i = start; i < end; i++) {
      if (out[i] !== 0xe8) continue;
      const rel = dv.getInt32(i + 1, true);
      if (rel >= -i && rel < e8Size) dv.setInt32(i + 1, rel < e8Size - i ? rel + i : rel - e8Size, true);
      i += 4;
    }
  }
  return out;
}

/** Greedy matching that never crosses the block end or a frame boundary. */
function tokenize(
  src: Uint8Array,
  start: number,
  end: number,
  windowSize: number,
  recent: readonly number[],
  head: Int32Array,
): LzxToken[] {
  const tokens: LzxToken[] = [];
  const key = (p: number) =>
    Math.imul(src[p] | (src[p + 1] << 8) | (src[p + 2] << 16) | (src[p + 3] << 24), 0x9e3779b1) >>> 12;
  const matchLength = (p: number, off: number, max: number) => {
    let l = 0;
    while (l < max && src[p + l] === src[p - off + l]) l++;
    return l;
  };
  for (let p = start; p < end; ) {
    const max = Math.min(257, end - p, FRAME - (p % FRAME));
    let best = 0;
    let bestOff = 0;
    for (const r of recent) {
      if (r > p || r > windowSize - 3) continue;
      const l = matchLength(p, r, max);
      if (l > best) [best, bestOff] = [l, r];
    }
    if (p + 4 <= src.length) {
      const h = key(p);
      const candidate = head[h];
      head[h] = p;
      if (candidate >= 0 && p - candidate <= windowSize - 3 && best < 32) {
        const l = matchLength(p, p - candidate, max);
        if (l >= 3 && l > best + 1) [best, bestOff] = [l, p - candidate];
      }
    }
    if (best >= 2) {
      tokens.push({ len: best, off: bestOff });
      p += best;
    } else {
      tokens.push({ lit: src[p] });
      p++;
    }
  }
  return tokens;
}

/**
 * Compresses `data` as one LZX folder. Returns one CFDATA payload per 32 KiB
 * frame, each ending on a 16-bit boundary as [MS-CAB] requires.
 */
export function lzxCompress(data: Uint8Array, options: LzxEncodeOptions = {}): CabinetWriterBlock[] {
  const windowBits = options.windowBits ?? LZX_MAX_WINDOW_BITS;
  if (windowBits < LZX_MIN_WINDOW_BITS || windowBits > LZX_MAX_WINDOW_BITS) throw new RangeError('bad windowBits');
  const windowSize = 2 ** windowBits;
  const slots = windowBits === 21 ? 50 : windowBits === 20 ? 42 : windowBits * 2;
  const skew = options.skew ?? 0;
  const e8Size = options.e8Size ?? 0;
  const src = e8Size ? e8Encode(data, e8Size) : data;
  const w = new BitWriter();
  const frames: CabinetWriterBlock[] = [];
  let cutByte = 0;
  let cutPos = 0;
  const maybeCut = (pos: number) => {
    if (pos <= cutPos || (pos % FRAME !== 0 && pos < src.length)) return;
    w.align();
    frames.push({ payload: Uint8Array.from(w.bytes.slice(cutByte)), uncompressedSize: pos - cutPos });
    cutByte = w.bytes.length;
    cutPos = pos;
  };
  w.write(e8Size ? 1 : 0, 1);
  if (e8Size) {
    w.write(e8Size >>> 16, 16);
    w.write(e8Size & 0xffff, 16);
  }

  const mainPrev = new Uint8Array(256 + slots * 8);
  const lengthPrev = new Uint8Array(249);
  const recent = [1, 1, 1];
  const head = new Int32Array(1 << 20).fill(-1);
  const kinds = options.blocks ?? [[1, 1 << 24]];
  for (let pos = 0, b = 0; pos < src.length; b++) {
    const [type, size] = kinds[b % kinds.length];
    const end = Math.min(src.length, pos + size);
    w.write(type, 3);
    w.write(end - pos, 24);
    if (type === 3) {
      if (w.atWord) w.write(0, 16);
      w.align();
      for (const r of recent) w.bytes.push(r & 0xff, (r >>> 8) & 0xff, (r >>> 16) & 0xff, r >>> 24);
      const odd = (end - pos) % 2 === 1;
      for (; pos < end; pos++) {
        w.bytes.push(src[pos]);
        // Padding goes before a frame cut, so a decoder must carry it to the next block.
        if (odd && pos + 1 === end) w.bytes.push(0);
        maybeCut(pos + 1);
      }
      continue;
    }

    // Resolve each match against the repeated-offset queue, then count symbols.
    const tokens = options.tokens ?? tokenize(src, pos, end, windowSize, recent, head);
    const coded: { main: number; lengthSym: number; slot: number; extraValue: number; len: number }[] = [];
    const mainCounts = new Map<number, number>();
    const lengthCounts = new Map<number, number>();
    const alignedCounts = new Map<number, number>();
    for (const t of tokens) {
      if ('lit' in t) {
        coded.push({ main: t.lit, lengthSym: -1, slot: -1, extraValue: 0, len: 1 });
        bump(mainCounts, t.lit);
        continue;
      }
      let slot = recent.indexOf(t.off);
      let extraValue = 0;
      if (slot > 0) [recent[0], recent[slot]] = [recent[slot], recent[0]];
      if (slot < 0) {
        const formatted = t.off + 2;
        slot = 3;
        while (slot + 1 < slots && BASE[slot + 1] <= formatted) slot++;
        extraValue = formatted - BASE[slot];
        recent.unshift(t.off);
        recent.pop();
      }
      const header = Math.min(t.len - 2, 7);
      const main = 256 + slot * 8 + header;
      bump(mainCounts, main);
      if (header === 7) bump(lengthCounts, t.len - 9);
      if (type === 2 && EXTRA[slot] >= 3) bump(alignedCounts, extraValue & 7);
      coded.push({ main, lengthSym: header === 7 ? t.len - 9 : -1, slot, extraValue, len: t.len });
    }
    const alignedLens = codeLengths(8, byFrequency(alignedCounts), skew, 7);
    const mainLens = codeLengths(mainPrev.length, byFrequency(mainCounts), skew, 16);
    const lengthLens = codeLengths(249, byFrequency(lengthCounts), skew, 16);
    if (type === 2) alignedLens.forEach((l) => w.write(l, 3));
    writeLengths(w, mainPrev, mainLens, 0, 256, skew);
    writeLengths(w, mainPrev, mainLens, 256, mainPrev.length, skew);
    writeLengths(w, lengthPrev, lengthLens, 0, 249, skew);
    mainPrev.set(mainLens);
    lengthPrev.set(lengthLens);

    const [mainCodes, lengthCodes, alignedCodes] = [mainLens, lengthLens, alignedLens].map(canonicalCodes);
    for (const { main, lengthSym, slot, extraValue, len } of coded) {
      w.write(mainCodes[main], mainLens[main]);
      if (lengthSym >= 0) w.write(lengthCodes[lengthSym], lengthLens[lengthSym]);
      const extra = slot >= 3 ? EXTRA[slot] : 0;
      if (type === 2 && extra >= 3) {
        w.write(extraValue >>> 3, extra - 3);
        w.write(alignedCodes[extraValue & 7], alignedLens[extraValue & 7]);
      } else if (extra > 0) {
        w.write(extraValue, extra);
      }
      pos += len;
      maybeCut(pos);
    }
  }
  return frames;
}
