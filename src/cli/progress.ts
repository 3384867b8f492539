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
