import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DomainError } from '../../core/errors.js';
import type { AuthenticodeSigner } from '../../protocol/authenticode/signed-data.js';
import { MAX_FOLDER_BYTES } from '../../protocol/cab/cabinet-writer.js';
import { CabinetFormatError } from '../../protocol/cab/errors.js';
import { signCabinetFile, writeSignableCabinetFile } from '../../protocol/cab/signable-cabinet-file.js';
import { timestampFrom } from '../signing/timestamp-client.js';

// The file clients download for a published update: the payload inside a single-folder MSZIP
// cabinet with an Authenticode signature, written in the content store's temp area (the same
// file system as the store, and swept by content cleanup if this process dies mid-way).

export interface SignedCab {
  path: string;
  size: number;
  sha1Hex: string;
  sha1Base64: string;
  sha256Base64: string;
}

export type PublishPhase = 'cab' | 'sign' | 'hash' | 'store';
export type PhaseProgress = (phase: PublishPhase, done: number, total: number) => void;

/** A payload no cabinet folder can hold is refused before anything is written. */
export function assertFitsCabinet(size: number, limit = MAX_FOLDER_BYTES): void {
  if (size > limit) {
    throw new DomainError('InvalidInput', 'payload',
      `the payload is ${size} bytes; a cabinet folder holds at most ${limit} bytes (${(limit / 2 ** 30).toFixed(2)} GiB), so it cannot be published as one signed CAB`);
  }
}

async function digestFile(path: string, size: number, onProgress?: PhaseProgress): Promise<{ sha1: Buffer; sha256: Buffer; size: number }> {
  const sha1 = createHash('sha1');
  const sha256 = createHash('sha256');
  let done = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    sha1.update(chunk);
    sha256.update(chunk);
    done += chunk.length;
    onProgress?.('hash', done, size);
  }
  return { sha1: sha1.digest(), sha256: sha256.digest(), size: done };
}

/**
 * Writes `payloadPath` as `memberName` into a signed CAB under `tmpDir`. The caller owns the
 * returned file (and removes it); on failure nothing is left behind.
 */
export async function buildSignedCab(
  tmpDir: string,
  payload: { path: string; memberName: string; size: number },
  signer: AuthenticodeSigner,
  opts: { timestampUrl?: string; signingTime?: Date; onProgress?: PhaseProgress; signal?: AbortSignal } = {},
): Promise<SignedCab> {
  assertFitsCabinet(payload.size);
  await mkdir(tmpDir, { recursive: true });
  const path = join(tmpDir, `publish-${randomBytes(8).toString('hex')}.cab`);
  try {
    opts.onProgress?.('cab', 0, payload.size);
    try {
      await writeSignableCabinetFile([{ name: payload.memberName, path: payload.path }], path);
    } catch (e) {
      if (e instanceof CabinetFormatError) throw new DomainError('InvalidInput', 'payload', `the payload cannot be put into a CAB: ${e.message}`);
      throw e;
    }
    opts.onProgress?.('cab', payload.size, payload.size);
    opts.onProgress?.('sign', 0, 1);
    await signCabinetFile(path, signer, {
      ...(opts.timestampUrl ? { timestamp: timestampFrom(opts.timestampUrl) } : {}),
      ...(opts.signingTime ? { signingTime: opts.signingTime } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    opts.onProgress?.('sign', 1, 1);
    const { sha1, sha256, size } = await digestFile(path, (await stat(path)).size, opts.onProgress);
    return { path, size, sha1Hex: sha1.toString('hex').toUpperCase(), sha1Base64: sha1.toString('base64'), sha256Base64: sha256.toString('base64') };
  } catch (e) {
    await rm(path, { force: true });
    throw e;
  }
}
