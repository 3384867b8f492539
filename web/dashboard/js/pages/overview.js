import { h, card, link, routeWithQuery, time, ago, num, computerLink, updateLink, empty } from '../dom.js';
import { barChart, legend } from '../charts.js';
import { table } from '../tables.js';
import { reason, syncBadge, hresult } from '../labels.js';
import { remember } from '../filters.js';

// The overview: the last sync, the headline counters, compliance by classification and by group,
// the computers that stopped reporting and the latest failures — one request.

function stat(label, value, href, tone) {
  const body = [h('span', { class: 'stat-value' }, value), h('span', { class: 'stat-label' }, label)];
  return href ? h('a', { class: ['stat', tone], href }, body) : h('div', { class: ['stat', tone] }, body);
}

function lastSync(s) {
  const tone = !s ? 'warn' : s.error || /fail|error/i.test(s.state) ? 'bad' : null;
  return h('div', { class: ['stat', 'sync-stat', tone] },
    h('span', { class: 'stat-label' }, 'Last sync'),
    h('span', { class: 'sync-line' }, syncBadge(s ? s.state : 'never')),
    h('span', { class: 'stat-label' }, s?.finishedAt ? [time(s.finishedAt), ` · ${ago(s.finishedAt)}`] : s ? 'not finished' : 'no synchronization has run yet'));
}

export async function overviewPage(ctx) {
  const o = await ctx.get('/api/reports/overview');
  remember('groups', o.byGroup.map((g) => g.name));
  remember('classifications', o.byClassification.map((c) => c.name));
  const c = o.computers;
  const u = o.updates;
  const counters = h('section', { class: 'stats', 'aria-label': 'Headline counters' },
    stat('Computers', num(c.total), '#/computers'),
    stat('Reporting', num(c.reporting), '#/computers'),
    stat('Needing updates', num(c.needing), routeWithQuery('computers', { state: 'needed' }), c.needing ? 'warn' : null),
    stat('With failures', num(c.failing), routeWithQuery('computers', { state: 'failed' }), c.failing ? 'bad' : null),
    stat(`Not reporting (${c.staleAfterDays}+ days)`, num(c.notReporting), '#/not-reporting', c.notReporting ? 'warn' : null),
    lastSync(o.lastSync),
    stat('Updates', num(u.total), '#/updates'),
    stat('Approved', num(u.approved), '#/updates'),
    stat('Needed by a computer', num(u.needed), routeWithQuery('updates', { state: 'needed' }), u.needed ? 'warn' : null),
    stat('Failed somewhere', num(u.failed), routeWithQuery('updates', { state: 'failed' }), u.failed ? 'bad' : null));

  const byClass = o.byClassification.length
    ? barChart(o.byClassification.map((r) => ({
      label: link(routeWithQuery('updates', { classification: r.name }), r.name), name: r.name, counts: r.counts, note: `${num(r.updates)} updates`,
    })), { title: 'Compliance by classification' })
    : empty('No updates yet.');
  const byGroup = o.byGroup.length
    ? barChart(o.byGroup.map((g) => ({
      label: link(routeWithQuery('computers', { group: g.name }), g.name), name: g.name, counts: g.counts,
      note: `${num(g.computers)} computers, ${num(g.reporting)} reporting, ${num(g.compliant)} compliant`,
    })), { title: 'Compliance by group' })
    : empty('No groups.');

  const notReporting = table([
    { title: 'Computer', cell: computerLink },
    { title: 'Why', cell: (r) => reason(r.reason, r.detail) },
    { title: 'Silent', num: true, cell: (r) => `${num(r.silentDays)} d` },
    { title: 'Last contact', cell: (r) => time(r.lastContactAt) },
  ], o.notReporting, { emptyText: 'Every computer is reporting.', label: 'Computers not reporting' });

  const failures = table([
    { title: 'Computer', cell: (r) => computerLink(r.computer) },
    { title: 'Update', cls: 'wrap', cell: (r) => updateLink(r.update) },
    { title: 'HRESULT', cell: (r) => hresult(r.hresult) },
    { title: 'When', cell: (r) => time(r.failedAt) },
  ], o.recentFailures, { emptyText: 'No failures reported.', label: 'Recent failures' });

  return {
    title: 'Overview',
    subtitle: ['Generated ', time(o.generatedAt)],
    body: [
      o.lastSync?.error ? h('div', { class: 'notice bad', role: 'alert' }, h('strong', {}, 'The last sync failed: '), o.lastSync.error) : null,
      counters,
      h('div', { class: 'grid two' },
        card('Compliance by classification', legend(), byClass),
        card('Compliance by group', legend(), byGroup)),
      h('div', { class: 'grid two' },
        card('Computers not reporting', notReporting, h('p', { class: 'card-foot' }, link('#/not-reporting', 'All computers not reporting →'))),
        card('Recent failures', failures, h('p', { class: 'card-foot' }, link('#/failures', 'All failures →')))),
    ],
  };
}
