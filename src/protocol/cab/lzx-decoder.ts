// LZX decompression as used by cabinet folders ([MS-CAB] typeCompress 3,
// "LZX Data Compression Format"). Not LZX DELTA ([MS-PATCH]): no reset
// intervals, no chunk-size words, no reference data.
//
// Everything here comes from untrusted input (upstream WSUS servers), so every
// table index, match offset and copy is checked; corrupt streams raise
// CabinetFormatError, never a RangeError or silent garbage.

import { CabinetFormatError } from './errors.js';
import { HuffmanTable, LzxBitReader } from './lzx-bitstream.js';

/** Uncompressed bytes per LZX frame; every CFDATA block but the last holds one frame. */
export const LZX_FRAME_SIZE = 32768;
export const LZX_MIN_WINDOW_BITS = 15;
export const LZX_MAX_WINDOW_BITS = 21;

const BLOCK_VERBATIM = 1;
const BLOCK_ALIGNED = 2;
const BLOCK_UNCOMPRESSED = 3;
const NUM_CHARS = 256;
const PRETREE_SYMBOLS = 20;
const ALIGNED_SYMBOLS = 8;
const LENGTH_SYMBOLS = 249;
const MIN_MATCH = 2;
/** E8 translation stops after this many frames (1 GiB of output). */
const E8_MAX_FRAMES = 32768;

// Position slot tables for the largest window; smaller windows use a prefix.
const MAX_SLOTS = 50;
const EXTRA_BITS = new Uint8Array(MAX_SLOTS);
const POSITION_BASE = new Uint32Array(MAX_SLOTS);
for (let slot = 0, base = 0; slot < MAX_SLOTS; slot++) {
  EXTRA_BITS[slot] = slot < 4 ? 0 : Math.min((slot >>> 1) - 1, 17);
  POSITION_BASE[slot] = base;
  base += 1 << EXTRA_BITS[slot];
}

/** Number of position slots for a window of 2^windowBits bytes. */
function positionSlots(windowBits: number): number {
  // The slot count is the first slot whose base reaches the window size, which
  // the linear rule 2*bits stops matching above 1 MiB.
  if (windowBits === 21) return 50;
  if (windowBits === 20) return 42;
  return windowBits * 2;
}

/**
 * Decodes one folder's LZX stream, one frame (CFDATA block) at a time. State —
 * the window, repeated offsets, Huffman code lengths (delta-coded from block to
 * block), the current block and the E8 translation size — carries over between
 * frames; so does the bitstream, whose unread tail of one CFDATA block is
 * prepended to the next.
 */
export class LzxDecoder {
  private readonly windowSize: number;
  private readonly window: Uint8Array;
  private readonly frameOut = new Uint8Array(LZX_FRAME_SIZE);
  private readonly bits = new LzxBitReader();
  private readonly mainSymbols: number;
  private readonly mainLengths: Uint8Array;
  private readonly lengthLengths = new Uint8Array(LENGTH_SYMBOLS);
  private readonly alignedLengths = new Uint8Array(ALIGNED_SYMBOLS);
  private readonly preLengths = new Uint8Array(PRETREE_SYMBOLS);
  private readonly mainTree: HuffmanTable;
  private readonly lengthTree = new HuffmanTable(LENGTH_SYMBOLS, 10);
  private readonly alignedTree = new HuffmanTable(ALIGNED_SYMBOLS, 7);
  private readonly preTree = new HuffmanTable(PRETREE_SYMBOLS, 6);

  private pending: Uint8Array = new Uint8Array(0);
  private windowPos = 0;
  /** Bytes produced by earlier frames. */
  private produced = 0;
  private frames = 0;
  private ended = false;
  private failed = false;
  private headerRead = false;
  private e8Size = 0;
  private r0 = 1;
  private r1 = 1;
  private r2 = 1;
  private blockType = 0;
  private blockLength = 0;
  private blockRemaining = 0;

  /**
   * @param windowBits 15..21 (typeCompress bits 8..12 of the folder).
   * @param expectedSize total output, if known: the window is then allocated no
   *   larger than that (a 2 MiB window for a 10 KiB blob would be waste), and
   *   decoding past it is refused.
   */
  constructor(windowBits: number, expectedSize?: number) {
    if (!Number.isInteger(windowBits) || windowBits < LZX_MIN_WINDOW_BITS || windowBits > LZX_MAX_WINDOW_BITS) {
      throw new CabinetFormatError(`LZX window of 2^${windowBits} bytes is not supported`, 'unsupported');
    }
    this.windowSize = 2 ** windowBits;
    let alloc = this.windowSize;
    if (expectedSize !== undefined) {
      if (!Number.isSafeInteger(expectedSize) || expectedSize < 0) throw new RangeError('bad expectedSize');
      alloc = Math.min(alloc, expectedSize);
    }
    this.window = new Uint8Array(alloc);
    this.mainSymbols = NUM_CHARS + positionSlots(windowBits) * 8;
    this.mainLengths = new Uint8Array(this.mainSymbols);
    this.mainTree = new HuffmanTable(this.mainSymbols, 12);
  }

  /** Input bytes after the last decoded frame that no frame consumed. */
  get unconsumedBytes(): number {
    return this.pending.length;
  }

  /**
   * Decodes the next frame from `data` (one CFDATA payload). Frames are 32 KiB
   * except the last. Returns a view of the frame, valid until the next call.
   */
  decodeFrame(data: Uint8Array, frameSize: number): Uint8Array {
    if (!Number.isInteger(frameSize) || frameSize < 1 || frameSize > LZX_FRAME_SIZE) {
      throw new CabinetFormatError(`LZX frame size ${frameSize} out of range`);
    }
    if (this.failed) throw new CabinetFormatError('LZX decoder already failed on this folder');
    if (this.ended) throw new CabinetFormatError('LZX data continues after the final frame');
    if (this.windowPos + frameSize > this.window.length) {
      throw new CabinetFormatError('LZX output exceeds the declared size');
    }
    try {
      return this.decodeFrameUnchecked(data, frameSize);
    } catch (e) {
      // A half-decoded frame leaves the state unusable for the frames after it.
      this.failed = true;
      throw e;
    }
  }

  private decodeFrameUnchecked(data: Uint8Array, frameSize: number): Uint8Array {
    let input = data;
    if (this.pending.length > 0) {
      input = new Uint8Array(this.pending.length + data.length);
      input.set(this.pending);
      input.set(data, this.pending.length);
    }
    const bits = this.bits;
    bits.reset(input);

    if (!this.headerRead) {
      // One flag bit, then the E8 translation size as two 16-bit halves, high first.
      this.e8Size = bits.read(1) ? ((bits.read(16) << 16) | bits.read(16)) : 0;
      this.headerRead = true;
    }

    const frameStart = this.windowPos;
    const frameEnd = frameStart + frameSize;
    while (this.windowPos < frameEnd) {
      if (this.blockRemaining === 0) this.readBlockHeader();
      const run = Math.min(this.blockRemaining, frameEnd - this.windowPos);
      if (this.blockType === BLOCK_UNCOMPRESSED) {
        bits.copyBytes(this.window, this.windowPos, run);
        this.windowPos += run;
      } else {
        this.decodeRun(this.windowPos + run, frameStart);
      }
      this.blockRemaining -= run;
    }

    // Each frame ends on a 16-bit boundary of the stream.
    const used = bits.alignToWord(false);
    if (used > input.length) throw new CabinetFormatError('LZX stream is truncated', 'truncated');
    this.pending = input.slice(used);

    const out = this.frameOut.subarray(0, frameSize);
    out.set(this.window.subarray(frameStart, frameEnd));
    if (this.e8Size !== 0 && this.frames < E8_MAX_FRAMES && frameSize > 10) {
      undoE8Translation(out, this.produced, this.e8Size);
    }
    this.produced += frameSize;
    this.frames++;
    if (frameSize < LZX_FRAME_SIZE) this.ended = true;
    if (this.windowPos === this.window.length) {
      // Only a full-size window wraps; a smaller one was sized to the whole output.
      if (this.window.length === this.windowSize) this.windowPos = 0;
      else this.ended = true;
    }
    return out;
  }

  private readBlockHeader(): void {
    const bits = this.bits;
    // An odd-sized uncompressed block is followed by one padding byte.
    if (this.blockType === BLOCK_UNCOMPRESSED && (this.blockLength & 1) !== 0) bits.skipBytes(1);
    const type = bits.read(3);
    const length = (bits.read(16) << 8) | bits.read(8);
    if (length === 0) throw new CabinetFormatError('LZX block of length 0');
    if (type === BLOCK_UNCOMPRESSED) {
      bits.alignToWord(true);
      this.r0 = bits.readUint32();
      this.r1 = bits.readUint32();
      this.r2 = bits.readUint32();
    } else if (type === BLOCK_VERBATIM || type === BLOCK_ALIGNED) {
      // An aligned block's header is a verbatim one preceded by the aligned tree.
      if (type === BLOCK_ALIGNED) {
        for (let i = 0; i < ALIGNED_SYMBOLS; i++) this.alignedLengths[i] = bits.read(3);
        this.alignedTree.build(this.alignedLengths);
      }
      this.readLengths(this.mainLengths, 0, NUM_CHARS);
      this.readLengths(this.mainLengths, NUM_CHARS, this.mainSymbols);
      this.mainTree.build(this.mainLengths);
      this.readLengths(this.lengthLengths, 0, LENGTH_SYMBOLS);
      this.lengthTree.build(this.lengthLengths);
    } else {
      throw new CabinetFormatError(`invalid LZX block type ${type}`);
    }
    this.blockType = type;
    this.blockLength = length;
    this.blockRemaining = length;
  }

  /**
   * Reads code lengths [first, last) through a fresh pretree. Each pretree symbol
   * encodes a change against the previous block's length (mod 17), or a run.
   */
  private readLengths(lengths: Uint8Array, first: number, last: number): void {
    const bits = this.bits;
    for (let i = 0; i < PRETREE_SYMBOLS; i++) this.preLengths[i] = bits.read(4);
    this.preTree.build(this.preLengths);
    let x = first;
    while (x < last) {
      const sym = bits.decode(this.preTree);
      if (sym <= 16) {
        lengths[x] = (lengths[x] + 17 - sym) % 17;
        x++;
        continue;
      }
      let run: number;
      let value = 0;
      if (sym === 17) run = bits.read(4) + 4;
      else if (sym === 18) run = bits.read(5) + 20;
      else {
        run = bits.read(1) + 4;
        const delta = bits.decode(this.preTree);
        if (delta > 16) throw new CabinetFormatError('invalid LZX pretree run');
        value = (lengths[x] + 17 - delta) % 17;
      }
      if (x + run > last) throw new CabinetFormatError('LZX code length run overflows its tree');
      lengths.fill(value, x, x + run);
      x += run;
    }
  }

  /** Decodes matches and literals until the window reaches exactly `stop`. */
  private decodeRun(stop: number, frameStart: number): void {
    const bits = this.bits;
    const window = this.window;
    const windowLength = window.length;
    const aligned = this.blockType === BLOCK_ALIGNED;
    const mainTree = this.mainTree;
    // Absolute output position of window[pos] is pos + base.
    const base = this.produced - frameStart;
    let { r0, r1, r2 } = this;
    let pos = this.windowPos;
    while (pos < stop) {
      const sym = bits.decode(mainTree);
      if (sym < NUM_CHARS) {
        window[pos++] = sym;
        continue;
      }
      const header = sym - NUM_CHARS;
      let length = header & 7;
      if (length === 7) length += bits.decode(this.lengthTree);
      length += MIN_MATCH;

      const slot = header >>> 3;
      let offset: number;
      if (slot === 0) {
        offset = r0;
      } else if (slot === 1) {
        offset = r1;
        r1 = r0;
        r0 = offset;
      } else if (slot === 2) {
        offset = r2;
        r2 = r0;
        r0 = offset;
      } else {
        const extra = EXTRA_BITS[slot];
        offset = POSITION_BASE[slot] - 2;
        if (aligned && extra >= 3) {
          offset += bits.read(extra - 3) << 3;
          offset += bits.decode(this.alignedTree);
        } else if (extra > 16) {
          offset += (bits.read(extra - 16) << 16) | bits.read(16);
        } else {
          offset += bits.read(extra);
        }
        r2 = r1;
        r1 = r0;
        r0 = offset;
      }

      // Matches never cross a block or frame boundary, nor reach before the start
      // of the folder or beyond the window.
      if (pos + length > stop) throw new CabinetFormatError('LZX match overruns its block or frame');
      if (offset === 0 || offset > pos + base || offset > this.windowSize) {
        throw new CabinetFormatError(`LZX match offset ${offset} out of range`);
      }
      let src = pos - offset;
      if (src < 0) src += windowLength;
      // copyWithin only pays off for long, non-overlapping, non-wrapping copies.
      if (length >= 32 && src + length <= windowLength && src + length <= pos) {
        window.copyWithin(pos, src, src + length);
        pos += length;
      } else {
        // Short, overlapping (repeating) or window-wrapping copy: byte by byte.
        for (let k = 0; k < length; k++) {
          window[pos++] = window[src++];
          if (src === windowLength) src = 0;
        }
      }
    }
    this.windowPos = pos;
    this.r0 = r0;
    this.r1 = r1;
    this.r2 = r2;
  }
}

/**
 * Reverses the encoder's x86 CALL preprocessing on one output frame: each E8 byte
 * (not within the frame's last 10 bytes) is followed by an absolute 32-bit target
 * that becomes relative to the E8's position in the folder again.
 */
function undoE8Translation(frame: Uint8Array, frameOffset: number, e8Size: number): void {
  const end = frame.length - 10;
  let i = 0;
  for (;;) {
    i = frame.indexOf(0xe8, i);
    if (i < 0 || i >= end) return;
    const current = frameOffset + i;
    const absolute = frame[i + 1] | (frame[i + 2] << 8) | (frame[i + 3] << 16) | (frame[i + 4] << 24);
    if (absolute >= -current && absolute < e8Size) {
      const relative = absolute >= 0 ? absolute - current : absolute + e8Size;
      frame[i + 1] = relative & 0xff;
      frame[i + 2] = (relative >>> 8) & 0xff;
      frame[i + 3] = (relative >>> 16) & 0xff;
      frame[i + 4] = (relative >>> 24) & 0xff;
    }
    i += 5;
  }
}
