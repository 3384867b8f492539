import { constants } from 'node:fs';
import { lstat, open, rm, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import { DigestAccumulator, digestHandle, type ContentExpectation } from './content-digest.js';
import { ContentDownloadError } from './content-errors.js';
import { commitOrQuarantine, type CommitDeps, type IngestResult } from './content-commit.js';
import { rethrowStorage, storageErrorOf } from '../../store/storage-errors.js';

// One resumable transfer into contentDir/.partial/<SHA1>: a restart (of this call, or of the
// process) continues with `Range: bytes=N-`; a 206 appends, a 200 starts over. The HTTP work
// lives here; whether the bytes are right is the commit gate's decision.

export interface DownloadTuning {
  dispatcher: Dispatcher;
  /** tries per call; each failure after progress resumes where it stopped */
  attempts: number;
  retryDelayMs: number;
  headersTimeoutMs: number;
  /** longest silence between two body chunks */
  bodyTimeoutMs: number;
}

type Step = 'done' | 'restart';

const RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  for (let off = 0; off < chunk.length; ) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
}

function retryable(e: unknown): boolean {
  if (e instanceof ContentDownloadError) return e.retryable;
  const code = (e as { code?: string }).code ?? '';
  // undici's transport failures and the OS's connection errors; anything else (disk full, bugs) is not retried.
  return code.startsWith('UND_ERR_') || ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH'].includes(code);
}

function httpFailure(sha1Hex: string, status: number): ContentDownloadError {
  return new ContentDownloadError(sha1Hex, `upstream answered HTTP ${status}`, status >= 500 || status === 408 || status === 429, undefined, status);
}

async function openPartial(path: string): Promise<FileHandle> {
  // A planted symlink or directory at the partial path is discarded, never followed.
  const st = await lstat(path).catch(() => undefined);
  if (st && !st.isFile()) await rm(path, { recursive: true, force: true });
  return open(path, constants.O_RDWR | constants.O_CREAT | constants.O_APPEND | (constants.O_NOFOLLOW ?? 0), 0o644);
}

/** One HTTP exchange appending to the partial file from where it stands. */
async function exchange(
  tuning: DownloadTuning, url: string, fh: FileHandle, acc: DigestAccumulator, expected: ContentExpectation, signal?: AbortSignal,
): Promise<Step> {
  const offset = acc.size;
  const headers: Record<string, string> = { 'accept-encoding': 'identity' };
  if (offset > 0) headers.range = `bytes=${offset}-`;
  const res = await request(url, {
    dispatcher: tuning.dispatcher, method: 'GET', headers, signal: signal ?? null, maxRedirections: 5,
    headersTimeout: tuning.headersTimeoutMs, bodyTimeout: tuning.bodyTimeoutMs,
  });
  try {
    if (res.statusCode === 206 && offset > 0) {
      const m = RANGE.exec(String(res.headers['content-range'] ?? ''));
      if (!m || Number(m[1]) !== offset) return 'restart';
    } else if (res.statusCode === 200) {
      const length = res.headers['content-length'];
      if (length !== undefined && Number(length) !== expected.size) {
        throw new ContentDownloadError(expected.sha1Hex, `upstream sends ${length} bytes, metadata says ${expected.size}`);
      }
      if (offset > 0) {
        await fh.truncate(0);
        acc.reset();
      }
    } else if (res.statusCode === 416 && offset > 0) {
      return 'restart';
    } else {
      throw httpFailure(expected.sha1Hex, res.statusCode);
    }
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      await writeAll(fh, chunk);
      acc.update(chunk);
      // More than the metadata's size can never verify: stop reading and let the gate quarantine it.
      if (acc.size > expected.size) break;
    }
    return 'done';
  } finally {
    // An unread body must be discarded (the socket is not reused); undici reports that as an
    // abort error nobody needs to hear about.
    if (!res.body.destroyed) {
      res.body.on('error', () => {});
      res.body.destroy();
    }
  }
}

export async function downloadResumable(
  deps: CommitDeps, tuning: DownloadTuning, url: string, expected: ContentExpectation, signal?: AbortSignal,
): Promise<IngestResult> {
  const hex = expected.sha1Hex;
  const partial = deps.layout.partialPath(hex);
  const acc = new DigestAccumulator();
  const where = `the content store (${partial})`;
  const fh = await openPartial(partial).catch((e: unknown) => rethrowStorage(e, where));
  try {
    let start = (await fh.stat()).size;
    if (start > expected.size) {
      await fh.truncate(0);
      start = 0;
    }
    // The bytes kept from an earlier try are part of the file: hash them before appending.
    if (start > 0) {
      await digestHandle(fh, acc, 0, signal);
      deps.log.info('content download resuming', { sha1: hex, offset: acc.size, size: expected.size });
    }
    for (let attempt = 1; acc.size < expected.size; attempt++) {
      try {
        const step = await exchange(tuning, url, fh, acc, expected, signal);
        if (step === 'done') break;
        // The upstream could not continue from our offset: start over, once per attempt.
        deps.log.info('content download restarting from zero', { sha1: hex, offset: acc.size });
        await fh.truncate(0);
        acc.reset();
        if (attempt >= tuning.attempts) throw new ContentDownloadError(hex, 'upstream refuses to resume or restart');
      } catch (e) {
        if (signal?.aborted) throw new ContentDownloadError(hex, 'aborted', false, e);
        // Our disk, not the upstream: say so (disk full, read-only), never retry it as a transfer failure.
        const storage = storageErrorOf(e, where);
        if (storage) throw storage;
        if (attempt >= tuning.attempts || !retryable(e)) {
          throw e instanceof ContentDownloadError ? e : new ContentDownloadError(hex, (e as Error).message, retryable(e), e);
        }
        deps.log.info('content download interrupted; will resume', { sha1: hex, offset: acc.size, attempt, error: (e as Error).message });
        await sleep(tuning.retryDelayMs * 2 ** (attempt - 1), undefined, { signal }).catch((err: unknown) => {
          throw new ContentDownloadError(hex, 'aborted', false, err);
        });
      }
    }
    await fh.sync().catch((e: unknown) => rethrowStorage(e, where));
  } finally {
    await fh.close().catch(() => undefined);
  }
  return commitOrQuarantine(deps, partial, expected, acc.digest(), 'upstream');
}
