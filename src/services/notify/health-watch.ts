import type { Logger } from '../../logger.js';
import type { Db } from '../../store/database.js';
import { createNotifyStore } from '../../store/notify.store.js';
import { readHealth, type HealthConfig, type HealthReport } from '../health/health.service.js';
import type { HealthProbes } from '../health/health-probes.js';
import type { Notifier } from './webhook-notifier.js';

// Announces `health.red` when the server turns unhealthy: health is evaluated after each sync,
// after each maintenance run (seen in the maintenance history, whichever process ran it) and
// periodically. Only the transition is announced; the last state is kept in the database so a
// restart does not announce an old problem again.

const STATE_KEY = 'notify.health.state';

export interface HealthWatchDeps {
  db: Db;
  config: HealthConfig;
  notifier: Pick<Notifier, 'emit'>;
  log: Logger;
  clock: () => Date;
  probes?: HealthProbes;
  /** how often the maintenance history is looked at (default 60 s) */
  pollMs?: number;
  /** a full evaluation at least this often (default 15 min) */
  everyMs?: number;
}

export interface HealthWatch {
  /** evaluates now; returns the report (null when the evaluation itself failed) */
  evaluate(reason: string): HealthReport | null;
  start(): void;
  stop(): void;
}

export function createHealthWatch(deps: HealthWatchDeps): HealthWatch {
  const store = createNotifyStore(deps.db);
  let timer: NodeJS.Timeout | null = null;
  let lastMaintenance: number | null | undefined;
  let lastFull = 0;

  function evaluate(reason: string): HealthReport | null {
    let report: HealthReport;
    try {
      report = readHealth(deps.db, deps.config, deps.clock(), deps.probes);
    } catch (e) {
      deps.log.error('health evaluation failed', { reason, error: (e as Error).message });
      return null;
    }
    lastFull = Date.now();
    const state = report.healthy ? 'healthy' : 'unhealthy';
    const before = store.getState(STATE_KEY) ?? 'healthy';
    if (state !== before) {
      store.putState(STATE_KEY, state);
      deps.log[report.healthy ? 'info' : 'warn'](`health turned ${state}`, { reason, problems: report.problems });
      if (!report.healthy) {
        deps.notifier.emit('health.red', {
          reason, checkedAt: report.checkedAt, problems: report.problems, warnings: report.warnings,
          checks: report.checks.filter((c) => c.status !== 'ok'),
        });
      }
    }
    return report;
  }

  function tick(): void {
    try {
      const m = store.lastFinishedMaintenanceRun();
      const maintenanceFinished = lastMaintenance !== undefined && m !== lastMaintenance;
      lastMaintenance = m;
      if (maintenanceFinished) evaluate('maintenance');
      else if (Date.now() - lastFull >= (deps.everyMs ?? 15 * 60_000)) evaluate('periodic');
    } catch (e) {
      deps.log.warn('health watch failed', { error: (e as Error).message });
    }
  }

  return {
    evaluate,
    start() {
      if (timer) return;
      lastFull = Date.now();
      try {
        lastMaintenance = store.lastFinishedMaintenanceRun();
      } catch {
        lastMaintenance = null;
      }
      timer = setInterval(tick, deps.pollMs ?? 60_000);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
