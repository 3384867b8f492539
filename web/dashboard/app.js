import { h, replace } from './js/dom.js';
import { AuthError, getJson, session } from './js/api.js';
import { signInView } from './js/signin.js';
import { overviewPage } from './js/pages/overview.js';
import { updateDetailPage } from './js/pages/update-detail.js';
import { computerDetailPage } from './js/pages/computer-detail.js';
import { searchPage } from './js/pages/search.js';
import { updatesListPage, computersListPage, groupsListPage, failuresListPage, notReportingListPage } from './js/pages/lists.js';

// The dashboard shell: hash routes (#/overview, #/updates/<id>, #/computers/<clientId>,
// #/search?q=…), the top bar, and one request per page view. Read-only: it only GETs reports.

const ROUTES = [
  { re: /^overview$/, page: overviewPage, nav: 'overview' },
  { re: /^updates$/, page: updatesListPage, nav: 'updates' },
  { re: /^updates\/([^/]+)$/, page: updateDetailPage, nav: 'updates' },
  { re: /^computers$/, page: computersListPage, nav: 'computers' },
  { re: /^computers\/([^/]+)$/, page: computerDetailPage, nav: 'computers' },
  { re: /^groups$/, page: groupsListPage, nav: 'groups' },
  { re: /^failures$/, page: failuresListPage, nav: 'failures' },
  { re: /^not-reporting$/, page: notReportingListPage, nav: 'not-reporting' },
  { re: /^search$/, page: searchPage, nav: 'search' },
];
const NAV = [['overview', 'Overview'], ['updates', 'Updates'], ['computers', 'Computers'], ['groups', 'Groups'], ['failures', 'Failures'], ['not-reporting', 'Not reporting']];

const root = document.getElementById('app');
let shell = null;
let renderSeq = 0;

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const i = raw.indexOf('?');
  const path = i < 0 ? raw : raw.slice(0, i);
  return { path, query: new URLSearchParams(i < 0 ? '' : raw.slice(i + 1)) };
}

function buildShell() {
  const who = session.who();
  const search = h('input', { type: 'search', name: 'q', placeholder: 'Search computers and updates', 'aria-label': 'Search computers and updates' });
  const navLinks = NAV.map(([key, label]) => h('a', { href: `#/${key}`, 'data-nav': key }, label));
  const main = h('main', { id: 'main', 'data-state': 'loading' });
  const el = h('div', { class: 'layout' },
    h('header', { class: 'topbar' },
      h('a', { class: 'brand', href: '#/overview' }, h('img', { src: 'favicon.svg', alt: '', width: 22, height: 22 }), 'WSUS'),
      h('nav', { class: 'nav', 'aria-label': 'Reports' }, navLinks),
      h('form', {
        class: 'top-search', role: 'search',
        onsubmit: (e) => {
          e.preventDefault();
          const q = search.value.trim();
          location.hash = `#/search?${new URLSearchParams({ q })}`;
          search.value = '';
        },
      }, search),
      h('div', { class: 'session' },
        h('span', { class: 'who', title: 'Signed in with this token' }, who ? `${who.name} · ${who.role}` : ''),
        h('button', { type: 'button', class: 'button', id: 'refresh', title: 'Load this page again', onclick: () => render() }, 'Refresh'),
        h('button', { type: 'button', class: 'button', id: 'signout', onclick: signOut }, 'Sign out'))),
    main);
  return { el, main, navLinks };
}

function signOut() {
  session.clear();
  shell = null;
  showSignIn('You are signed out.');
}

function showSignIn(message) {
  shell = null;
  document.title = 'Sign in · WSUS dashboard';
  replace(root, signInView(message, () => render()));
}

function pageHead(page) {
  return h('div', { class: 'page-head' },
    h('div', {},
      page.kicker ? h('div', { class: 'kicker' }, page.kicker) : null,
      h('h1', {}, page.title),
      page.subtitle ? h('div', { class: 'subtitle muted' }, page.subtitle) : null),
    page.actions ? h('div', { class: 'actions' }, page.actions) : null);
}

async function render() {
  const seq = ++renderSeq;
  if (!session.token()) return showSignIn();
  const { path, query } = parseHash();
  let params = null;
  const r = ROUTES.find((x) => (params = x.re.exec(path)) !== null);
  if (!r) {
    location.replace('#/overview');
    return;
  }
  if (!shell) {
    shell = buildShell();
    replace(root, shell.el);
  }
  for (const a of shell.navLinks) {
    a.classList.toggle('active', a.dataset.nav === r.nav);
    if (a.dataset.nav === r.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const { main } = shell;
  main.dataset.state = 'loading';
  main.dataset.page = r.nav;
  main.setAttribute('aria-busy', 'true');
  if (!main.firstChild) main.append(h('p', { class: 'loading muted' }, 'Loading…'));
  try {
    const ctx = { params: params.slice(1).map((p) => decodeURIComponent(p)), query, get: (p, q) => getJson(p, q) };
    const page = await r.page(ctx);
    if (seq !== renderSeq) return;
    document.title = `${page.title} · WSUS dashboard`;
    replace(main, pageHead(page), page.body);
    main.dataset.state = 'ready';
    main.dataset.render = String(seq);
    window.scrollTo(0, 0);
  } catch (e) {
    if (seq !== renderSeq) return;
    if (e instanceof AuthError) {
      session.clear();
      showSignIn(e.message ? `Signed out: ${e.message}. Sign in again.` : undefined);
      return;
    }
    replace(main, h('div', { class: 'page-head' }, h('h1', {}, 'Could not load this page')),
      h('div', { class: 'notice bad', role: 'alert' }, e.message || String(e)),
      h('p', {}, h('a', { href: '#/overview' }, 'Back to the overview')));
    main.dataset.state = 'error';
    main.dataset.render = String(seq);
  } finally {
    if (seq === renderSeq) main.removeAttribute('aria-busy');
  }
}

window.addEventListener('hashchange', () => render());
if (!location.hash) history.replaceState(null, '', '#/overview');
render();
