// The daily sync schedule: `perDay` runs evenly spaced from `firstSyncTime` (local wall-clock
// time, as WSUS admins set it), each delayed by a random jitter so a fleet of downstream
// servers does not hit its upstream in the same second. Pure: the clock and the random source
// are parameters.

export interface SyncSchedule {
  /** HH:MM, local time */
  firstSyncTime: string;
  perDay: number;
  jitterMinutes: number;
}

const DAY_MS = 86_400_000;

/** Time between two scheduled runs (health calls a sync overdue after two of these). */
export function scheduleIntervalMs(schedule: SyncSchedule): number {
  return DAY_MS / schedule.perDay;
}

/** Offsets of the runs from local midnight, ascending, in ms. */
export function dailySlotOffsets(schedule: SyncSchedule): number[] {
  const m = /^(\d{2}):(\d{2})$/.exec(schedule.firstSyncTime);
  if (!m) throw new RangeError(`firstSyncTime must be HH:MM, got ${schedule.firstSyncTime}`);
  const first = (Number(m[1]) * 60 + Number(m[2])) * 60_000;
  const step = scheduleIntervalMs(schedule);
  const out: number[] = [];
  for (let k = 0; k < schedule.perDay; k++) out.push(Math.round(first + k * step) % DAY_MS);
  return out.sort((a, b) => a - b);
}

/**
 * The first slot strictly after `now` (today's or tomorrow's), plus a jitter in
 * [0, jitterMinutes). Slots are wall-clock times: Date's field arithmetic keeps 03:00 at 03:00
 * across daylight-saving changes.
 */
export function nextRunAt(now: Date, schedule: SyncSchedule, random: () => number): Date {
  const offsets = dailySlotOffsets(schedule);
  for (let day = 0; day <= 2; day++) {
    for (const off of offsets) {
      const base = new Date(now.getFullYear(), now.getMonth(), now.getDate() + day, 0, 0, 0, off);
      if (base.getTime() > now.getTime()) {
        const jitter = Math.floor(Math.min(Math.max(random(), 0), 0.999999) * schedule.jitterMinutes * 60_000);
        return new Date(base.getTime() + jitter);
      }
    }
  }
  // Unreachable: tomorrow always has a slot after now.
  throw new Error('no schedule slot found');
}
