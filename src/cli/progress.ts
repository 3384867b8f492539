/** One progress line on stderr: redrawn in place on a terminal, printed every step otherwise. */
export function progressReporter(label: string): (done: number, total: number, extra?: string) => void {
  const tty = process.stderr.isTTY;
  let lastPct = -1;
  return (done, total, extra = '') => {
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    if (!tty && pct === lastPct && done !== total) return;
    lastPct = pct;
    const width = 30;
    const filled = Math.round((pct / 100) * width);
    const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct}% ${done}/${total} ${extra}`;
    process.stderr.write(tty ? `\r${line}` : `${line}\n`);
    if (tty && done === total) process.stderr.write('\n');
  };
}

export interface RateProgress {
  /** `label` names what is counted (e.g. `updates: fetch`); a new label starts a new line and rate. */
  update(label: string, done: number, total: number): void;
  /** ends an in-place line */
  end(): void;
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/**
 * Long jobs (sync): items done/total, rate per second and ETA. Redrawn in place on a terminal;
 * otherwise (logs, CI) a plain line at most every `everyMs`, plus the first and last of each label.
 */
export function rateProgress(
  out: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
  opts: { everyMs?: number; now?: () => number } = {},
): RateProgress {
  const tty = out.isTTY === true;
  const now = opts.now ?? Date.now;
  const everyMs = opts.everyMs ?? 5_000;
  let label = '';
  let startAt = 0;
  let startDone = 0;
  let lastPrint = 0;
  let open = false;
  return {
    update(l, done, total) {
      const t = now();
      const fresh = l !== label;
      if (fresh) {
        if (open) out.write('\n');
        open = false;
        label = l;
        startAt = t;
        startDone = done;
      }
      const finished = done >= total;
      if (!tty && !fresh && !finished && t - lastPrint < everyMs) return;
      lastPrint = t;
      const elapsed = (t - startAt) / 1000;
      const rate = elapsed > 0 ? (done - startDone) / elapsed : 0;
      const pct = total > 0 ? ((done / total) * 100).toFixed(1) : '100.0';
      const eta = finished ? 'done' : rate > 0 ? `ETA ${clock((total - done) / rate)}` : 'ETA ?';
      const line = `${label} ${done}/${total} (${pct}%) ${rate.toFixed(rate < 10 ? 1 : 0)}/s ${eta}`;
      if (tty) {
        out.write(`\r${line}\x1b[K`);
        open = !finished;
        if (finished) out.write('\n');
      } else {
        out.write(`${line}\n`);
      }
    },
    end() {
      if (open) out.write('\n');
      open = false;
    },
  };
}
