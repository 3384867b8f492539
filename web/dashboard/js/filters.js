import { h, routeWithQuery } from './dom.js';
import { downloadCsv } from './api.js';
import { STATES } from './labels.js';

// The filter bar of the list pages: it only changes the hash (the page reloads from it), so a
// filtered view is a link one can bookmark or share. Group and classification names come from
// what this tab has already loaded (no extra request).

export const known = { groups: new Set(), classifications: new Set() };
export function remember(kind, names) {
  for (const n of names) if (n) known[kind].add(n);
}

function datalist(id, names) {
  return h('datalist', { id }, [...names].sort().map((n) => h('option', { value: n })));
}

/**
 * fields: subset of ['group', 'classification', 'state', 'text', 'days'].
 * Returns the form; submitting navigates to `#/<path>?<filters>`.
 */
export function filterBar(path, query, fields) {
  const inputs = {};
  const field = (name, label, control) => h('label', { class: 'filter' }, h('span', {}, label), control);
  const parts = [];
  if (fields.includes('text')) parts.push(field('text', 'Text', inputs.text = h('input', { type: 'search', name: 'text', value: query.get('text') ?? '', placeholder: 'Title, KB, name…' })));
  if (fields.includes('group')) {
    parts.push(field('group', 'Group', inputs.group = h('input', { type: 'text', name: 'group', list: 'known-groups', value: query.get('group') ?? '', placeholder: 'All computers' })));
    parts.push(datalist('known-groups', known.groups));
  }
  if (fields.includes('classification')) {
    parts.push(field('classification', 'Classification', inputs.classification = h('input', { type: 'text', name: 'classification', list: 'known-classifications', value: query.get('classification') ?? '', placeholder: 'All' })));
    parts.push(datalist('known-classifications', known.classifications));
  }
  if (fields.includes('state')) {
    const current = query.get('state') ?? '';
    parts.push(field('state', 'State', inputs.state = h('select', { name: 'state' },
      h('option', { value: '' }, 'Any state'),
      STATES.map(([k, label]) => h('option', { value: k, selected: k === current }, label)))));
  }
  if (fields.includes('days')) parts.push(field('days', 'Silent for (days)', inputs.days = h('input', { type: 'number', min: 1, max: 3650, name: 'days', value: query.get('days') ?? '' })));
  return h('form', {
    class: 'filters', role: 'search',
    onsubmit: (e) => {
      e.preventDefault();
      const next = {};
      for (const [k, el] of Object.entries(inputs)) next[k] = el.value.trim();
      location.hash = routeWithQuery(path, next);
    },
  }, parts, h('button', { type: 'submit', class: 'button primary' }, 'Apply'),
  h('a', { href: `#/${path}`, class: 'button' }, 'Clear'));
}

/** The API query of a list page: its filters from the hash, plus paging. */
export function apiQuery(query, fields) {
  const q = {};
  for (const f of fields) if (query.get(f)) q[f] = query.get(f);
  if (query.get('offset')) q.offset = query.get('offset');
  return q;
}

export function csvButton(apiPath, q, fileName) {
  const status = h('span', { class: 'muted csv-status', role: 'status' });
  const button = h('button', {
    type: 'button', class: 'button',
    onclick: async () => {
      button.disabled = true;
      status.textContent = 'Preparing…';
      try {
        const { offset, ...all } = q;
        await downloadCsv(apiPath, all, fileName);
        status.textContent = '';
      } catch (e) {
        status.textContent = `Download failed: ${e.message}`;
      } finally {
        button.disabled = false;
      }
    },
  }, 'Download CSV');
  return h('span', { class: 'csv' }, button, status);
}
