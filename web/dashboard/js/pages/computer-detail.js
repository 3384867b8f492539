import { h, card, facts, time, ago, kbs, num, orDash, link, routeWithQuery, updateLink } from '../dom.js';
import { stackedBar, legend, countsTable } from '../charts.js';
import { table } from '../tables.js';
import { STATES, hresult, approvalBadge } from '../labels.js';

// One computer: inventory, its update counts, its updates by state and its latest events
// (GET /api/reports/computers/:ref).

function updatesTable(state, group) {
  const cols = [
    { title: 'Update', cls: 'wrap', cell: updateLink },
    { title: 'KB', cell: (u) => kbs(u.kb) || '—' },
    { title: 'Classification', cell: (u) => orDash(u.classification) },
    { title: 'Approval', cell: approvalBadge },
  ];
  if (state === 'failed') cols.push({ title: 'HRESULT', cell: (u) => hresult(u.hresult) }, { title: 'Failed at', cell: (u) => time(u.failedAt) });
  return table(cols, group.rows, { more: group.more, label: `Updates: ${state}` });
}

export async function computerDetailPage(ctx) {
  const d = await ctx.get(`/api/reports/computers/${encodeURIComponent(ctx.params[0])}`);
  const c = d.computer;
  const inv = c.inventory ?? {};
  const who = card('Computer', facts([
    ['Client id', h('code', {}, c.clientId)],
    ['Address', orDash(c.address)],
    ['Groups', c.groups?.length ? c.groups.map((g, i) => [i ? ', ' : '', link(routeWithQuery('computers', { group: g }), g)]) : '—'],
    ['Registered', time(c.registeredAt)],
    ['Last contact', [time(c.lastContactAt), c.lastContactAt ? h('span', { class: 'muted' }, ` (${ago(c.lastContactAt)})`) : null]],
    ['Last scan', time(c.lastSyncAt)],
    ['Last status list', time(c.lastStatusAt)],
    ['Last report', time(c.lastReportAt)],
  ]));
  const inventory = card('Inventory', facts([
    ['Operating system', orDash(inv.osDescription ?? c.os)],
    ['OS version', orDash(inv.osVersion)],
    ['Locale', orDash(inv.osLocale)],
    ['Make / model', [inv.manufacturer, inv.model].filter(Boolean).join(' / ') || '—'],
    ['BIOS', [inv.biosName, inv.biosVersion, inv.biosReleaseDate].filter(Boolean).join(', ') || '—'],
    ['Architecture', orDash(inv.architecture)],
    ['Update agent', orDash(inv.clientVersion)],
  ]));
  const duplicate = c.duplicateOf?.length
    ? h('div', { class: 'notice warn', role: 'note' },
      h('strong', {}, 'Duplicate client id: '),
      'other machines use this SusClientId (a cloned image?): ',
      c.duplicateOf.map((o, i) => [i ? '; ' : '', `${o.name} (${o.address}, last seen `, time(o.lastSeenAt), ')']))
    : null;
  const status = card('Updates', stackedBar(d.counts, c.name, { tall: true }), legend(), countsTable(d.counts));
  const lists = STATES.filter(([k]) => d.updates?.[k]).map(([k, label]) =>
    card(`${label} (${num(d.updates[k].rows.length + (d.updates[k].more || 0))})`, updatesTable(k, d.updates[k])));
  const events = card('Recent events', table([
    { title: 'When', cell: (e) => time(e.at) },
    { title: 'Event', cell: (e) => [h('span', { class: 'event-id' }, String(e.eventId)), ' ', e.kind] },
    { title: 'Update', cls: 'wrap', cell: (e) => (e.updateId ? updateLink({ updateId: e.updateId, title: e.title || e.updateId }) : '—') },
    { title: 'HRESULT', cell: (e) => hresult(e.hresult) },
    { title: 'Detail', cls: 'wrap', cell: (e) => orDash(e.detail) },
  ], d.recentEvents ?? [], { emptyText: 'No events received from this computer.', label: 'Recent events' }));
  return {
    title: c.name || c.clientId,
    kicker: 'Computer',
    subtitle: [c.os ?? '', c.address ? ` · ${c.address}` : ''],
    body: [
      duplicate,
      h('div', { class: 'grid three' }, who, inventory, status),
      lists.length ? h('div', { class: 'stack' }, lists) : card('Updates by state', h('p', { class: 'empty' }, 'This computer has not reported a status list yet.')),
      events,
    ],
  };
}
