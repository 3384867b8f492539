import type { Logger } from '../../logger.js';

// Warnings a misbehaving client can cause (floods, impossible clocks, foreign events) are logged
// at most once per key and interval, so the client cannot flood the log instead.

export function createThrottledWarn(log: Logger, now: () => number, intervalMs = 60_000, maxKeys = 10_000) {
  const last = new Map<string, number>();
  return (key: string, message: string, fields: Record<string, unknown>): void => {
    const t = now();
    const prev = last.get(key);
    if (prev !== undefined && t - prev < intervalMs) return;
    if (last.size >= maxKeys) last.clear();
    last.set(key, t);
    log.warn(message, fields);
  };
}
