import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { DomainError } from '../../core/errors.js';

// An uploaded package lands in DATA/transfer/incoming before anything reads it: streamed to a
// private file, bounded by transfer.maxPackageBytes, deleted when its import ends. Files left by
// a process that died are removed after a day.

const STALE_MS = 24 * 3600_000;

export function incomingDir(dataDir: string): string {
  const dir = join(dataDir, 'transfer', 'incoming');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

function removeStale(dir: string, now: number): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    try {
      if (now - statSync(p).mtimeMs > STALE_MS) void rm(p, { force: true });
    } catch {
      // gone already
    }
  }
}

/** Streams `body` to a new file; returns its path. Throws InvalidInput past `maxBytes`. */
export async function receivePackage(body: Readable | AsyncIterable<Uint8Array>, dataDir: string, maxBytes: number, signal?: AbortSignal): Promise<string> {
  const dir = incomingDir(dataDir);
  removeStale(dir, Date.now());
  const part = join(dir, `${randomUUID()}.part`);
  const fh = await open(part, 'wx', 0o600);
  let size = 0;
  try {
    for await (const chunk of body) {
      signal?.throwIfAborted();
      size += chunk.length;
      if (size > maxBytes) {
        (body as { destroy?: () => void }).destroy?.();
        throw new DomainError('InvalidInput', 'package', `the package is larger than transfer.maxPackageBytes (${maxBytes} bytes)`);
      }
      for (let off = 0; off < chunk.length; ) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
    }
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(part, { force: true });
    throw e;
  }
  await fh.close();
  if (size === 0) {
    await rm(part, { force: true });
    throw new DomainError('InvalidInput', 'package', 'the upload is empty');
  }
  const file = part.replace(/\.part$/, '.tar');
  await rename(part, file);
  return file;
}
