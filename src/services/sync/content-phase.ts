import { ContentDownloadError } from '../content/content-errors.js';
import { chunk } from '../../core/sync/batching.js';
import type { WantedFile } from '../../store/sync-catalog.store.js';
import { UpstreamFaultError } from '../../upstream/server-sync-session.js';
import { forEachBounded } from './bounded.js';
import { StorageError } from '../../store/storage-errors.js';
import { throwIfAborted, type RunContext } from './run-context.js';

// Content after metadata: 'approved' (WSUS LazySync) fetches the files of Install-approved
// updates, 'all' every file, 'none' nothing. From the upstream's /Content unless the admin
// chose Microsoft's URLs or the upstream is catalog-only. A 404 from the upstream means it
// does not hold the file yet: DownloadFiles asks it to fetch, and the digest is remembered
// as pending for the next run. Single file failures are counted, never fatal: the metadata
// sync already succeeded and `health` shows what is missing.

const MAX_ERRORS_KEPT = 10;
const DOWNLOAD_FILES_MAX = 100;

// ContentDownloadError carries the status only in its message (see the report to the lead).
export function isNotFound(e: unknown): boolean {
  return e instanceof ContentDownloadError && e.httpStatus === 404;
}

export async function runContentPhase(ctx: RunContext): Promise<void> {
  const t0 = performance.now();
  const mode = ctx.sync.content;
  if (mode === 'none') {
    ctx.note('content phase skipped: content mode is none (clients download from Microsoft Update)');
    return;
  }
  if (!ctx.contentStore) {
    ctx.note('content phase skipped: no content store in this process');
    return;
  }
  const store = ctx.contentStore;
  const useMicrosoft = ctx.sync.contentSource === 'microsoft' || ctx.state.upstreamConfig()?.catalogOnlySync === true;
  const wanted = ctx.catalogReads.missingFiles(mode);
  const c = (ctx.counts.content = { wanted: wanted.length, downloaded: 0, alreadyPresent: 0, failed: 0, noSource: 0, requestedFromUpstream: 0, ms: 0, errors: [] as string[] });
  const notOnUpstream: WantedFile[] = [];
  let done = 0;
  await forEachBounded(wanted, ctx.sync.concurrency, async (f) => {
    throwIfAborted(ctx.signal);
    const url = useMicrosoft ? f.muUrl : ctx.session.contentUrl(f.sha1Hex, f.fileName);
    try {
      if (!url) { c.noSource++; return; }
      const r = await store.downloadToStore(url, f.sha1Hex, { signal: ctx.signal });
      if (r.outcome === 'already-present') c.alreadyPresent++;
      else c.downloaded++;
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      // Our own disk full or read-only: every other file would fail the same way; stop the phase with that error.
      if (e instanceof StorageError && (e.failure === 'disk-full' || e.failure === 'read-only')) throw e;
      if (!useMicrosoft && isNotFound(e)) { notOnUpstream.push(f); return; }
      c.failed++;
      if (c.errors.length < MAX_ERRORS_KEPT) c.errors.push((e as Error).message);
      ctx.log.warn('content download failed', { sha1: f.sha1Hex, file: f.fileName, error: (e as Error).message });
    } finally {
      ctx.progress({ phase: 'content', step: 'download', done: ++done, total: wanted.length });
    }
  });
  for (const batch of chunk(notOnUpstream, DOWNLOAD_FILES_MAX)) {
    try {
      await ctx.session.downloadFiles(batch.map((f) => f.sha1));
      c.requestedFromUpstream += batch.length;
    } catch (e) {
      if (!(e instanceof UpstreamFaultError)) throw e;
      // FileDigestsMissing: the upstream does not know some of them (yet); the next run asks again.
      ctx.log.warn('upstream refused DownloadFiles', { errorCode: e.errorCode, error: e.message });
      if (c.errors.length < MAX_ERRORS_KEPT) c.errors.push(e.message);
    }
  }
  // Pending = what the upstream was asked for and still lacks; whatever arrived meanwhile drops out.
  const stillMissing = new Set(ctx.catalogReads.missingFiles(mode).map((f) => f.sha1Hex));
  const pending = [...new Set([...ctx.state.pendingContent(), ...notOnUpstream.map((f) => f.sha1Hex)])].filter((h) => stillMissing.has(h));
  ctx.db.transaction(() => ctx.state.setPendingContent(pending.sort())).immediate();
  if (notOnUpstream.length) ctx.note(`${notOnUpstream.length} file(s) not on the upstream yet: asked it to download them; the next sync fetches them`);
  throwIfAborted(ctx.signal);
  c.ms = Math.round(performance.now() - t0);
  ctx.log.info('sync phase finished', { phase: 'content', ...c, errors: c.errors.length });
}
