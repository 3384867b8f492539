// Plain-text tables for people (scripts use --json): columns padded to their widest cell, the
// last column left unpadded so long titles do not push lines past the terminal needlessly.

export function textTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** `2026-03-01T10:20:30.000Z` → `2026-03-01 10:20`; '-' for none. */
export function shortTime(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 16).replace('T', ' ') : '-';
}

/** "showing 1-100 of 13,700 (next page: --offset 100)" */
export function pageNote(offset: number, shown: number, total: number): string {
  if (total === 0) return 'nothing matches';
  if (shown === 0) return `nothing at offset ${offset} (${total.toLocaleString('en-US')} in all)`;
  const next = offset + shown < total ? ` (next page: --offset ${offset + shown})` : '';
  return `showing ${offset + 1}-${offset + shown} of ${total.toLocaleString('en-US')}${next}`;
}
