import { h, card, time, ago, kbs, num, pct, orDash, link, routeWithQuery, computerLink, updateLink } from '../dom.js';
import { stackedBar, legend } from '../charts.js';
import { table, pager } from '../tables.js';
import { reason, hresult, approvalBadge } from '../labels.js';
import { filterBar, apiQuery, csvButton, remember } from '../filters.js';

// The report lists (GET /api/reports/updates|computers|groups|failures|not-reporting): a filter bar
// that lives in the hash, one request, a table, paging and a CSV download of the same filters.

const rowsOf = (page) => (Array.isArray(page) ? page : page.rows ?? []);
const asPage = (page) => (Array.isArray(page) ? { total: page.length, offset: 0, limit: page.length, rows: page } : page);
/** The status counts every per-update and per-computer list ends with. */
const COUNT_COLUMNS = [
  { title: 'Needed', num: true, cell: (r) => num(r.counts.needed + r.counts.downloaded) },
  { title: 'Failed', num: true, cell: (r) => num(r.counts.failed) },
  { title: 'Reboot', num: true, cell: (r) => num(r.counts.pendingReboot) },
  { title: 'Installed', num: true, cell: (r) => num(r.counts.installed) },
  { title: 'Compliance', num: true, cell: (r) => pct(r.counts.compliancePercent) },
];
const miniBar = (name) => (r) => h('div', { class: 'mini-bar' }, stackedBar(r.counts, name(r)));
/** How deep a group sits below the groups listed with it (for indenting the tree). */
function depthOf(g, rows) {
  const byId = new Map(rows.map((r) => [r.groupId, r]));
  let d = 0;
  for (let p = byId.get(g.parentId); p && d < 16; p = byId.get(p.parentId)) d++;
  return d;
}
const groupLinks = (groups) => (groups?.length ? groups.map((g, i) => [i ? ', ' : '', link(routeWithQuery('computers', { group: g }), g)]) : '—');

function listPage({ path, api, title, fields, columns, csvName, emptyText, withLegend = true }) {
  return async (ctx) => {
    const q = apiQuery(ctx.query, fields);
    const page = asPage(await ctx.get(api, q));
    const hrefAt = (offset) => routeWithQuery(path, { ...q, offset: offset || undefined });
    return {
      title,
      actions: [csvButton(api, q, csvName)],
      body: [
        filterBar(path, ctx.query, fields),
        card(null,
          withLegend ? legend() : null,
          table(columns, rowsOf(page), { emptyText, label: title }),
          pager(page, hrefAt)),
      ],
    };
  };
}

export const updatesListPage = listPage({
  path: 'updates', api: '/api/reports/updates', title: 'Updates', csvName: 'updates.csv',
  fields: ['text', 'group', 'classification', 'state'],
  emptyText: 'No update matches these filters.',
  columns: [
    { title: 'Update', cls: 'wrap title-col', cell: (u) => [updateLink(u), u.kb?.length ? h('div', { class: 'muted small' }, kbs(u.kb)) : null] },
    { title: 'Classification', cell: (u) => { remember('classifications', [u.classification]); return orDash(u.classification); } },
    { title: 'Approval', cell: approvalBadge },
    { title: 'Status', cls: 'bar-cell', cell: miniBar((u) => u.title) },
    ...COUNT_COLUMNS,
  ],
});

export const computersListPage = listPage({
  path: 'computers', api: '/api/reports/computers', title: 'Computers', csvName: 'computers.csv',
  fields: ['text', 'group', 'classification', 'state'],
  emptyText: 'No computer matches these filters.',
  columns: [
    { title: 'Computer', cell: (c) => [computerLink(c), h('div', { class: 'muted small' }, orDash(c.address))] },
    { title: 'Groups', cell: (c) => { remember('groups', c.groups ?? []); return groupLinks(c.groups); } },
    { title: 'OS', cell: (c) => orDash(c.os) },
    { title: 'Last status', cell: (c) => h('span', { title: c.lastStatusAt ?? '' }, ago(c.lastStatusAt)) },
    { title: 'Status', cls: 'bar-cell', cell: miniBar((c) => c.name) },
    ...COUNT_COLUMNS,
  ],
});

export const groupsListPage = listPage({
  path: 'groups', api: '/api/reports/groups', title: 'Groups', csvName: 'groups.csv',
  fields: ['classification'],
  emptyText: 'No groups.',
  columns: [
    { title: 'Group', cell: (g, rows) => { remember('groups', [g.name]); return h('span', { class: `depth-${Math.min(depthOf(g, rows), 4)}` }, link(routeWithQuery('computers', { group: g.name }), g.name)); } },
    { title: 'Computers', num: true, cell: (g) => num(g.computers) },
    { title: 'Reporting', num: true, cell: (g) => num(g.reporting) },
    { title: 'Needing', num: true, cell: (g) => num(g.needing) },
    { title: 'Failing', num: true, cell: (g) => num(g.failing) },
    { title: 'Compliant', num: true, cell: (g) => num(g.compliant) },
    { title: 'Status', cls: 'bar-cell wide', cell: miniBar((g) => g.name) },
    { title: 'Compliance', num: true, cell: (g) => pct(g.counts.compliancePercent) },
  ],
});

export const failuresListPage = listPage({
  path: 'failures', api: '/api/reports/failures', title: 'Failures', csvName: 'failures.csv', withLegend: false,
  fields: ['text', 'group', 'classification'],
  emptyText: 'No failures reported.',
  columns: [
    { title: 'Computer', cell: (r) => computerLink(r.computer) },
    { title: 'Groups', cell: (r) => groupLinks(r.computer.groups) },
    { title: 'Update', cls: 'wrap', cell: (r) => [updateLink(r.update), r.update.kb?.length ? h('div', { class: 'muted small' }, kbs(r.update.kb)) : null] },
    { title: 'Classification', cell: (r) => orDash(r.update.classification) },
    { title: 'HRESULT', cell: (r) => hresult(r.hresult) },
    { title: 'Failed at', cell: (r) => time(r.failedAt) },
  ],
});

export const notReportingListPage = listPage({
  path: 'not-reporting', api: '/api/reports/not-reporting', title: 'Computers not reporting', csvName: 'not-reporting.csv', withLegend: false,
  fields: ['group', 'days'],
  emptyText: 'Every computer is reporting.',
  columns: [
    { title: 'Computer', cell: (c) => [computerLink(c), h('div', { class: 'muted small' }, orDash(c.address))] },
    { title: 'Groups', cell: (c) => groupLinks(c.groups) },
    { title: 'Why', cell: (c) => reason(c.reason, c.detail) },
    { title: 'Detail', cls: 'wrap', cell: (c) => orDash(c.detail) },
    { title: 'Silent', num: true, cell: (c) => `${num(c.silentDays)} d` },
    { title: 'Last contact', cell: (c) => time(c.lastContactAt) },
    { title: 'Last status', cell: (c) => time(c.lastStatusAt) },
  ],
});
