import { DomainError, invalidParameters } from '../core/errors.js';
import type { ClientCookie } from '../core/cookies/cookie-token.js';
import type { EventsStore, StoredEvent } from '../store/events.store.js';
import type { ServerConfig } from '../config/config.js';
import type { Logger } from '../logger.js';

// ReportEventBatch is answered at once; events are queued and written in batches by a timer,
// so a reporting backlog can never slow a scan. When the queue is full the client is told
// ServerBusy and retries later, instead of the server growing without bound.

export type IncomingEvent = Omit<StoredEvent, 'clientId'> & { targetSid: string };

const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function createReportingService(deps: { config: ServerConfig; events: EventsStore; clock: () => Date; log: Logger }) {
  const { config, events, log } = deps;
  let queue: StoredEvent[] = [];
  const reported = new Map<string, string>();

  return {
    accept(cookie: ClientCookie, batch: readonly IncomingEvent[]): boolean {
      if (batch.length > config.limits.maxEventsPerBatch) throw invalidParameters('eventBatch');
      if (queue.length + batch.length > config.limits.maxPendingEvents) {
        throw new DomainError('ServerBusy', '', 'reporting queue full');
      }
      const accepted: StoredEvent[] = [];
      for (const e of batch) {
        if (!GUID_RE.test(e.eventInstanceId) || !GUID_RE.test(e.updateId)) throw invalidParameters('eventBatch');
        // A client reports for itself only: the cookie, not the body, says who is reporting.
        if (e.targetSid.toLowerCase() !== cookie.clientId) {
          log.warn('report event for another client ignored', { clientId: cookie.clientId, claimed: e.targetSid });
          continue;
        }
        const { targetSid: _sid, ...rest } = e;
        accepted.push({
          ...rest,
          clientId: cookie.clientId,
          eventInstanceId: e.eventInstanceId.toLowerCase(),
          updateId: e.updateId.toLowerCase(),
          miscData: e.miscData.slice(0, 256).map((m) => m.slice(0, 4096)),
          replacementStrings: e.replacementStrings.slice(0, 64).map((m) => m.slice(0, 4096)),
          appName: e.appName.slice(0, 256),
        });
      }
      queue.push(...accepted);
      reported.set(cookie.clientId, deps.clock().toISOString());
      return true;
    },

    /** Writes queued events; returns how many were new (replays are dropped by EventInstanceID). */
    flush(): number {
      if (queue.length === 0) return 0;
      const batch = queue;
      queue = [];
      const added = events.insertBatch(batch, deps.clock().toISOString());
      log.debug('report events stored', { received: batch.length, added });
      return added;
    },

    pending(): number {
      return queue.length;
    },

    drainReportTimes(): Map<string, string> {
      const copy = new Map(reported);
      reported.clear();
      return copy;
    },
  };
}

export type ReportingService = ReturnType<typeof createReportingService>;
