import { checker } from './config-checks.js';

// The `reporting` section: how long client events are kept, how many per computer, and how
// fast one client id may report before it is told ServerBusy (the others are unaffected), and
// after how many silent days a computer counts as not reporting.

export interface ReportingConfig {
  /** events received longer ago than this are pruned (status is kept in computer_status) */
  eventRetentionDays: number;
  /** each computer keeps at most its newest this many events */
  maxEventsPerComputer: number;
  /** sustained events per minute one client id may report */
  clientEventsPerMinute: number;
  /** events one client id may report at once before the per-minute rate applies */
  clientEventBurst: number;
  /** a computer silent (no scan, no report) this many days is listed by `report not-reporting` */
  notReportingDays: number;
}

export const DEFAULT_REPORTING: ReportingConfig = Object.freeze({
  eventRetentionDays: 30,
  maxEventsPerComputer: 2_000,
  clientEventsPerMinute: 1_200,
  clientEventBurst: 3_000,
  notReportingDays: 7,
});

const KNOWN = ['eventRetentionDays', 'maxEventsPerComputer', 'clientEventsPerMinute', 'clientEventBurst', 'notReportingDays'];

export function validateReportingConfig(raw: unknown, problems: string[]): ReportingConfig {
  if (raw === undefined) return DEFAULT_REPORTING;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push('reporting must be an object');
    return DEFAULT_REPORTING;
  }
  const c = checker(raw as Record<string, unknown>, 'reporting', problems, KNOWN);
  return {
    eventRetentionDays: c.int('eventRetentionDays', 30, 1, 3650),
    maxEventsPerComputer: c.int('maxEventsPerComputer', 2_000, 10, 1_000_000),
    clientEventsPerMinute: c.int('clientEventsPerMinute', 1_200, 1, 10_000_000),
    clientEventBurst: c.int('clientEventBurst', 3_000, 1, 10_000_000),
    notReportingDays: c.int('notReportingDays', 7, 1, 3650),
  };
}
