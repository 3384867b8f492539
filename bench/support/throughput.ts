/** Runs `fn` repeatedly for about `ms` milliseconds after a warm-up; returns MB/s of `bytes` per call. */
export function measureThroughput(bytes: number, ms: number, fn: () => unknown): number {
  for (let i = 0; i < 50; i++) fn();
  let runs = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 20; i++) fn();
    runs += 20;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return (bytes * runs) / 1e6 / (elapsed / 1000);
}
