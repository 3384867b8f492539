import { h, card, facts, time, kbs, num, orDash, route, routeWithQuery, link, computerLink } from '../dom.js';
import { stackedBar, legend, countsTable } from '../charts.js';
import { table } from '../tables.js';
import { STATES, hresult, approvalBadge } from '../labels.js';

// One update: what it is, its status counts over the fleet, and which computers need it, failed
// it or wait for a reboot (GET /api/reports/updates/:ref).

function computersTable(state, group) {
  const cols = [
    { title: 'Computer', cell: computerLink },
    { title: 'Address', cell: (c) => orDash(c.address) },
    { title: 'Groups', cell: (c) => (c.groups?.length ? c.groups.map((g, i) => [i ? ', ' : '', link(routeWithQuery('computers', { group: g }), g)]) : '—') },
    { title: 'Last status', cell: (c) => time(c.lastStatusAt) },
  ];
  if (state === 'failed') cols.push({ title: 'HRESULT', cell: (c) => hresult(c.hresult) }, { title: 'Failed at', cell: (c) => time(c.failedAt) });
  return table(cols, group.rows, { more: group.more, label: `Computers: ${state}` });
}

export async function updateDetailPage(ctx) {
  const d = await ctx.get(`/api/reports/updates/${encodeURIComponent(ctx.params[0])}`);
  const u = d.update;
  const about = card('Update',
    facts([
      ['Update id', h('code', {}, u.updateId)],
      ['KB', kbs(u.kb) || '—'],
      ['Classification', u.classification ? link(routeWithQuery('updates', { classification: u.classification }), u.classification) : '—'],
      ['Products', u.products?.length ? u.products.join(', ') : '—'],
      ['MSRC severity', orDash(u.msrcSeverity)],
      ['Arrived', time(u.arrivedAt)],
      ['Approval', approvalBadge(u)],
      u.supersededBy?.length ? ['Superseded by', u.supersededBy.map((id, i) => [i ? ', ' : '', link(route('updates', id), id)])] : null,
    ]),
    u.description ? h('p', { class: 'description' }, u.description) : null);
  const status = card('Status over the fleet',
    stackedBar(d.counts, u.title, { tall: true }), legend(), countsTable(d.counts));
  const lists = STATES.filter(([k]) => d.computers?.[k]).map(([k, label]) =>
    card(`${label} (${num(d.computers[k].rows.length + (d.computers[k].more || 0))})`, computersTable(k, d.computers[k])));
  return {
    title: u.title,
    kicker: 'Update',
    subtitle: kbs(u.kb),
    body: [
      h('div', { class: 'grid detail' }, about, status),
      lists.length ? h('div', { class: 'stack' }, lists) : card('Computers', h('p', { class: 'empty' }, 'No computer has reported a status for this update yet.')),
    ],
  };
}
