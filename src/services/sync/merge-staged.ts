import { parseUpdateDocument } from '../../core/catalog/parse-update.js';
import type { ParsedUpdate } from '../../core/catalog/update-model.js';
import { identityKey } from '../../core/sync/batching.js';
import type { StagedDocument, StagingPhase } from '../../store/sync-staging.store.js';
import { throwIfAborted, type RunContext } from './run-context.js';
import type { MetadataPhaseCounts } from './sync-types.js';

// Staging → catalog: parse each document once (outside the transaction), then insert a page
// of ≤ 500 and unstage it in one transaction. IsLeaf and the catalog generation (what makes a
// running server reload) are refreshed every FINISH_EVERY_MS and once at the end rather than
// per page: each refresh walks the whole catalog. A persisted "unfinished" mark makes a run
// that died between a page and the refresh do the refresh on the next run.

export const MERGE_PAGE = 500;
const FINISH_EVERY_MS = 15_000;

type Prepared =
  | { kind: 'ok'; doc: StagedDocument; parsed: ParsedUpdate }
  | { kind: 'bad'; doc: StagedDocument; error: string }
  | { kind: 'excluded'; doc: StagedDocument };

function prepare(doc: StagedDocument): Prepared {
  try {
    const parsed = parseUpdateDocument(doc.xml);
    const { updateId, revisionNumber } = parsed.identity;
    if (updateId !== doc.identity.updateId || revisionNumber !== doc.identity.revisionNumber) {
      return { kind: 'bad', doc, error: `document is ${updateId} revision ${revisionNumber}, the upstream listed it as ${identityKey(doc.identity)}` };
    }
    // GetUpdateData's fileUrls carry the Microsoft Update URL the document itself lacks.
    if (doc.fileUrls.length) {
      const mu = new Map(doc.fileUrls.map((u) => [u.digest, u.muUrl]));
      for (const f of parsed.files) if (!f.muUrl) { const url = mu.get(f.sha1); if (url) f.muUrl = url; }
    }
    return { kind: 'ok', doc, parsed };
  } catch (e) {
    return { kind: 'bad', doc, error: (e as Error).message };
  }
}

/** Refreshes IsLeaf and bumps the catalog generation if merged pages are waiting for it. */
export function finishPendingMerge(ctx: Pick<RunContext, 'db' | 'catalog' | 'state' | 'clock' | 'catalogChanged'>): void {
  if (!ctx.state.isUnfinished()) return;
  ctx.db.transaction(() => {
    ctx.catalog.finishBatch(ctx.clock());
    ctx.state.setUnfinished(false);
  }).immediate();
  ctx.catalogChanged();
}

/** Lets a server process answer clients between pages (a 50,000-document merge takes seconds). */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function mergeStaged(ctx: RunContext, phase: StagingPhase, counts: MetadataPhaseCounts): Promise<void> {
  const excluded = ctx.store.excludedKeys();
  const total = ctx.staging.stagedCount(phase);
  let done = 0;
  let lastFinish = Date.now();
  for (;;) {
    await yieldToEventLoop();
    throwIfAborted(ctx.signal);
    const page = ctx.staging.page(phase, MERGE_PAGE);
    if (!page.length) break;
    const prepared = page.map((doc): Prepared => (excluded.has(identityKey(doc.identity)) ? { kind: 'excluded', doc } : prepare(doc)));
    const refresh = Date.now() - lastFinish > FINISH_EVERY_MS;
    ctx.db.transaction(() => {
      const now = ctx.clock();
      for (const p of prepared) {
        ctx.staging.unstage(phase, p.doc.identity);
        if (p.kind === 'ok') {
          if (ctx.catalog.insert(p.parsed, p.doc.xml, now).outcome === 'added') counts.merged++;
          else counts.unchanged++;
        } else if (p.kind === 'excluded') {
          counts.excluded++;
        } else {
          counts.bad++;
        }
      }
      if (refresh) ctx.catalog.finishBatch(now);
      ctx.state.setUnfinished(!refresh);
    }).immediate();
    if (refresh) {
      lastFinish = Date.now();
      ctx.catalogChanged();
    }
    for (const p of prepared) {
      if (p.kind === 'bad') {
        ctx.badDocument({ updateId: p.doc.identity.updateId, revisionNumber: p.doc.identity.revisionNumber, error: p.error });
      }
    }
    done += page.length;
    ctx.progress({ phase, step: 'merge', done, total });
  }
  finishPendingMerge(ctx);
  ctx.db.transaction(() => ctx.state.setPlanned(phase, false)).immediate();
}
