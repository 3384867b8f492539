// Writes single-cabinet files ([MS-CAB]) with stored or MSZIP folders. Used by
// the tests to build inputs for the reader, and usable by a server that wants
// to send XmlUpdateBlobCompressed (WSUS itself sends LZX, which this does not
// produce). assembleCabinet also wraps already compressed CFDATA payloads.

import { promisify } from 'node:util';
import { deflateRaw, deflateRawSync } from 'node:zlib';
import { cabinetChecksum } from './cabinet-reader.js';

export interface CabinetWriterBlock {
  readonly payload: Uint8Array;
  readonly uncompressedSize: number;
}

export interface CabinetWriterFolder {
  readonly typeCompress: number;
  readonly blocks: readonly CabinetWriterBlock[];
}

export interface CabinetWriterFile {
  readonly name: string;
  readonly size: number;
  readonly folderIndex: number;
  readonly folderOffset: number;
  readonly attributes?: number;
}

export interface CabinetLayout {
  readonly folders: readonly CabinetWriterFolder[];
  readonly files: readonly CabinetWriterFile[];
  /** Store CFDATA checksums (default true; 0 means "none" to readers). */
  readonly checksums?: boolean;
  /** Per-structure reserved areas (filled with zeros); sets the RESERVE_PRESENT flag. */
  readonly reserve?: { readonly header: number; readonly folder: number; readonly data: number };
}

export const TYPE_COMPRESS_NONE = 0x0000;
export const TYPE_COMPRESS_MSZIP = 0x0001;
/** LZX with a 2 MiB window, as WSUS writes update blobs. */
export const TYPE_COMPRESS_LZX21 = 0x1503;

/** Uncompressed bytes per CFDATA block (MSZIP's frame size). */
export const CAB_FRAME_BYTES = 32768;
const FRAME = CAB_FRAME_BYTES;
export const MAX_FOLDER_BYTES = 0xffff * FRAME;
const ATTR_NAME_IS_UTF = 0x80;

/** Lays out CFHEADER, CFFOLDERs, CFFILEs and CFDATA blocks in the usual order. */
export function assembleCabinet(layout: CabinetLayout): Buffer {
  const reserve = layout.reserve;
  const names = layout.files.map((f) => Buffer.from(f.name, 'utf8'));
  const headerSize = 36 + (reserve ? 4 + reserve.header : 0);
  const folderSize = 8 + (reserve?.folder ?? 0);
  const dataHeaderSize = 8 + (reserve?.data ?? 0);
  const filesStart = headerSize + layout.folders.length * folderSize;
  const dataStart = names.reduce((at, n) => at + 16 + n.length + 1, filesStart);
  const total = layout.folders.reduce(
    (at, folder) => folder.blocks.reduce((sum, b) => sum + dataHeaderSize + b.payload.length, at),
    dataStart,
  );

  const out = Buffer.alloc(total);
  out.write('MSCF', 0, 'latin1');
  out.writeUInt32LE(total, 8);
  out.writeUInt32LE(filesStart, 16);
  out.writeUInt8(3, 24);
  out.writeUInt8(1, 25);
  out.writeUInt16LE(layout.folders.length, 26);
  out.writeUInt16LE(layout.files.length, 28);
  out.writeUInt16LE(reserve ? 0x0004 : 0, 30);
  if (reserve) {
    out.writeUInt16LE(reserve.header, 36);
    out.writeUInt8(reserve.folder, 38);
    out.writeUInt8(reserve.data, 39);
  }

  let data = dataStart;
  layout.folders.forEach((folder, i) => {
    const at = headerSize + i * folderSize;
    out.writeUInt32LE(data, at);
    out.writeUInt16LE(folder.blocks.length, at + 4);
    out.writeUInt16LE(folder.typeCompress, at + 6);
    for (const block of folder.blocks) {
      out.writeUInt16LE(block.payload.length, data + 4);
      out.writeUInt16LE(block.uncompressedSize, data + 6);
      out.set(block.payload, data + dataHeaderSize);
      if (layout.checksums ?? true) {
        const sum = cabinetChecksum(out.subarray(data + 4, data + 8), cabinetChecksum(block.payload));
        out.writeUInt32LE(sum, data);
      }
      data += dataHeaderSize + block.payload.length;
    }
  });

  let at = filesStart;
  layout.files.forEach((file, i) => {
    out.writeUInt32LE(file.size, at);
    out.writeUInt32LE(file.folderOffset, at + 4);
    out.writeUInt16LE(file.folderIndex, at + 8);
    const ascii = /^[\x01-\x7f]*$/.test(file.name);
    out.writeUInt16LE((file.attributes ?? 0x20) | (ascii ? 0 : ATTR_NAME_IS_UTF), at + 14);
    out.set(names[i], at + 16);
    at += 16 + names[i].length + 1;
  });
  return out;
}

/**
 * One MSZIP CFDATA payload: "CK" and a complete deflate stream for `frame` (at
 * most 32 KiB) that may refer back into `history`, the previous frame's bytes.
 */
export function mszipBlock(frame: Uint8Array, history: Uint8Array): Buffer {
  const deflated = deflateRawSync(frame, history.length > 0 ? { dictionary: history } : {});
  const payload = Buffer.alloc(2 + deflated.length);
  payload.write('CK', 0, 'latin1');
  payload.set(deflated, 2);
  return payload;
}

const deflateRawAsync = promisify(deflateRaw);

/** mszipBlock on the libuv thread pool: the same bytes, so large payloads compress on several cores. */
export async function mszipBlockAsync(frame: Uint8Array, history: Uint8Array): Promise<Buffer> {
  const deflated = await deflateRawAsync(frame, history.length > 0 ? { dictionary: history } : {});
  return Buffer.concat([Buffer.from('CK', 'latin1'), deflated]);
}

/** Splits `data` into 32 KiB blocks, stored or MSZIP-compressed. */
export function compressFolder(data: Uint8Array, compression: 'none' | 'mszip'): CabinetWriterFolder {
  // CFFOLDER counts its CFDATA blocks in 16 bits.
  if (data.length > MAX_FOLDER_BYTES) {
    throw new RangeError(`${data.length} bytes exceed what one cabinet folder holds (${MAX_FOLDER_BYTES})`);
  }
  const blocks: CabinetWriterBlock[] = [];
  for (let at = 0; at < data.length; at += FRAME) {
    const chunk = data.subarray(at, Math.min(data.length, at + FRAME));
    if (compression === 'none') {
      blocks.push({ payload: chunk, uncompressedSize: chunk.length });
      continue;
    }
    blocks.push({ payload: mszipBlock(chunk, data.subarray(Math.max(0, at - FRAME), at)), uncompressedSize: chunk.length });
  }
  return { typeCompress: compression === 'none' ? TYPE_COMPRESS_NONE : TYPE_COMPRESS_MSZIP, blocks };
}

/** A one-folder cabinet holding `files` back to back. */
export function buildCabinet(
  files: readonly { name: string; data: Uint8Array }[],
  compression: 'none' | 'mszip',
  options: { readonly reserve?: CabinetLayout['reserve'] } = {},
): Buffer {
  const joined = Buffer.concat(files.map((f) => f.data));
  let offset = 0;
  const entries = files.map((f) => {
    const entry = { name: f.name, size: f.data.length, folderIndex: 0, folderOffset: offset };
    offset += f.data.length;
    return entry;
  });
  return assembleCabinet({ folders: [compressFolder(joined, compression)], files: entries, reserve: options.reserve });
}
