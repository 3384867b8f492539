// Bit input and canonical Huffman decoding for LZX ([MS-CAB] "LZX Data
// Compression Format"). LZX packs bits into 16-bit little-endian words and
// consumes each word from its most significant bit, so the reader refills a word
// at a time; Huffman codes are canonical (deflate ordering), at most 16 bits.

import { CabinetFormatError } from './errors.js';

const EMPTY = new Uint8Array(0);

/**
 * Reads an LZX bitstream. Past the end of the data it supplies zero words, because
 * a Huffman peek near the end of a frame may look further than the code it then
 * consumes; callers check what was really consumed with {@link alignToWord}.
 */
export class LzxBitReader {
  private data: Uint8Array = EMPTY;
  /** Next byte to load; may run a few bytes past `data` (zero words). */
  private pos = 0;
  /** The low `count` bits are unread, the next bit being the highest of them. */
  private buf = 0;
  private count = 0;

  /** Starts at byte 0 of `data`, which begins on a word boundary of the stream. */
  reset(data: Uint8Array): void {
    this.data = data;
    this.pos = 0;
    this.buf = 0;
    this.count = 0;
  }

  private refill(): void {
    const d = this.data;
    const p = this.pos;
    // Two zero words cover any legitimate look-ahead; more means the stream ran out.
    if (p >= d.length + 4) throw new CabinetFormatError('LZX stream is truncated', 'truncated');
    const lo = p < d.length ? d[p] : 0;
    const hi = p + 1 < d.length ? d[p + 1] : 0;
    this.buf = (this.buf << 16) | (hi << 8) | lo;
    this.count += 16;
    this.pos = p + 2;
  }

  /** Reads `n` bits (0..16), most significant first. */
  read(n: number): number {
    if (n === 0) return 0;
    if (this.count < n) this.refill();
    this.count -= n;
    return (this.buf >>> this.count) & ((1 << n) - 1);
  }

  /** Decodes one symbol of `tree`. */
  decode(tree: HuffmanTable): number {
    if (this.count < 16) this.refill();
    const bits = (this.buf >>> (this.count - 16)) & 0xffff;
    const entry = tree.table[bits >>> (16 - tree.tableBits)];
    if (entry !== 0) {
      this.count -= entry & 31;
      return entry >>> 5;
    }
    // Codes longer than the table: walk the canonical code lengths.
    for (let len = tree.tableBits + 1; len <= 16; len++) {
      const index = (bits >>> (16 - len)) - tree.first[len];
      if (index >= 0 && index < tree.count[len]) {
        this.count -= len;
        return tree.sorted[tree.offset[len] + index];
      }
    }
    throw new CabinetFormatError(
      tree.empty ? 'LZX symbol needed from an empty Huffman tree' : 'invalid LZX Huffman code',
    );
  }

  /**
   * Moves to the next word boundary and switches to byte reads. An uncompressed
   * block always skips 1..16 bits here (a whole word when already aligned), the end
   * of a frame 0..15 (`forBlock` false). Returns the byte position reached.
   */
  alignToWord(forBlock: boolean): number {
    let partial = this.count & 15;
    if (forBlock && partial === 0) {
      if (this.count >= 16) partial = 16;
      else this.pos += 2;
    }
    this.count -= partial;
    // Whole words still buffered were loaded but not consumed: give them back.
    this.pos -= (this.count >>> 4) * 2;
    this.count = 0;
    this.buf = 0;
    return this.pos;
  }

  /** Byte position; only meaningful right after {@link alignToWord} or byte reads. */
  get bytePosition(): number {
    return this.pos;
  }

  get length(): number {
    return this.data.length;
  }

  /** Copies `n` raw bytes (uncompressed block data; byte mode only). */
  copyBytes(dest: Uint8Array, at: number, n: number): void {
    if (this.count !== 0) throw new Error('LzxBitReader: byte read while bits are buffered');
    if (this.pos + n > this.data.length) {
      throw new CabinetFormatError('LZX uncompressed block is truncated', 'truncated');
    }
    dest.set(this.data.subarray(this.pos, this.pos + n), at);
    this.pos += n;
  }

  /** Reads a 32-bit little-endian value in byte mode. */
  readUint32(): number {
    const tmp = new Uint8Array(4);
    this.copyBytes(tmp, 0, 4);
    return (tmp[0] | (tmp[1] << 8) | (tmp[2] << 16) | (tmp[3] << 24)) >>> 0;
  }

  skipBytes(n: number): void {
    if (this.count !== 0) throw new Error('LzxBitReader: byte skip while bits are buffered');
    if (this.pos + n > this.data.length) {
      throw new CabinetFormatError('LZX stream is truncated', 'truncated');
    }
    this.pos += n;
  }
}

/**
 * A canonical Huffman decoding table: a direct lookup on the first `tableBits`
 * bits, plus per-length canonical ranges for longer codes. Incomplete codes are
 * accepted (an unused code then fails at decode time); over-subscribed ones are not.
 */
export class HuffmanTable {
  /** `(symbol << 5) | length`, or 0 when the code is longer or unassigned. */
  readonly table: Uint16Array;
  readonly count = new Uint16Array(17);
  readonly first = new Int32Array(17);
  readonly offset = new Uint16Array(18);
  readonly sorted: Uint16Array;
  empty = true;

  constructor(
    readonly numSymbols: number,
    readonly tableBits: number,
  ) {
    this.table = new Uint16Array(1 << tableBits);
    this.sorted = new Uint16Array(numSymbols);
  }

  /** Rebuilds the table from per-symbol code lengths (0 = unused, max 16). */
  build(lengths: Uint8Array): void {
    const { count, first, offset, sorted, table, tableBits } = this;
    const n = this.numSymbols;
    count.fill(0);
    for (let s = 0; s < n; s++) {
      const len = lengths[s];
      if (len > 16) throw new CabinetFormatError(`Huffman code length ${len} exceeds 16`);
      count[len]++;
    }
    count[0] = 0;
    let left = 1;
    for (let len = 1; len <= 16; len++) {
      left = left * 2 - count[len];
      if (left < 0) throw new CabinetFormatError('over-subscribed LZX Huffman code');
    }
    this.empty = left === 1 << 16;

    offset[1] = 0;
    for (let len = 1; len <= 16; len++) offset[len + 1] = offset[len] + count[len];
    const next = offset.slice();
    for (let s = 0; s < n; s++) if (lengths[s] !== 0) sorted[next[lengths[s]]++] = s;

    let code = 0;
    for (let len = 1; len <= 16; len++) {
      first[len] = code;
      code = (code + count[len]) << 1;
    }

    table.fill(0);
    for (let len = 1; len <= tableBits; len++) {
      const span = 1 << (tableBits - len);
      for (let i = 0; i < count[len]; i++) {
        const start = (first[len] + i) * span;
        table.fill((sorted[offset[len] + i] << 5) | len, start, start + span);
      }
    }
  }
}
