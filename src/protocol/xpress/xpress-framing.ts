// MS-WUSP 2.1.1 "Xpress Compression" framing of HTTP bodies: the body is cut into
// blocks of at most 65535 bytes, each compressed independently and prefixed with
// [u32 LE uncompressed size][u32 LE compressed size]. A block whose compressed size
// equals its uncompressed size holds the raw bytes.

import { XpressFormatError, decodePlainLz77Into } from './plain-lz77-decode.js';
import { ENCODE_SLACK, encodePlainLz77Into } from './plain-lz77-encode.js';

/** Block size used by Microsoft's WSUS server. */
export const XPRESS_DEFAULT_BLOCK_SIZE = 16352;
/** Largest block size, compressed or not, that the framing allows. */
export const XPRESS_MAX_BLOCK_SIZE = 65535;
const HEADER_SIZE = 8;

/** Frames and compresses `body`; incompressible blocks are stored raw. */
export function xpressCompress(body: Uint8Array, blockSize: number = XPRESS_DEFAULT_BLOCK_SIZE): Buffer {
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > XPRESS_MAX_BLOCK_SIZE) {
    throw new RangeError(`blockSize must be an integer in 1..${XPRESS_MAX_BLOCK_SIZE}, got ${blockSize}`);
  }
  const n = body.length;
  const blockCount = Math.ceil(n / blockSize);
  // Raw storage is the fallback, so no block occupies more than its own size; the
  // encoder additionally wants a few spare bytes past its limit.
  const scratch = Buffer.allocUnsafe(n + HEADER_SIZE * blockCount + ENCODE_SLACK);
  let op = 0;
  for (let start = 0; start < n; start += blockSize) {
    const end = Math.min(start + blockSize, n);
    const rawSize = end - start;
    const dataStart = op + HEADER_SIZE;
    // Stopping one byte short of rawSize keeps "compressed == uncompressed" free to
    // mean "stored raw".
    let packedSize = encodePlainLz77Into(body, start, end, scratch, dataStart, dataStart + rawSize - 1);
    if (packedSize < 0) {
      scratch.set(body.subarray(start, end), dataStart);
      packedSize = rawSize;
    }
    scratch.writeUInt32LE(rawSize, op);
    scratch.writeUInt32LE(packedSize, op + 4);
    op = dataStart + packedSize;
  }
  // Copy out so the response does not pin the worst-case-sized scratch buffer.
  const result = Buffer.allocUnsafe(op);
  scratch.copy(result, 0, 0, op);
  return result;
}

/**
 * Reverses {@link xpressCompress}. The whole frame sequence is validated and the
 * declared total checked against `maxOutput` before any output is allocated, so a
 * small body announcing gigabytes costs nothing.
 */
export function xpressDecompress(body: Uint8Array, maxOutput: number): Buffer {
  if (!Number.isSafeInteger(maxOutput) || maxOutput < 0) {
    throw new RangeError(`maxOutput must be a non-negative integer, got ${maxOutput}`);
  }
  const n = body.length;
  let total = 0;
  for (let p = 0; p < n; ) {
    if (p + HEADER_SIZE > n) throw new XpressFormatError(`truncated block header at offset ${p}`);
    const rawSize = readU32(body, p);
    const packedSize = readU32(body, p + 4);
    if (rawSize > XPRESS_MAX_BLOCK_SIZE || packedSize > XPRESS_MAX_BLOCK_SIZE) {
      throw new XpressFormatError(`block at offset ${p} declares ${rawSize}/${packedSize} bytes (max ${XPRESS_MAX_BLOCK_SIZE})`);
    }
    p += HEADER_SIZE;
    if (packedSize > n - p) throw new XpressFormatError(`truncated block data at offset ${p}`);
    total += rawSize;
    if (total > maxOutput) throw new XpressFormatError(`decompressed size exceeds the limit of ${maxOutput} bytes`);
    p += packedSize;
  }

  const out = Buffer.allocUnsafe(total);
  let op = 0;
  for (let p = 0; p < n; ) {
    const rawSize = readU32(body, p);
    const packedSize = readU32(body, p + 4);
    p += HEADER_SIZE;
    if (packedSize === rawSize) {
      out.set(body.subarray(p, p + rawSize), op);
    } else {
      decodePlainLz77Into(body, p, p + packedSize, out, op, op + rawSize);
    }
    p += packedSize;
    op += rawSize;
  }
  return out;
}

function readU32(buf: Uint8Array, pos: number): number {
  return (buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24)) >>> 0;
}
