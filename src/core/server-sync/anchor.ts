// Server-sync anchors as this server issues them: `<counter>,<yyyy-MM-dd HH:mm:ss.fff>`, the
// shape a real WSUS sends, so a downstream that logs or stores them sees nothing unusual.
// Downstreams treat anchors as opaque; only the counter means something to us: our change_seq
// watermark when the answer was computed. The timestamp (UTC) is informational.

export interface Anchor {
  counter: number;
  /** ms since epoch, UTC */
  at: number;
}

const ANCHOR_RE = /^(0|[1-9]\d{0,14}),(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{3})$/;

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

export function formatAnchor(counter: number, at: Date): string {
  if (!Number.isSafeInteger(counter) || counter < 0) throw new RangeError(`anchor counter must be a non-negative integer, got ${counter}`);
  const d = at;
  return `${counter},${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)} `
    + `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3)}`;
}

/**
 * Strict inverse of formatAnchor: undefined for anything this server could not have issued
 * (other shapes, impossible dates, surrounding whitespace). Whether the counter is plausible
 * for this database is the caller's decision.
 */
export function parseAnchor(text: string): Anchor | undefined {
  const m = ANCHOR_RE.exec(text);
  if (!m) return undefined;
  const [, counter, y, mo, d, h, mi, s, ms] = m.map(Number) as number[];
  const at = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!, ms!);
  const back = new Date(at);
  // Date.UTC rolls 2025-02-30 over to March: reject instead of guessing.
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo! - 1 || back.getUTCDate() !== d
    || back.getUTCHours() !== h || back.getUTCMinutes() !== mi || back.getUTCSeconds() !== s) return undefined;
  if (y! < 1753) return undefined;
  return { counter: counter!, at };
}
