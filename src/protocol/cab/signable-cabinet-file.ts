// File-based signable cabinets for `wsus publish`: payloads of any size up to
// one CAB folder (MAX_FOLDER_BYTES) with memory bounded by a couple of 32 KiB
// frames. The CFDATA blocks go to a temporary file first, because CFHEADER and
// CFFILE come before them and need sizes known only at the end; then the
// header, the CFFILEs and the blocks are written to the output. The layout is
// buildSignableCabinet's (authenticode-cab.ts): one MSZIP folder, the 20-byte
// Authenticode reserve, and the placeholder slot described in signature-slot.ts.
// signCabinetFile signs such a file in place, streaming the digest.

import { randomBytes, createHash } from 'node:crypto';
import { open, rm, stat, type FileHandle } from 'node:fs/promises';
import type { AuthenticodeSigner } from '../authenticode/signed-data.js';
import { cabinetSignedData, padSignatureBlob, requireSignable } from './authenticode-cab.js';
import { cabinetChecksum } from './cabinet-reader.js';
import { CAB_FRAME_BYTES, MAX_FOLDER_BYTES, TYPE_COMPRESS_MSZIP, mszipBlockAsync } from './cabinet-writer.js';
import { CabinetFormatError } from './errors.js';
import {
  AUTHENTICODE_CAB_RESERVE,
  SIGNABLE_HEADER_SIZE,
  SLOT_MARKER,
  SLOT_MARKER_AT,
  SLOT_OFFSET_AT,
  SLOT_PLACEHOLDER_BYTES,
  SLOT_SIZE_AT,
} from './signature-slot.js';

/** Room kept under the 32-bit offsets for the signature appended later. */
const SIGNATURE_HEADROOM = 1024 * 1024;
/** Largest cabinet file (before signing): every CAB offset and osslsigncode's file size are 32-bit. */
export const MAX_CABINET_FILE_BYTES = 0xffffffff - SIGNATURE_HEADROOM;

const CFFOLDER_SIZE = 8;
const CFDATA_HEADER = 8;
const CFFILE_FIXED = 16;
const ATTR_ARCHIVE = 0x20;
const ATTR_NAME_IS_UTF = 0x80;
const MAX_NAME_BYTES = 255;
const IO_CHUNK = 1024 * 1024;

export interface SignableCabinetLimits {
  /** Uncompressed bytes one folder may hold (default MAX_FOLDER_BYTES; tests lower it). */
  readonly maxFolderBytes?: number;
  /** Largest cabinet written (default MAX_CABINET_FILE_BYTES). */
  readonly maxCabinetBytes?: number;
}

async function writeAll(fh: FileHandle, bytes: Uint8Array, position?: number): Promise<void> {
  for (let off = 0; off < bytes.length; ) {
    const at = position === undefined ? null : position + off;
    off += (await fh.write(bytes, off, bytes.length - off, at)).bytesWritten;
  }
}

function checkedName(name: string): Buffer {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length === 0 || bytes.length > MAX_NAME_BYTES || name.includes('\0')) {
    throw new CabinetFormatError(`cabinet member name ${JSON.stringify(name)} must be 1..${MAX_NAME_BYTES} bytes without NUL`, 'unsupported');
  }
  return bytes;
}

/**
 * Frames compressed at once. An MSZIP block depends only on raw bytes (its frame and the one
 * before, as history), never on the previous block's output, so frames compress in parallel on
 * the thread pool and are written strictly in order.
 */
const FRAMES_IN_FLIGHT = 8;

/** Streams one folder's MSZIP CFDATA blocks into `out`; returns the block count and bytes written. */
class FolderSink {
  private frame = Buffer.alloc(CAB_FRAME_BYTES);
  /** raw bytes of the frame before: the next block's MSZIP history */
  private previous = Buffer.alloc(0);
  private pending: Array<Promise<{ payload: Buffer; rawLength: number }>> = [];
  fill = 0;
  blocks = 0;
  bytes = 0;

  constructor(private readonly out: FileHandle) {}

  /** Reads all of `fh` through the frame buffer; returns the bytes read. */
  async pour(fh: FileHandle): Promise<number> {
    let total = 0;
    for (;;) {
      const { bytesRead } = await fh.read(this.frame, this.fill, CAB_FRAME_BYTES - this.fill, null);
      if (bytesRead === 0) return total;
      total += bytesRead;
      this.fill += bytesRead;
      if (this.fill === CAB_FRAME_BYTES) await this.submit();
    }
  }

  /** Compresses the partial last frame and writes every block still in flight. */
  async flush(): Promise<void> {
    await this.submit();
    while (this.pending.length > 0) await this.writeOldest();
  }

  private async submit(): Promise<void> {
    if (this.fill === 0) return;
    // Copied: the frame buffer is refilled while this one compresses.
    const data = Buffer.from(this.frame.subarray(0, this.fill));
    const block = mszipBlockAsync(data, this.previous).then((payload) => ({ payload, rawLength: data.length }));
    // Awaited in order by writeOldest; this only keeps a failure behind an earlier one from going unhandled.
    block.catch(() => undefined);
    this.pending.push(block);
    this.previous = data;
    this.fill = 0;
    if (this.pending.length >= FRAMES_IN_FLIGHT) await this.writeOldest();
  }

  private async writeOldest(): Promise<void> {
    const { payload, rawLength } = await this.pending.shift()!;
    if (payload.length > 0xffff) throw new CabinetFormatError('an MSZIP block outgrew its 16-bit size', 'corrupt');
    const header = Buffer.alloc(CFDATA_HEADER);
    header.writeUInt16LE(payload.length, 4);
    header.writeUInt16LE(rawLength, 6);
    header.writeUInt32LE(cabinetChecksum(header.subarray(4, 8), cabinetChecksum(payload)), 0);
    await writeAll(this.out, Buffer.concat([header, payload]));
    this.blocks++;
    this.bytes += CFDATA_HEADER + payload.length;
  }
}

/**
 * Writes `files` (member name, source path) as one signable MSZIP cabinet at
 * `outPath`, reading each payload once in 32 KiB frames. Throws
 * CabinetFormatError (code 'limit') naming the payload when the files exceed
 * one folder or the cabinet would pass 4 GiB; on any error nothing is left at
 * `outPath` (or in the temporary CFDATA file beside it).
 */
export async function writeSignableCabinetFile(
  files: readonly { name: string; path: string }[],
  outPath: string,
  limits: SignableCabinetLimits = {},
): Promise<{ size: number }> {
  const maxFolder = limits.maxFolderBytes ?? MAX_FOLDER_BYTES;
  const maxCabinet = limits.maxCabinetBytes ?? MAX_CABINET_FILE_BYTES;
  if (files.length === 0 || files.length > 0xffff) throw new CabinetFormatError('a cabinet holds 1..65535 files', 'unsupported');
  const names = files.map((f) => checkedName(f.name));
  const sizes: number[] = [];
  let total = 0;
  for (const file of files) {
    const st = await stat(file.path);
    if (!st.isFile()) throw new CabinetFormatError(`payload ${JSON.stringify(file.name)} is not a regular file`, 'unsupported');
    total += st.size;
    if (total > maxFolder) {
      throw new CabinetFormatError(
        `payload ${JSON.stringify(file.name)} (${st.size} bytes${files.length > 1 ? `, ${total} bytes with the files before it` : ''}) exceeds what one cabinet folder holds (${maxFolder} bytes)`,
        'limit',
      );
    }
    sizes.push(st.size);
  }

  const dataPath = `${outPath}.cfdata-${randomBytes(6).toString('hex')}.tmp`;
  let wroteOutput = false;
  try {
    const data = await open(dataPath, 'wx', 0o600);
    const sink = new FolderSink(data);
    try {
      for (const [i, file] of files.entries()) {
        const fh = await open(file.path, 'r');
        try {
          const read = await sink.pour(fh);
          if (read !== sizes[i]) {
            throw new CabinetFormatError(`payload ${JSON.stringify(file.name)} changed size while it was being written (${sizes[i]} → ${read} bytes)`, 'corrupt');
          }
        } finally {
          await fh.close();
        }
      }
      await sink.flush();
    } finally {
      await data.close();
    }
    if (sink.blocks > 0xffff) throw new CabinetFormatError(`the payloads need ${sink.blocks} CFDATA blocks; one folder holds 65535`, 'limit');

    const filesStart = SIGNABLE_HEADER_SIZE + CFFOLDER_SIZE;
    const dataStart = names.reduce((at, n) => at + CFFILE_FIXED + n.length + 1, filesStart);
    const cbCabinet = dataStart + sink.bytes;
    if (cbCabinet + SLOT_PLACEHOLDER_BYTES > maxCabinet) {
      throw new CabinetFormatError(
        `payload ${JSON.stringify(files[files.length - 1].name)} makes a ${cbCabinet}-byte cabinet, over the ${maxCabinet}-byte limit of 32-bit cabinet offsets`,
        'limit',
      );
    }
    const head = cabinetHeader({ cbCabinet, filesStart, dataStart, blocks: sink.blocks, names, sizes, fileCount: files.length });

    wroteOutput = true;
    const out = await open(outPath, 'w', 0o644);
    try {
      await writeAll(out, head);
      const source = await open(dataPath, 'r');
      try {
        const buffer = Buffer.alloc(IO_CHUNK);
        for (;;) {
          const { bytesRead } = await source.read(buffer, 0, buffer.length, null);
          if (bytesRead === 0) break;
          await writeAll(out, buffer.subarray(0, bytesRead));
        }
      } finally {
        await source.close();
      }
      await writeAll(out, Buffer.alloc(SLOT_PLACEHOLDER_BYTES));
      await out.sync();
    } finally {
      await out.close();
    }
    return { size: cbCabinet + SLOT_PLACEHOLDER_BYTES };
  } catch (error) {
    if (wroteOutput) await rm(outPath, { force: true }).catch(() => undefined);
    throw error;
  } finally {
    await rm(dataPath, { force: true }).catch(() => undefined);
  }
}

/** CFHEADER with the signature reserve and placeholder slot, the CFFOLDER and the CFFILEs. */
function cabinetHeader(p: {
  cbCabinet: number;
  filesStart: number;
  dataStart: number;
  blocks: number;
  names: readonly Buffer[];
  sizes: readonly number[];
  fileCount: number;
}): Buffer {
  const out = Buffer.alloc(p.dataStart);
  out.write('MSCF', 0, 'latin1');
  out.writeUInt32LE(p.cbCabinet, 8);
  out.writeUInt32LE(p.filesStart, 16);
  out.writeUInt8(3, 24);
  out.writeUInt8(1, 25);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(p.fileCount, 28);
  out.writeUInt16LE(0x0004, 30); // RESERVE_PRESENT
  out.writeUInt16LE(AUTHENTICODE_CAB_RESERVE.header, 36);
  out.writeUInt32LE(SLOT_MARKER, SLOT_MARKER_AT);
  out.writeUInt32LE(p.cbCabinet, SLOT_OFFSET_AT);
  out.writeUInt32LE(SLOT_PLACEHOLDER_BYTES, SLOT_SIZE_AT);
  out.writeUInt32LE(p.dataStart, SIGNABLE_HEADER_SIZE);
  out.writeUInt16LE(p.blocks, SIGNABLE_HEADER_SIZE + 4);
  out.writeUInt16LE(TYPE_COMPRESS_MSZIP, SIGNABLE_HEADER_SIZE + 6);
  let at = p.filesStart;
  let offset = 0;
  p.names.forEach((name, i) => {
    out.writeUInt32LE(p.sizes[i], at);
    out.writeUInt32LE(offset, at + 4);
    const ascii = name.every((b) => b < 0x80);
    out.writeUInt16LE(ATTR_ARCHIVE | (ascii ? 0 : ATTR_NAME_IS_UTF), at + 14);
    name.copy(out, at + CFFILE_FIXED);
    at += CFFILE_FIXED + name.length + 1;
    offset += p.sizes[i];
  });
  return out;
}

/** The Authenticode digest of a signable cabinet file, streamed (see cabinetAuthenticodeDigest). */
async function fileAuthenticodeDigest(fh: FileHandle, head: Buffer, cbCabinet: number, algorithm = 'sha256'): Promise<Buffer> {
  const hash = createHash(algorithm).update(head.subarray(0, 4)).update(head.subarray(8, 34));
  const buffer = Buffer.alloc(IO_CHUNK);
  for (let at = 56; at < cbCabinet; ) {
    const { bytesRead } = await fh.read(buffer, 0, Math.min(buffer.length, cbCabinet - at), at);
    if (bytesRead === 0) throw new CabinetFormatError('cabinet is truncated', 'truncated');
    hash.update(buffer.subarray(0, bytesRead));
    at += bytesRead;
  }
  return hash.digest();
}

export interface SignCabinetFileOptions {
  /**
   * Adds an RFC 3161 timestamp to the SignedData (services/signing/timestamp-client.ts asks the
   * TSA); injected so this protocol code never opens a connection itself.
   */
  readonly timestamp?: (signedData: Buffer, signal?: AbortSignal) => Promise<Buffer>;
  readonly signingTime?: Date;
  readonly signal?: AbortSignal;
}

/**
 * Signs a cabinet written by writeSignableCabinetFile (or buildSignableCabinet)
 * in place: any existing signature or placeholder after cbCabinet is replaced,
 * the slot's offset and size are updated, and the file is fsynced.
 */
export async function signCabinetFile(path: string, signer: AuthenticodeSigner, opts: SignCabinetFileOptions = {}): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(SIGNABLE_HEADER_SIZE);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    requireSignable(head.subarray(0, bytesRead), size);
    const cbCabinet = head.readUInt32LE(8);
    const digest = await fileAuthenticodeDigest(fh, head, cbCabinet);
    opts.signal?.throwIfAborted();

    let signature = cabinetSignedData(digest, signer, opts.signingTime);
    if (opts.timestamp) signature = await opts.timestamp(signature, opts.signal);
    opts.signal?.throwIfAborted();
    const padded = padSignatureBlob(signature);
    if (cbCabinet + padded.length > 0xffffffff) {
      throw new CabinetFormatError(`the signed cabinet would exceed 4 GiB (${cbCabinet + padded.length} bytes)`, 'limit');
    }
    await writeAll(fh, padded, cbCabinet);
    await fh.truncate(cbCabinet + padded.length);
    const slot = Buffer.alloc(8);
    slot.writeUInt32LE(cbCabinet, 0);
    slot.writeUInt32LE(padded.length, 4);
    await writeAll(fh, slot, SLOT_OFFSET_AT);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
