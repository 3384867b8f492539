// [MS-XCA] 2.4 "Plain LZ77" decompression (the format MS-WUSP calls LZ77 + DIRECT2).
//
// Input is untrusted network data, so every read is bounds-checked and the output is
// capped at the size the caller learned from the frame header: a crafted stream can
// neither read outside `input` nor make us produce (or allocate) more than that.

/** Raised for any malformed, truncated or oversized Xpress stream or frame. */
export class XpressFormatError extends Error {
  override readonly name = 'XpressFormatError';
}

/**
 * Decodes a complete Plain LZ77 stream that must expand to exactly `expectedSize` bytes.
 * Decoding stops as soon as `expectedSize` bytes exist (as Windows does with a full
 * output buffer), so a trailing end-of-stream flag word is optional.
 */
export function decodePlainLz77(input: Uint8Array, expectedSize: number): Uint8Array {
  if (!Number.isSafeInteger(expectedSize) || expectedSize < 0) {
    throw new RangeError(`expectedSize must be a non-negative integer, got ${expectedSize}`);
  }
  const out = new Uint8Array(expectedSize);
  decodePlainLz77Into(input, 0, input.length, out, 0, expectedSize);
  return out;
}

/**
 * Decodes `src[srcStart, srcEnd)` into exactly `out[outStart, outEnd)`. Matches may not
 * reach before `outStart`, which keeps framed blocks independent of each other even
 * though they share one output buffer (saves a copy per block in the framing layer).
 * @internal
 */
export function decodePlainLz77Into(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  out: Uint8Array,
  outStart: number,
  outEnd: number,
): void {
  let ip = srcStart;
  let op = outStart;
  let flags = 0;
  let flagCount = 0;
  // Position of the byte whose high nibble the next extended length will use; the
  // spec's sentinel is 0, but block data need not start at 0 here, hence -1.
  let halfByte = -1;

  while (op < outEnd) {
    if (flagCount === 0) {
      if (ip + 4 > srcEnd) throw truncated(op - outStart, outEnd - outStart);
      flags = src[ip] | (src[ip + 1] << 8) | (src[ip + 2] << 16) | (src[ip + 3] << 24);
      ip += 4;
      flagCount = 32;
    }
    flagCount--;

    if (((flags >>> flagCount) & 1) === 0) {
      if (ip >= srcEnd) throw truncated(op - outStart, outEnd - outStart);
      out[op++] = src[ip++];
      continue;
    }

    // A set flag with no input left is the encoder's end marker; reaching it before the
    // declared size means the frame header lied or the stream was cut.
    if (ip + 2 > srcEnd) throw truncated(op - outStart, outEnd - outStart);
    const token = src[ip] | (src[ip + 1] << 8);
    ip += 2;
    const offset = (token >>> 3) + 1;
    let length = token & 7;

    if (length === 7) {
      if (halfByte < 0) {
        if (ip >= srcEnd) throw truncated(op - outStart, outEnd - outStart);
        length = src[ip] & 15;
        halfByte = ip++;
      } else {
        length = src[halfByte] >>> 4;
        halfByte = -1;
      }
      if (length === 15) {
        if (ip >= srcEnd) throw truncated(op - outStart, outEnd - outStart);
        length = src[ip++];
        if (length === 255) {
          if (ip + 2 > srcEnd) throw truncated(op - outStart, outEnd - outStart);
          length = src[ip] | (src[ip + 1] << 8);
          ip += 2;
          if (length === 0) {
            if (ip + 4 > srcEnd) throw truncated(op - outStart, outEnd - outStart);
            // >>> 0 keeps lengths >= 2^31 positive so the size check below rejects them.
            length = (src[ip] | (src[ip + 1] << 8) | (src[ip + 2] << 16) | (src[ip + 3] << 24)) >>> 0;
            ip += 4;
          }
          if (length < 15 + 7) throw new XpressFormatError(`invalid extended match length ${length}`);
          length -= 15 + 7;
        }
        length += 15;
      }
      length += 7;
    }
    length += 3;

    if (offset > op - outStart) {
      throw new XpressFormatError(`match offset ${offset} points before the start of output (at ${op - outStart})`);
    }
    if (length > outEnd - op) {
      throw new XpressFormatError(`match of ${length} bytes overflows the declared size ${outEnd - outStart}`);
    }

    let from = op - offset;
    if (offset >= length && length >= 32) {
      // Non-overlapping, so a bulk copy is equivalent to the spec's byte loop.
      out.copyWithin(op, from, from + length);
      op += length;
    } else {
      // Overlapping matches replicate bytes written by this very copy (e.g. offset 1
      // runs), which only a forward byte-by-byte copy reproduces.
      const end = op + length;
      while (op < end) out[op++] = out[from++];
    }
  }
}

function truncated(produced: number, expected: number): XpressFormatError {
  return new XpressFormatError(`compressed data ended after ${produced} of ${expected} bytes`);
}
