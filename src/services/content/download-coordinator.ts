import type { Logger } from '../../logger.js';
import type { ContentExpectation } from './content-digest.js';
import type { IngestResult } from './content-commit.js';
import { ContentDownloadError } from './content-errors.js';

// Who downloads what, when: one transfer per digest however many ask for it, at most
// `concurrency` transfers at once, and a digest whose download just failed is not retried on
// every client request that finds it missing.

/** Where to fetch a digest from; upstream sync provides it. */
export type FetchFileSource = (sha1Hex: string) => { url: string } | undefined | Promise<{ url: string } | undefined>;

export interface CoordinatorOptions {
  log: Logger;
  concurrency: number;
  /** how long requestDownload leaves a digest alone after its download failed */
  retryAfterFailureMs: number;
  now: () => number;
  transfer: (url: string, expected: ContentExpectation, signal: AbortSignal) => Promise<IngestResult>;
  /** the expectation for a digest requested by sha1 only; throws when unknown */
  expectationOf: (sha1Hex: string) => ContentExpectation;
  isPresent: (sha1Hex: string) => boolean;
  fetchFile?: FetchFileSource | undefined;
}

interface Transfer {
  promise: Promise<IngestResult>;
  /** resolves once the transfer has let go of its partial file and left the map */
  settled: Promise<void>;
  controller: AbortController;
  callers: number;
}

const MAX_REMEMBERED_FAILURES = 10_000;

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export function createDownloadCoordinator(o: CoordinatorOptions) {
  const transfers = new Map<string, Transfer>();
  const failedAt = new Map<string, number>();
  const waiting: Array<() => void> = [];
  let running = 0;
  let closed = false;

  async function slot(signal: AbortSignal): Promise<() => void> {
    if (running >= o.concurrency) {
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal.removeEventListener('abort', cancel);
          resolve();
        };
        const cancel = () => {
          waiting.splice(waiting.indexOf(go), 1);
          reject(signal.reason);
        };
        waiting.push(go);
        signal.addEventListener('abort', cancel, { once: true });
      });
    } else {
      running++;
    }
    // A finishing transfer hands its slot straight to the next waiter, so `running` stays exact.
    return () => {
      const next = waiting.shift();
      if (next) next();
      else running--;
    };
  }

  function start(hex: string, url: string, expected: ContentExpectation): Transfer {
    const controller = new AbortController();
    const t = { controller, callers: 0 } as Transfer;
    t.promise = (async () => {
      const release = await slot(controller.signal);
      try {
        return await o.transfer(url, expected, controller.signal);
      } finally {
        release();
      }
    })();
    t.settled = t.promise.then(
      () => void failedAt.delete(hex),
      () => {
        failedAt.delete(hex);
        failedAt.set(hex, o.now());
        if (failedAt.size > MAX_REMEMBERED_FAILURES) failedAt.delete(failedAt.keys().next().value!);
      },
    ).finally(() => transfers.delete(hex));
    transfers.set(hex, t);
    return t;
  }

  async function download(url: string, expected: ContentExpectation, signal?: AbortSignal): Promise<IngestResult> {
    const hex = expected.sha1Hex;
    if (closed) throw new ContentDownloadError(hex, 'the content store is closed');
    // A transfer its callers abandoned is still unwinding: joining it would fail, and starting a
    // second one beside it would make two writers of one partial file.
    for (let old = transfers.get(hex); old?.controller.signal.aborted; old = transfers.get(hex)) await old.settled;
    const t = transfers.get(hex) ?? start(hex, url, expected);
    t.callers++;
    try {
      return await abortable(t.promise, signal);
    } finally {
      t.callers--;
      // The last interested caller gave up: stop the transfer (its partial file stays for a resume).
      if (t.callers === 0 && signal?.aborted) t.controller.abort(signal.reason);
    }
  }

  async function fromSource(hex: string): Promise<void> {
    const src = await o.fetchFile!(hex);
    if (!src) {
      o.log.debug('no source for missing content', { sha1: hex });
      return;
    }
    await download(src.url, o.expectationOf(hex));
  }

  return {
    download,
    /** Fire and forget: failures are logged, remembered, and retried only after a pause. */
    request(hex: string): void {
      if (closed || transfers.has(hex) || o.isPresent(hex)) return;
      if (!o.fetchFile) {
        o.log.debug('content requested but no upstream is configured', { sha1: hex });
        return;
      }
      const last = failedAt.get(hex);
      if (last !== undefined && o.now() - last < o.retryAfterFailureMs) return;
      fromSource(hex).catch((e: unknown) => {
        o.log.warn('content download failed', { sha1: hex, error: (e as Error).message });
      });
    },
    active(): { running: number; queued: number; digests: string[] } {
      return { running, queued: waiting.length, digests: [...transfers.keys()] };
    },
    /** Aborts every transfer and waits for them to settle; partial files stay for the next start. */
    async close(): Promise<void> {
      closed = true;
      const all = [...transfers.values()];
      for (const t of all) t.controller.abort(new Error('content store closing'));
      await Promise.allSettled(all.map((t) => t.promise));
    },
  };
}

export type DownloadCoordinator = ReturnType<typeof createDownloadCoordinator>;
