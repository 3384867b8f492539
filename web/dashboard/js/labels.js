import { h } from './dom.js';

// Words the pages share: state names, not-reporting reasons, sync states, HRESULTs.

/** API state names (STATE_NAMES) in the order the detail pages list them, with their labels. */
export const STATES = [
  ['failed', 'Failed'],
  ['needed', 'Needed'],
  ['downloaded', 'Downloaded'],
  ['pending-reboot', 'Installed, pending reboot'],
  ['installed', 'Installed'],
  ['not-applicable', 'Not applicable'],
  ['unknown', 'Unknown (no status)'],
];
export const stateLabel = (name) => STATES.find(([k]) => k === name)?.[1] ?? name;
export const stateClass = (name) => (name === 'pending-reboot' ? 'pending-reboot' : name);

const REASONS = {
  'never-reported': ['Never reported', 'Registered and scanned, but never sent a status report.'],
  'no-contact': ['No contact', 'Stopped contacting the server.'],
  'contacts-no-status': ['Scans, no status', 'Still scans but sends no status: is reporting blocked (WUStatusServer policy)?'],
  'duplicate-client-id': ['Duplicate client id', 'Several machines use this SusClientId (a cloned image).'],
};
export function reason(code, detail) {
  const [label, why] = REASONS[code] ?? [code, ''];
  return h('span', { class: `badge reason-${code}`, title: detail || why }, label);
}

export function syncBadge(state) {
  const s = String(state ?? 'never').toLowerCase();
  const cls = /fail|error/.test(s) ? 'bad' : /succe|ok|complete|done/.test(s) ? 'good' : /run|progress|start/.test(s) ? 'busy' : 'neutral';
  return h('span', { class: `badge ${cls}` }, s);
}

export const hresult = (hr) => (hr ? h('code', { class: 'hresult' }, hr) : h('span', { class: 'muted' }, '—'));

export function approvalBadge(u) {
  if (u.declined) return h('span', { class: 'badge neutral' }, 'Declined');
  return u.approved ? h('span', { class: 'badge good' }, 'Approved') : h('span', { class: 'badge muted-badge' }, 'Not approved');
}
