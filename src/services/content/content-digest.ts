import { createHash, type Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

// Digests computed while bytes flow (into the store or off the disk), and the one rule that
// decides whether bytes are the file the metadata describes.

export interface ComputedDigest {
  sha1Hex: string;
  sha256Base64: string;
  size: number;
}

export interface ContentExpectation {
  /** upper-case hex */
  sha1Hex: string;
  size: number;
  /** base64 as in metadata; absent when the metadata carries none */
  sha256?: string | null;
}

export type MismatchReason = 'size' | 'sha1' | 'sha256';

export interface ContentMismatch {
  reason: MismatchReason;
  message: string;
}

export class DigestAccumulator {
  private sha1: Hash = createHash('sha1');
  private sha256: Hash = createHash('sha256');
  size = 0;

  update(chunk: Uint8Array): void {
    this.sha1.update(chunk);
    this.sha256.update(chunk);
    this.size += chunk.length;
  }

  reset(): void {
    this.sha1 = createHash('sha1');
    this.sha256 = createHash('sha256');
    this.size = 0;
  }

  digest(): ComputedDigest {
    return { sha1Hex: this.sha1.digest('hex').toUpperCase(), sha256Base64: this.sha256.digest('base64'), size: this.size };
  }
}

/** Size first (cheapest to explain), then SHA-1 (the address), then SHA-256 when the metadata has one. */
export function checkContent(expected: ContentExpectation, actual: ComputedDigest): ContentMismatch | undefined {
  if (actual.size !== expected.size) return { reason: 'size', message: `size ${actual.size}, metadata says ${expected.size}` };
  if (actual.sha1Hex !== expected.sha1Hex) return { reason: 'sha1', message: `SHA-1 ${actual.sha1Hex}, metadata says ${expected.sha1Hex}` };
  if (expected.sha256 && !Buffer.from(expected.sha256, 'base64').equals(Buffer.from(actual.sha256Base64, 'base64'))) {
    return { reason: 'sha256', message: `SHA-256 ${actual.sha256Base64}, metadata says ${expected.sha256}` };
  }
  return undefined;
}

const CHUNK = 1024 * 1024;

/** Reads from an open handle, position `start` to the end, into the accumulator. */
export async function digestHandle(fh: FileHandle, acc: DigestAccumulator, start = 0, signal?: AbortSignal): Promise<void> {
  const buf = Buffer.allocUnsafe(CHUNK);
  let pos = start;
  for (;;) {
    signal?.throwIfAborted();
    const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
    if (bytesRead === 0) return;
    acc.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
}

/** Opens for reading without following a symbolic link in the last component (POSIX; Windows has no O_NOFOLLOW). */
export function openNoFollow(path: string): Promise<FileHandle> {
  return open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
}

export async function digestFile(path: string, signal?: AbortSignal): Promise<ComputedDigest> {
  const fh = await openNoFollow(path);
  try {
    const acc = new DigestAccumulator();
    await digestHandle(fh, acc, 0, signal);
    return acc.digest();
  } finally {
    await fh.close();
  }
}
