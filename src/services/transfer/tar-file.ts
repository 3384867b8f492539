import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  BLOCK, END_OF_ARCHIVE, TarFormatError, decodeHeader, encodeHeader, isZeroBlock, paddingFor,
} from '../../core/transfer/tar-format.js';

// Package files on disk and on the wire: a streaming writer (members are produced one after
// the other, each hashed as it is written) and a strict reader that indexes a package file
// without trusting anything in it.

export interface TarSource {
  name: string;
  /** exact byte count; the writer fails when the source yields more or less */
  size: number;
  mtime: Date;
  /** the bytes, produced when the member is written (so large files are opened one at a time) */
  open(): Buffer | AsyncIterable<Uint8Array>;
}

export interface WrittenMember {
  name: string;
  size: number;
  /** lower-case hex */
  sha256: string;
}

/**
 * A tar stream of `sources` (an iterable, so members can be computed lazily), then whatever
 * `last()` returns once every earlier member is written (the manifest, which lists their digests).
 */
export function tarStream(
  sources: AsyncIterable<TarSource> | Iterable<TarSource>,
  last: (written: readonly WrittenMember[]) => TarSource | Promise<TarSource>,
): Readable {
  async function* generate(): AsyncGenerator<Buffer> {
    const written: WrittenMember[] = [];
    async function* member(src: TarSource): AsyncGenerator<Buffer> {
      yield encodeHeader(src.name, src.size, src.mtime);
      const hash = createHash('sha256');
      let n = 0;
      const body = src.open();
      if (Buffer.isBuffer(body)) {
        hash.update(body);
        n = body.length;
        if (n === src.size) yield body;
      } else {
        for await (const chunk of body) {
          n += chunk.length;
          if (n > src.size) break;
          hash.update(chunk);
          yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        }
      }
      if (n !== src.size) throw new TarFormatError(`member ${src.name} changed while it was written (expected ${src.size} bytes, read ${n})`);
      const pad = paddingFor(src.size);
      if (pad) yield Buffer.alloc(pad);
      written.push({ name: src.name, size: src.size, sha256: hash.digest('hex') });
    }
    for await (const src of sources) yield* member(src);
    yield* member(await last(written));
    yield END_OF_ARCHIVE;
  }
  return Readable.from(generate(), { objectMode: false, highWaterMark: 1 });
}

export interface TarEntry {
  name: string;
  size: number;
  /** byte offset of the member's data in the file */
  offset: number;
}

export interface TarIndexLimits {
  maxMembers: number;
}

/**
 * Reads every header of a package file: regular files only, safe and unique names, sizes that
 * fit in the file, a proper end-of-archive and nothing but zeros after it. Throws TarFormatError.
 */
export async function indexTar(path: string, limits: TarIndexLimits = { maxMembers: 2_000_000 }): Promise<TarEntry[]> {
  const fh = await open(path, 'r');
  try {
    const { size: fileSize } = await fh.stat();
    if (fileSize === 0) throw new TarFormatError('the package file is empty');
    if (fileSize % BLOCK !== 0) throw new TarFormatError('the package file is not a whole number of tar blocks (truncated?)');
    const entries: TarEntry[] = [];
    const seen = new Set<string>();
    const block = Buffer.alloc(BLOCK);
    let pos = 0;
    for (;;) {
      if (pos + BLOCK > fileSize) throw new TarFormatError('the package ends without an end-of-archive marker (truncated?)');
      await readExactly(fh, block, pos);
      if (isZeroBlock(block)) {
        if (pos + 2 * BLOCK > fileSize) throw new TarFormatError('the package ends inside its end-of-archive marker');
        await readExactly(fh, block, pos + BLOCK);
        if (!isZeroBlock(block)) throw new TarFormatError('a zero block inside the archive (damaged package)');
        pos += 2 * BLOCK;
        break;
      }
      const h = decodeHeader(block);
      const key = h.name.toLowerCase();
      if (seen.has(key)) throw new TarFormatError(`member ${JSON.stringify(h.name)} appears more than once`);
      seen.add(key);
      const offset = pos + BLOCK;
      const end = offset + h.size + paddingFor(h.size);
      if (end > fileSize) throw new TarFormatError(`member ${JSON.stringify(h.name)} claims ${h.size} bytes, more than the package holds`);
      entries.push({ name: h.name, size: h.size, offset });
      if (entries.length > limits.maxMembers) throw new TarFormatError(`the package has more than ${limits.maxMembers} members`);
      pos = end;
    }
    // Record padding after the marker is zeros; anything else is data smuggled past the end.
    const tail = Buffer.alloc(64 * 1024);
    while (pos < fileSize) {
      const n = Math.min(tail.length, fileSize - pos);
      await readExactly(fh, tail.subarray(0, n), pos);
      if (!isZeroBlock(tail.subarray(0, n))) throw new TarFormatError('data after the end-of-archive marker');
      pos += n;
    }
    return entries;
  } finally {
    await fh.close();
  }
}

async function readExactly(fh: import('node:fs/promises').FileHandle, buf: Buffer, position: number): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesRead } = await fh.read(buf, off, buf.length - off, position + off);
    if (bytesRead === 0) throw new TarFormatError('unexpected end of the package file');
    off += bytesRead;
  }
}

/** The bytes of one member, streamed. */
export function memberStream(path: string, e: TarEntry): Readable {
  if (e.size === 0) return Readable.from([]);
  return createReadStream(path, { start: e.offset, end: e.offset + e.size - 1, highWaterMark: 1024 * 1024 });
}

/** The bytes of one (small) member. */
export async function readMember(path: string, e: TarEntry): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(e.size);
    if (e.size) await readExactly(fh, buf, e.offset);
    return buf;
  } finally {
    await fh.close();
  }
}

/** Reads many members through one open file (verification hashes every member of a package). */
export interface PackageReader {
  read(e: TarEntry): Promise<Buffer>;
  sha256(e: TarEntry, signal?: AbortSignal): Promise<string>;
  close(): Promise<void>;
}

export async function openPackage(path: string): Promise<PackageReader> {
  const fh = await open(path, 'r');
  const chunk = Buffer.alloc(1024 * 1024);
  return {
    async read(e) {
      const buf = Buffer.alloc(e.size);
      if (e.size) await readExactly(fh, buf, e.offset);
      return buf;
    },
    async sha256(e, signal) {
      const hash = createHash('sha256');
      for (let done = 0; done < e.size; ) {
        signal?.throwIfAborted();
        const n = Math.min(chunk.length, e.size - done);
        await readExactly(fh, chunk.subarray(0, n), e.offset + done);
        hash.update(chunk.subarray(0, n));
        done += n;
      }
      return hash.digest('hex');
    },
    close: () => fh.close(),
  };
}

/** Lower-case hex SHA-256 of one member. */
export async function hashMember(path: string, e: TarEntry, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of memberStream(path, e)) {
    signal?.throwIfAborted();
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}
