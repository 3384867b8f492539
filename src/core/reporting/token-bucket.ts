// Per-client flood control for ReportEventBatch: each client id has a bucket of `burst` events
// refilled at `perMinute`; a batch that does not fit is refused (ServerBusy) and the client
// retries later, while every other client keeps reporting. Memory stays bounded: when the map is
// large, buckets that have refilled (the same as a fresh one) are forgotten.

export interface TokenBuckets {
  /** takes `n` tokens for `key` at time `now` (epoch ms); false when they are not there */
  take(key: string, n: number, now: number): boolean;
  size(): number;
}

export function createTokenBuckets(perMinute: number, burst: number, maxKeys = 100_000): TokenBuckets {
  const perMs = perMinute / 60_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const level = (b: { tokens: number; at: number }, now: number): number => Math.min(burst, b.tokens + Math.max(0, now - b.at) * perMs);

  function sweep(now: number): void {
    for (const [k, b] of buckets) if (level(b, now) >= burst) buckets.delete(k);
    if (buckets.size >= maxKeys) buckets.clear();
  }

  return {
    take(key, n, now) {
      let b = buckets.get(key);
      if (!b) {
        if (buckets.size >= maxKeys) sweep(now);
        b = { tokens: burst, at: now };
        buckets.set(key, b);
      }
      b.tokens = level(b, now);
      b.at = now;
      if (b.tokens < n) return false;
      b.tokens -= n;
      return true;
    },
    size: () => buckets.size,
  };
}
