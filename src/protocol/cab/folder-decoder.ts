// Turns one cabinet folder's CFDATA blocks back into its uncompressed bytes, one
// block (frame) at a time, keeping only the range a member needs.

import { constants, inflateRawSync } from 'node:zlib';
import type { CabinetFolder } from './cabinet-reader.js';
import { CabinetFormatError } from './errors.js';
import { LzxDecoder } from './lzx-decoder.js';

/** Deflate's window: how much history an MSZIP block may refer back into. */
const MSZIP_HISTORY = 32768;

interface FrameSource {
  next(payload: Uint8Array, uncompressedSize: number): Uint8Array;
  /** Called after the folder's last block: refuses data that no frame used. */
  finish?(): void;
}

/**
 * Decodes `folder` from its start until `out` holds the folder's bytes
 * [start, start + out.length). Blocks after that range are never touched.
 */
export function decodeFolderRange(bytes: Uint8Array, folder: CabinetFolder, start: number, out: Uint8Array): void {
  const end = start + out.length;
  let needed = 0;
  let prefix = 0;
  while (prefix < end) prefix += folder.blocks[needed++].uncompressedSize;

  const source = frameSource(folder, prefix);
  let position = 0;
  for (let b = 0; b < needed; b++) {
    const block = folder.blocks[b];
    const payload = bytes.subarray(block.offset, block.offset + block.compressedSize);
    const frame = source.next(payload, block.uncompressedSize);
    if (frame.length !== block.uncompressedSize) {
      throw new CabinetFormatError(
        `CFDATA ${b} expanded to ${frame.length} bytes instead of ${block.uncompressedSize}`,
      );
    }
    const from = Math.max(start, position);
    const to = Math.min(end, position + frame.length);
    if (from < to) out.set(frame.subarray(from - position, to - position), from - start);
    position += frame.length;
  }
  if (needed === folder.blocks.length) source.finish?.();
}

function frameSource(folder: CabinetFolder, prefixSize: number): FrameSource {
  switch (folder.compression) {
    case 'none':
      return { next: (payload) => payload };
    case 'mszip':
      return { next: mszipFrames() };
    case 'lzx': {
      const lzx = new LzxDecoder(folder.windowBits, prefixSize);
      return {
        next: (payload, size) => lzx.decodeFrame(payload, size),
        finish: () => {
          // At most the padding byte after a final odd-sized uncompressed block.
          if (lzx.unconsumedBytes > 1) {
            throw new CabinetFormatError(`${lzx.unconsumedBytes} bytes follow the end of the LZX stream`);
          }
        },
      };
    }
    default:
      throw new CabinetFormatError(`${folder.compression} compression is not supported`, 'unsupported');
  }
}

/**
 * MSZIP: each block is "CK" and a raw deflate stream that may refer back into the
 * previous blocks' output, which zlib receives as a preset dictionary.
 */
function mszipFrames(): FrameSource['next'] {
  let history: Buffer | undefined;
  return (payload, size) => {
    if (payload.length < 2 || payload[0] !== 0x43 || payload[1] !== 0x4b) {
      throw new CabinetFormatError('MSZIP block lacks its CK signature');
    }
    let frame: Buffer;
    try {
      frame = inflateRawSync(payload.subarray(2), {
        ...(history ? { dictionary: history } : {}),
        // A block may end without a final deflate block once it has produced its
        // 32 KiB; sync flush returns what was decoded instead of failing.
        finishFlush: constants.Z_SYNC_FLUSH,
        maxOutputLength: size,
      });
    } catch (e) {
      throw new CabinetFormatError(`MSZIP block is corrupt: ${(e as Error).message}`);
    }
    history = history
      ? Buffer.concat([history, frame]).subarray(-MSZIP_HISTORY)
      : Buffer.from(frame.subarray(-MSZIP_HISTORY));
    return frame;
  };
}
