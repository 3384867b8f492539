import { hostname } from 'node:os';
import type { ServerConfig } from '../../config/config.js';
import type { Logger } from '../../logger.js';
import type { Db } from '../../store/database.js';
import type { SyncRunResult } from '../sync/sync-types.js';
import { createHealthWatch, type HealthWatch } from './health-watch.js';
import { syncNotifications } from './sync-notifications.js';
import { createWebhookNotifier, type Notifier } from './webhook-notifier.js';

// Notifications as the server runs them: one notifier for the configured webhooks, the sync
// listener (sync.succeeded / sync.failed / updates.new, then a health evaluation) and the
// health watch (health.red). Built once in the composition root.

export interface Notifications {
  notifier: Notifier;
  healthWatch: HealthWatch;
  /** for SyncServiceDeps.runListeners */
  syncListeners: ReadonlyArray<(result: SyncRunResult) => void>;
  start(): void;
  close(): Promise<void>;
}

export function createNotifications(deps: { db: Db; config: ServerConfig; serverId: string; log: Logger; clock: () => Date; userAgent?: string }): Notifications {
  const notifier = createWebhookNotifier({
    config: deps.config.notifications, server: { id: deps.serverId, name: deps.config.sync.serverName || hostname() },
    log: deps.log, clock: deps.clock, userAgent: deps.userAgent,
  });
  const healthWatch = createHealthWatch({ db: deps.db, config: deps.config, notifier, log: deps.log, clock: deps.clock });
  const onSync = syncNotifications({ db: deps.db, notifier, log: deps.log, maxTitles: deps.config.notifications.maxTitles });
  const active = deps.config.notifications.webhooks.length > 0;
  return {
    notifier,
    healthWatch,
    // Without webhooks there is nobody to tell: no listener, no periodic health evaluation.
    syncListeners: active ? [onSync, (r) => void healthWatch.evaluate(`sync ${r.state}`)] : [],
    start() {
      if (active) healthWatch.start();
    },
    async close() {
      healthWatch.stop();
      await notifier.close();
    },
  };
}
