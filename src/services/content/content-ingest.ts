import { open, lstat, rm, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { DomainError } from '../../core/errors.js';
import type { ContentRecords } from '../../store/content.store.js';
import { DigestAccumulator, openNoFollow, type ComputedDigest, type ContentExpectation } from './content-digest.js';
import { UnknownContentError } from './content-errors.js';
import { commitOrQuarantine, intactFile, type CommitDeps, type IngestResult } from './content-commit.js';
import { normalizeSha1Hex, requireSha1Hex } from './content-layout.js';
import { rethrowStorage } from '../../store/storage-errors.js';
import type { ContentSource } from '../signing/signature-policy.js';

// Bytes entering the store from a local file or a stream: copied into .tmp while both digests
// are computed, fsynced, then handed to the commit gate. The source is read exactly once.

/** What a caller may say about the bytes it hands over; the metadata, when it has the digest, wins. */
export type ExpectationInput = string | ContentExpectation;

export function resolveExpectation(records: ContentRecords, input: ExpectationInput): ContentExpectation {
  const hex = requireSha1Hex(typeof input === 'string' ? input : input.sha1Hex);
  const meta = records.expectation(hex);
  if (meta) {
    if (typeof input !== 'string') {
      const sha256Differs = input.sha256 && meta.sha256 && !Buffer.from(input.sha256, 'base64').equals(Buffer.from(meta.sha256, 'base64'));
      if (input.size !== meta.size || sha256Differs) {
        throw new DomainError('InvalidInput', `content ${hex}`, `expected size/SHA-256 for ${hex} disagree with the update metadata`);
      }
    }
    return { sha1Hex: hex, size: meta.size, sha256: meta.sha256 ?? (typeof input === 'string' ? null : input.sha256 ?? null) };
  }
  // A digest no metadata references yet (e.g. fetched before its revision commits) needs an explicit size.
  if (typeof input === 'string') throw new UnknownContentError(hex);
  if (!Number.isSafeInteger(input.size) || input.size < 0) throw new DomainError('InvalidInput', 'size', `bad size ${input.size}`);
  return { sha1Hex: hex, size: input.size, sha256: input.sha256 ?? null };
}

async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  for (let off = 0; off < chunk.length; ) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
}

/**
 * Copies `source` into a fresh .tmp file, hashing as it goes, stops reading once more than
 * `maxBytes` arrived (a lying source cannot fill the disk), fsyncs, and only then asks
 * `expectationFor` what the bytes must be.
 */
export async function ingestSource(
  deps: CommitDeps,
  source: AsyncIterable<Uint8Array>,
  expectationFor: (actual: ComputedDigest) => ContentExpectation,
  origin: ContentSource,
  maxBytes?: number,
  signal?: AbortSignal,
): Promise<IngestResult> {
  const tmp = deps.layout.newTmpPath();
  const acc = new DigestAccumulator();
  const fh = await open(tmp, 'wx', 0o644).catch((e: unknown) => rethrowStorage(e, `the content store (${deps.layout.tmpDir})`));
  let actual: ComputedDigest;
  try {
    for await (const chunk of source) {
      signal?.throwIfAborted();
      await writeAll(fh, chunk).catch((e: unknown) => rethrowStorage(e, `the content store (${deps.layout.tmpDir})`));
      acc.update(chunk);
      if (maxBytes !== undefined && acc.size > maxBytes) break;
    }
    await fh.sync().catch((e: unknown) => rethrowStorage(e, `the content store (${deps.layout.tmpDir})`));
    actual = acc.digest();
  } catch (e) {
    await fh.close().catch(() => undefined);
    // A file half-written on a full disk must not stay: it holds space and is never served anyway.
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  let expected: ContentExpectation;
  try {
    expected = expectationFor(actual);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return commitOrQuarantine(deps, tmp, expected, actual, origin);
}

/** `origin`: the way the bytes arrived, whose signature policy applies (config contentSignatures). */
export async function ingestStream(
  deps: CommitDeps, source: AsyncIterable<Uint8Array>, input: ExpectationInput, origin: ContentSource, signal?: AbortSignal,
): Promise<IngestResult> {
  const expected = resolveExpectation(deps.records, input);
  const existing = intactFile(deps.layout, deps.records, expected.sha1Hex);
  if (existing) {
    (source as { destroy?: () => void }).destroy?.();
    return { outcome: 'already-present', content: existing };
  }
  return ingestSource(deps, source, () => expected, origin, expected.size, signal);
}

const DIGEST_NAME = /^([0-9A-Fa-f]{40})(\.[^.]*)?$/;

/**
 * Ingests a local file, matched to metadata by the SHA-1 of its bytes. A file named like a
 * content file (`<SHA1>.<ext>`) whose bytes are unknown but whose name is a known digest is a
 * damaged copy: it is quarantined under that digest. `claimedSha1` makes the name binding.
 */
export async function ingestFile(deps: CommitDeps, path: string, origin: ContentSource, claimedSha1?: string): Promise<IngestResult> {
  const claimed = claimedSha1 === undefined ? undefined : requireSha1Hex(claimedSha1);
  const st = await lstat(path);
  if (st.isSymbolicLink()) throw new DomainError('InvalidInput', path, `${path}: symbolic links are not followed`);
  if (!st.isFile()) throw new DomainError('InvalidInput', path, `${path}: not a regular file`);
  const fh = await openNoFollow(path);
  const opened = await fh.stat();
  if (opened.ino !== st.ino || opened.dev !== st.dev) {
    await fh.close();
    throw new DomainError('InvalidInput', path, `${path}: replaced while being opened`);
  }
  const nameHint = normalizeSha1Hex(DIGEST_NAME.exec(basename(path))?.[1] ?? '');
  const { records } = deps;
  const expectationFor = (actual: ComputedDigest): ContentExpectation => {
    const target = claimed ?? (records.expectation(actual.sha1Hex) ? actual.sha1Hex : nameHint);
    const meta = target ? records.expectation(target) : undefined;
    if (!target || !meta) throw new UnknownContentError(claimed ?? actual.sha1Hex);
    return { sha1Hex: target, size: meta.size, sha256: meta.sha256 };
  };
  const stream = fh.createReadStream({ highWaterMark: 1024 * 1024 });
  try {
    return await ingestSource(deps, stream, expectationFor, origin);
  } finally {
    stream.destroy();
  }
}
