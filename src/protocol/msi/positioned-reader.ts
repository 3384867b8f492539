// Positioned reads over an open file, for parsers of multi-GB containers (PE,
// compound files, cabinets) that must never load the whole file: headers are
// read by offset and digest ranges are streamed through a hash in 1 MiB chunks.
// Content problems (a structure pointing past the end of the file) surface as
// FileStructureError so callers can report "malformed"; I/O errors pass through.

import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

/** The file's content is not what its format requires (never an I/O failure). */
export class FileStructureError extends Error {
  override readonly name = 'FileStructureError';
}

export const HASH_CHUNK_BYTES = 1024 * 1024;

export class PositionedReader {
  private chunk: Buffer | undefined;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  /** Exactly `length` bytes at `position`; a FileStructureError when the range leaves the file. */
  async read(position: number, length: number): Promise<Buffer> {
    this.requireRange(position, length);
    const out = Buffer.alloc(length);
    await this.fill(out, length, position);
    return out;
  }

  /** Feeds bytes [start, end) of the file to `hash`, 1 MiB at a time. */
  async hashRange(hash: Hash, start: number, end: number): Promise<void> {
    if (end < start) throw new FileStructureError(`negative range ${start}..${end}`);
    this.requireRange(start, end - start);
    this.chunk ??= Buffer.alloc(HASH_CHUNK_BYTES);
    for (let at = start; at < end; ) {
      const n = Math.min(HASH_CHUNK_BYTES, end - at);
      await this.fill(this.chunk, n, at);
      hash.update(this.chunk.subarray(0, n));
      at += n;
    }
  }

  private requireRange(position: number, length: number): void {
    if (!Number.isSafeInteger(position) || !Number.isSafeInteger(length) || position < 0 || length < 0) {
      throw new FileStructureError(`invalid range ${position}+${length}`);
    }
    if (position + length > this.size) {
      throw new FileStructureError(`range ${position}+${length} runs past the end of the file (${this.size} bytes)`);
    }
  }

  private async fill(target: Buffer, length: number, position: number): Promise<void> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(target, done, length - done, position + done);
      if (bytesRead === 0) throw new FileStructureError('the file shrank while it was being read');
      done += bytesRead;
    }
  }
}
