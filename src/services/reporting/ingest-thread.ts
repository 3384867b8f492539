import { Worker } from 'node:worker_threads';
import type { ReportingConfig } from '../../config/reporting-config.js';
import type { Logger } from '../../logger.js';
import type { IngestCounts } from './report-processor.js';

// The server's side of the report ingest thread (ingest-worker.ts). A ReportEventBatch is
// checked on the scan thread, then handed over; the client gets `true` once the thread has made
// it durable. Storing, applying and pruning reports all happen there, on a second core, so a
// report flood costs the scan thread only the parsing of the request.

export type ToIngestThread =
  | { t: 'store'; id: number; clientId: string; address: string | null; receivedAt: string; eventCount: number; payload: string }
  | { t: 'settle'; id: number }
  | { t: 'stop' };

export type FromIngestThread =
  | { t: 'stored'; id: number; ok: boolean; error?: string }
  | { t: 'settled'; id: number; pending: number; counts: IngestCounts }
  | { t: 'progress'; pending: number; counts: IngestCounts };

export interface IngestThread {
  /** resolves once the batch is durable; rejects when the thread failed or stopped */
  store(clientId: string, address: string | null, receivedAt: string, eventCount: number, payload: string): Promise<void>;
  /** resolves once the thread has applied everything stored so far */
  settle(): Promise<void>;
  /** what the thread last said: events waiting, its counters */
  latest(): { pending: number; counts: IngestCounts | null };
  stop(): Promise<void>;
}

export function startIngestThread(opts: {
  dbFile: string;
  config: ReportingConfig;
  log: Logger;
  /** the thread ended without being asked to: the caller takes the work back */
  onDead: (error: Error) => void;
}): IngestThread {
  const worker = new Worker(new URL('./ingest-worker.js', import.meta.url), {
    workerData: { dbFile: opts.dbFile, config: opts.config, logLevel: opts.log.level, silent: opts.log.silent === true },
  });
  worker.unref();
  const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let pending = 0;
  let counts: IngestCounts | null = null;
  let alive = true;
  let stopping = false;

  const fail = (e: Error): void => {
    if (!alive) return;
    alive = false;
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
    if (!stopping) opts.onDead(e);
  };
  worker.on('message', (m: FromIngestThread) => {
    if (m.t === 'progress') {
      pending = m.pending;
      counts = m.counts;
      return;
    }
    if (m.t === 'settled') {
      pending = m.pending;
      counts = m.counts;
    }
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.t === 'stored' && !m.ok) w.reject(new Error(m.error ?? 'the ingest thread could not store the batch'));
    else w.resolve();
  });
  worker.on('error', (e) => {
    opts.log.error('report ingest thread failed', { error: e.message });
    fail(e);
  });
  worker.on('exit', (code) => fail(new Error(`report ingest thread exited (${code})`)));

  function ask(m: ToIngestThread & { id: number }): Promise<void> {
    if (!alive) return Promise.reject(new Error('the report ingest thread is not running'));
    return new Promise<void>((resolve, reject) => {
      waiting.set(m.id, { resolve, reject });
      worker.postMessage(m);
    });
  }

  return {
    store(clientId, address, receivedAt, eventCount, payload) {
      pending += eventCount;
      return ask({ t: 'store', id: nextId++, clientId, address, receivedAt, eventCount, payload });
    },
    settle() {
      return ask({ t: 'settle', id: nextId++ });
    },
    latest() {
      return { pending, counts };
    },
    async stop() {
      if (!alive) return;
      stopping = true;
      const exited = new Promise<void>((r) => worker.once('exit', () => r()));
      worker.postMessage({ t: 'stop' } satisfies ToIngestThread);
      const timer = setTimeout(() => void worker.terminate(), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
