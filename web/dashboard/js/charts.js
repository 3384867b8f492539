import { h, s, num, pct } from './dom.js';

// Hand-written SVG charts: one horizontal stacked bar per row (computer × update cells by state),
// a legend, and the figures next to each bar as text, so the chart reads without colours too.

/** The states in display order: done on the left, in progress, then what needs attention. */
export const SEGMENTS = [
  { key: 'installed', label: 'Installed', cls: 'installed' },
  { key: 'notApplicable', label: 'Not applicable', cls: 'not-applicable' },
  { key: 'pendingReboot', label: 'Pending reboot', cls: 'pending-reboot' },
  { key: 'downloaded', label: 'Downloaded', cls: 'downloaded' },
  { key: 'needed', label: 'Needed', cls: 'needed' },
  { key: 'failed', label: 'Failed', cls: 'failed' },
  { key: 'unknown', label: 'Unknown', cls: 'unknown' },
];

const total = (c) => SEGMENTS.reduce((t, seg) => t + (Number(c?.[seg.key]) || 0), 0);

/** "12 installed, 3 needed, 1 failed" (non-zero states only) */
export function countsText(c) {
  const parts = SEGMENTS.filter((seg) => c?.[seg.key]).map((seg) => `${num(c[seg.key])} ${seg.label.toLowerCase()}`);
  return parts.length ? parts.join(', ') : 'no status';
}

/** One stacked bar; `name` goes into its accessible label. */
export function stackedBar(counts, name, { tall = false } = {}) {
  const sum = total(counts);
  const label = `${name}: ${countsText(counts)}`;
  const svg = s('svg', { class: tall ? 'bar tall' : 'bar', viewBox: '0 0 1000 20', preserveAspectRatio: 'none', role: 'img', 'aria-label': label },
    s('title', {}, label));
  if (sum === 0) {
    svg.append(s('rect', { class: 'seg none', x: 0, y: 0, width: 1000, height: 20 }));
    return svg;
  }
  let x = 0;
  for (const seg of SEGMENTS) {
    const v = Number(counts[seg.key]) || 0;
    if (!v) continue;
    const w = (v / sum) * 1000;
    svg.append(s('rect', { class: `seg ${seg.cls}`, x: x.toFixed(2), y: 0, width: Math.max(w, 2).toFixed(2), height: 20, 'data-state': seg.key },
      s('title', {}, `${seg.label}: ${num(v)} (${pct(Math.round((v / sum) * 1000) / 10)})`)));
    x += w;
  }
  return svg;
}

export function legend(keys = SEGMENTS.map((seg) => seg.key)) {
  return h('ul', { class: 'legend', 'aria-label': 'Legend' },
    SEGMENTS.filter((seg) => keys.includes(seg.key)).map((seg) => h('li', {}, h('span', { class: `swatch ${seg.cls}`, 'aria-hidden': 'true' }), seg.label)));
}

/**
 * Rows of labelled bars: [{ label: node|string, counts, note?: string }].
 * Each row shows the label, the compliance, the bar and its figures.
 */
export function barChart(rows, { title } = {}) {
  return h('div', { class: 'bar-chart', role: 'list', 'aria-label': title ?? 'Compliance' },
    rows.map((r) => h('div', { class: 'bar-row', role: 'listitem' },
      h('div', { class: 'bar-head' },
        h('span', { class: 'bar-label' }, r.label),
        h('span', { class: 'bar-pct', title: 'Compliance: installed or not applicable, of the known states' }, pct(r.counts?.compliancePercent))),
      stackedBar(r.counts, r.name ?? (typeof r.label === 'string' ? r.label : r.label.textContent)),
      h('div', { class: 'bar-figures' }, r.note ? `${r.note} · ` : '', countsText(r.counts)))));
}

/** A table of the counts (one row per state, with its share). */
export function countsTable(counts) {
  const sum = total(counts);
  return h('table', { class: 'counts' },
    h('tbody', {}, SEGMENTS.map((seg) => h('tr', {},
      h('th', { scope: 'row' }, h('span', { class: `swatch ${seg.cls}`, 'aria-hidden': 'true' }), seg.label),
      h('td', { class: 'n', 'data-state': seg.key }, num(counts?.[seg.key] ?? 0)),
      h('td', { class: 'n muted' }, sum ? pct(Math.round(((counts?.[seg.key] ?? 0) / sum) * 1000) / 10) : '')))),
    h('tfoot', {},
      h('tr', {}, h('th', { scope: 'row' }, 'Required (needed, downloaded, failed, pending reboot)'), h('td', { class: 'n' }, num(counts?.required ?? 0)), h('td', {})),
      h('tr', {}, h('th', { scope: 'row' }, 'Compliance'), h('td', { class: 'n' }, pct(counts?.compliancePercent)), h('td', {}))));
}
