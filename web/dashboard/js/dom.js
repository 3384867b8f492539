// Building the page: every piece of data goes in as text (textContent / attributes set one by
// one), never as HTML, so nothing a client reported can become markup or script.

const SVG_NS = 'http://www.w3.org/2000/svg';

function setProps(el, props) {
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'style') throw new Error('inline styles are refused by the CSP: use a class');
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function appendAll(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** h('a', { href: '#/x', class: 'y' }, 'text', child…) */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  appendAll(el, children);
  return el;
}

export function s(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setProps(el, props);
  appendAll(el, children);
  return el;
}

export function replace(el, ...children) {
  el.replaceChildren();
  appendAll(el, children);
  return el;
}

/** A link to a dashboard page; the path parts are encoded so ids never change the route. */
export function route(...parts) {
  return `#/${parts.map((p) => encodeURIComponent(String(p))).join('/')}`;
}

export function routeWithQuery(path, query) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const qs = q.toString();
  return `#/${path}${qs ? `?${qs}` : ''}`;
}

export const link = (href, text, cls) => h('a', { href, class: cls }, text);
export const computerLink = (c) => link(route('computers', c.clientId), c.name || c.clientId);
export const updateLink = (u) => link(route('updates', u.updateId), u.title || u.updateId);

const pad = (n) => String(n).padStart(2, '0');

/** 2025-06-01 14:03 (local time); the ISO value goes in the tooltip */
export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h('span', {}, String(iso));
  const text = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return h('time', { datetime: iso, title: iso }, text);
}

export function ago(iso) {
  if (!iso) return 'never';
  const ms = Date.now() - new Date(iso).getTime();
  if (!Number.isFinite(ms)) return '';
  const m = Math.round(ms / 60000);
  if (m < 1) return 'just now';
  if (m < 60) return `${m} min ago`;
  const hrs = Math.round(m / 60);
  if (hrs < 48) return `${hrs} h ago`;
  return `${Math.round(hrs / 24)} days ago`;
}

export const num = (n) => (n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US'));
export const pct = (p) => (p === null || p === undefined ? '—' : `${Number(p).toFixed(p === 100 || p === 0 ? 0 : 1)}%`);
export const kbs = (kb) => (kb && kb.length ? kb.map((k) => (String(k).toUpperCase().startsWith('KB') ? k : `KB${k}`)).join(', ') : '');
export const orDash = (v) => (v === null || v === undefined || v === '' ? '—' : String(v));

export function card(title, ...body) {
  return h('section', { class: 'card' }, title ? h('h2', {}, title) : null, ...body);
}

export function empty(text) {
  return h('p', { class: 'empty' }, text);
}

/** A definition list of [label, value] pairs (value: text or a node). */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v === null || v === undefined || v === '' ? '—' : v)]));
}
