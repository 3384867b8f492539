import { h, empty, num } from './dom.js';

// Tables of report rows: columns are { title, cell(row) → text or node, num?: right-aligned }.

export function table(columns, rows, { emptyText = 'Nothing to show.', label, more = 0 } = {}) {
  if (!rows.length) return empty(emptyText);
  const t = h('table', { class: 'data', 'aria-label': label },
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'n' : c.cls }, c.title)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c) => h('td', { class: c.num ? 'n' : c.cls }, c.cell(r, rows)))))));
  const wrap = h('div', { class: 'table-wrap' }, t);
  if (more > 0) wrap.append(h('p', { class: 'more muted' }, `…and ${num(more)} more not shown.`));
  return wrap;
}

/** "Showing 1–50 of 230" with previous/next links built by `hrefAt(offset)`. */
export function pager(page, hrefAt) {
  const { total, offset, limit, rows } = page;
  if (!total) return null;
  const from = offset + 1;
  const to = offset + rows.length;
  return h('nav', { class: 'pager', 'aria-label': 'Pages' },
    h('span', { class: 'muted' }, `Showing ${num(from)}–${num(to)} of ${num(total)}`),
    offset > 0 ? h('a', { href: hrefAt(Math.max(0, offset - limit)), class: 'button' }, '← Previous') : null,
    to < total ? h('a', { href: hrefAt(offset + limit), class: 'button' }, 'Next →') : null);
}
