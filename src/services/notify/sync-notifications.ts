import type { Logger } from '../../logger.js';
import type { Db } from '../../store/database.js';
import { createNotifyStore } from '../../store/notify.store.js';
import type { SyncRunResult } from '../sync/sync-types.js';
import type { Notifier } from './webhook-notifier.js';

// What a finished sync announces: `sync.succeeded` or `sync.failed` (an interrupted run — the
// server shutting down — announces nothing; the next run resumes it), and `updates.new` when
// the run brought updates this server did not have (counts and the first titles).

export interface SyncNotificationDeps {
  db: Db;
  notifier: Pick<Notifier, 'emit'>;
  log: Logger;
  /** titles listed in updates.new */
  maxTitles: number;
}

function summary(r: SyncRunResult) {
  return {
    runId: r.runId, upstream: r.upstream, trigger: r.trigger, startedAt: r.startedAt, finishedAt: r.finishedAt, durationMs: r.durationMs,
  };
}

/** A sync run listener (SyncServiceDeps.runListeners). Never throws. */
export function syncNotifications(deps: SyncNotificationDeps): (result: SyncRunResult) => void {
  const store = createNotifyStore(deps.db);
  return (r) => {
    try {
      if (r.state === 'failed') {
        deps.notifier.emit('sync.failed', { ...summary(r), phase: r.phase, error: r.error });
        return;
      }
      if (r.state !== 'succeeded') return;
      const u = r.counts.updates;
      deps.notifier.emit('sync.succeeded', {
        ...summary(r),
        updates: u ? { listed: u.listed, fetched: u.fetched, merged: u.merged, excluded: u.excluded, bad: u.bad } : null,
        content: r.counts.content ? { downloaded: r.counts.content.downloaded, failed: r.counts.content.failed } : null,
        notes: r.counts.notes,
      });
      const arrived = store.arrivedBetween(r.startedAt, r.finishedAt, deps.maxTitles);
      if (arrived.newUpdates > 0) {
        deps.notifier.emit('updates.new', {
          runId: r.runId, upstream: r.upstream, newUpdates: arrived.newUpdates, revisedUpdates: arrived.revisedUpdates,
          titles: arrived.first, more: Math.max(0, arrived.newUpdates - arrived.first.length),
        });
      }
    } catch (e) {
      deps.log.error('sync notification failed', { runId: r.runId, error: (e as Error).message });
    }
  };
}
