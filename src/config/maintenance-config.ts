import { checker } from './config-checks.js';
// The `maintenance` section: when the daily cleanup runs inside `wsus serve` and the limits it
// works with. Defaults make maintenance automatic (ADMINS.md pain #2): a daily run at 04:00
// local time plus up to 30 minutes of jitter; `"schedule": null` turns the schedule off.

export interface MaintenanceSchedule {
  /** HH:MM, local time */
  time: string;
  jitterMinutes: number;
}

export interface MaintenanceConfig {
  /** daily cleanup (and decline rules) inside `wsus serve`; null = only when asked */
  schedule: MaintenanceSchedule | null;
  /** a computer without contact (scan, report, registration) for this many days is deleted */
  obsoleteComputerDays: number;
  /** an older revision is removed once its update's current revision is this many days old */
  unusedRevisionDays: number;
  /** rows changed per transaction (the scan path never waits longer than one batch) */
  batchSize: number;
  /** apply the enabled rules to newly synchronized updates after each successful sync */
  rulesAfterSync: boolean;
  /** maintenance history rows kept (older ones are pruned after each run) */
  historyKeep: number;
}

export const DEFAULT_MAINTENANCE: MaintenanceConfig = Object.freeze({
  schedule: Object.freeze({ time: '04:00', jitterMinutes: 30 }),
  obsoleteComputerDays: 30,
  unusedRevisionDays: 30,
  batchSize: 500,
  rulesAfterSync: true,
  historyKeep: 1000,
});

const KNOWN = ['schedule', 'obsoleteComputerDays', 'unusedRevisionDays', 'batchSize', 'rulesAfterSync', 'historyKeep'];
const TIME_RE = /^([01]\d|2[0-3]):[0-5]\d$/;

type Raw = Record<string, unknown>;

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function validateMaintenanceConfig(raw: unknown, problems: string[]): MaintenanceConfig {
  if (raw === undefined) return DEFAULT_MAINTENANCE;
  if (!isObject(raw)) {
    problems.push('maintenance must be an object');
    return DEFAULT_MAINTENANCE;
  }
  const c = checker(raw, 'maintenance', problems, KNOWN);

  let schedule: MaintenanceSchedule | null = DEFAULT_MAINTENANCE.schedule;
  if (raw.schedule === null || raw.schedule === false) schedule = null;
  else if (raw.schedule !== undefined) {
    if (!isObject(raw.schedule)) {
      problems.push('maintenance.schedule must be an object like { "time": "04:00", "jitterMinutes": 30 }, or null');
    } else {
      const s = raw.schedule;
      const sc = checker(s, 'maintenance.schedule', problems, ['time', 'jitterMinutes']);
      const time = s.time === undefined ? '04:00' : s.time;
      if (typeof time !== 'string' || !TIME_RE.test(time)) problems.push(`maintenance.schedule.time must be HH:MM (got ${JSON.stringify(time)})`);
      schedule = {
        time: typeof time === 'string' && TIME_RE.test(time) ? time : '04:00',
        jitterMinutes: sc.int('jitterMinutes', 30, 0, 720),
      };
    }
  }
  const rulesAfterSync = c.bool('rulesAfterSync', true);
  return {
    schedule,
    obsoleteComputerDays: c.int('obsoleteComputerDays', 30, 1, 3650),
    unusedRevisionDays: c.int('unusedRevisionDays', 30, 0, 3650),
    batchSize: c.int('batchSize', 500, 1, 100_000),
    rulesAfterSync,
    historyKeep: c.int('historyKeep', 1000, 10, 1_000_000),
  };
}
