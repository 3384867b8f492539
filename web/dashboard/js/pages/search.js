import { h, card, time, kbs, orDash, link, routeWithQuery, computerLink, updateLink, num } from '../dom.js';
import { table } from '../tables.js';
import { approvalBadge } from '../labels.js';

// Fleet search: computers (name, address, client id) and updates (title, KB, id) in one request.

export async function searchPage(ctx) {
  const q = (ctx.query.get('q') ?? '').trim();
  const input = h('input', { type: 'search', name: 'q', value: q, placeholder: 'Computer name, IP, client id, update title, KB…', 'aria-label': 'Search the fleet', autofocus: true });
  const form = h('form', {
    class: 'filters search-form', role: 'search',
    onsubmit: (e) => {
      e.preventDefault();
      location.hash = routeWithQuery('search', { q: input.value.trim() });
    },
  }, input, h('button', { type: 'submit', class: 'button primary' }, 'Search'));
  if (!q) return { title: 'Search', body: [form, card(null, h('p', { class: 'empty' }, 'Type a computer name, an address, a client id, an update title or a KB number.'))] };
  const r = await ctx.get('/api/reports/search', { q });
  const computers = table([
    { title: 'Computer', cell: computerLink },
    { title: 'Address', cell: (c) => orDash(c.address) },
    { title: 'Groups', cell: (c) => (c.groups?.length ? c.groups.map((g, i) => [i ? ', ' : '', link(routeWithQuery('computers', { group: g }), g)]) : '—') },
    { title: 'OS', cell: (c) => orDash(c.os) },
    { title: 'Last contact', cell: (c) => time(c.lastContactAt) },
  ], r.computers, { emptyText: 'No computer matches.', label: 'Computers found' });
  const updates = table([
    { title: 'Update', cls: 'wrap', cell: updateLink },
    { title: 'KB', cell: (u) => kbs(u.kb) || '—' },
    { title: 'Classification', cell: (u) => orDash(u.classification) },
    { title: 'Arrived', cell: (u) => time(u.arrivedAt) },
    { title: 'Approval', cell: approvalBadge },
  ], r.updates, { emptyText: 'No update matches.', label: 'Updates found' });
  return {
    title: 'Search',
    subtitle: `Results for “${q}”`,
    body: [form, card(`Computers (${num(r.computers.length)})`, computers), card(`Updates (${num(r.updates.length)})`, updates)],
  };
}
