import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { startServer, type RunningServer } from '../src/app/server.js';
import { adminHandle, importInto, quietLog, tempDataDir, testConfig } from './support/test-server.js';
import { WuaClient } from './support/wua-client.js';
import { browserSkipReason, launchBrowser, screenshot, type TestBrowser } from './support/browser.js';

// The web dashboard end to end: a real server seeded by simulated Windows Update clients that
// register, scan and report status (156 lists, a 182 failure with its HRESULT) through the real
// SOAP endpoints; the static files as the admin listener serves them; and every page in headless
// Chromium, signed in with a reporter token, with a screenshot of each in test-results/dashboard/.

const catalog = generateCatalog({ updates: 24, seed: 7 });
const sources = [...catalog.documents].map((d) => ({ name: d.fileName, read: () => d.xml }));
const HRESULT = '0x80246007';
const HOSTILE_NAME = '<img src=x onerror=alert(1)>.corp.test';

interface Listed { updateId: string; title: string; kb: string[]; bundleMember: boolean; classifications: string[] }

/** A ReportingEvent as the agent sends it (fresh EventInstanceID, upper-case ids in MiscData lists). */
function reportEvent(clientId: string, eventId: number, o: { updateId?: string; misc?: string[]; hresult?: number; at?: Date } = {}): string {
  const esc = (v: string): string => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<ReportingEvent><BasicData><TargetID><Sid>${clientId}</Sid></TargetID><SequenceNumber>0</SequenceNumber>` +
    `<TimeAtTarget>${(o.at ?? new Date()).toISOString()}</TimeAtTarget><EventInstanceID>${randomUUID()}</EventInstanceID><NamespaceID>1</NamespaceID>` +
    `<EventID>${eventId}</EventID><SourceID>101</SourceID><UpdateID><UpdateID>${o.updateId ?? '00000000-0000-0000-0000-000000000000'}</UpdateID><RevisionNumber>200</RevisionNumber></UpdateID>` +
    `<Win32HResult>${(o.hresult ?? 0) | 0}</Win32HResult><AppName>AutomaticUpdates</AppName></BasicData><ExtendedData><ReplacementStrings><string>0</string></ReplacementStrings>` +
    `<MiscData>${(o.misc ?? []).map((m) => `<string>${esc(m)}</string>`).join('')}</MiscData></ExtendedData><PrivateData/></ReportingEvent>`;
}

const ids = (list: Listed[]): string => list.map((u) => u.updateId.toUpperCase()).join(';');

/** A raw GET whose path is sent exactly as written (fetch would normalise `..`). */
function rawGet(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard static files on the admin listener', () => {
  let tmp: ReturnType<typeof tempDataDir>;
  let server: RunningServer;
  let base: string;
  before(async () => {
    tmp = tempDataDir();
    server = await startServer(testConfig(tmp.dir), quietLog);
    base = server.admin.url;
  });
  after(async () => {
    await server.close();
    tmp.cleanup();
  });

  it('serves the page without a token, with a strict CSP, nosniff, caching by ETag and correct types', async () => {
    const root = await fetch(`${base}/`, { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/dashboard/');
    assert.equal((await fetch(`${base}/dashboard`, { redirect: 'manual' })).headers.get('location'), '/dashboard/');

    const index = await fetch(`${base}/dashboard/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(index.headers.get('content-security-policy'), "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'");
    assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    const html = await index.text();
    assert.match(html, /<script type="module" src="app.js"><\/script>/);
    assert.doesNotMatch(html, /https?:\/\//, 'nothing from the internet: no CDN, no external fonts');

    const etag = index.headers.get('etag')!;
    assert.ok(etag);
    assert.equal((await fetch(`${base}/dashboard/`, { headers: { 'if-none-match': etag } })).status, 304);

    for (const [path, type] of [['/dashboard/app.js', 'text/javascript; charset=utf-8'], ['/dashboard/style.css', 'text/css; charset=utf-8'],
      ['/dashboard/js/pages/overview.js', 'text/javascript; charset=utf-8'], ['/dashboard/favicon.svg', 'image/svg+xml']] as const) {
      const r = await fetch(`${base}${path}`);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers.get('content-type'), type, path);
      const text = await r.text();
      if (path.endsWith('.js')) assert.doesNotMatch(text, /\.innerHTML\s*=|insertAdjacentHTML|document\.write/, `${path} builds the DOM from text only`);
    }
    assert.equal((await fetch(`${base}/dashboard/`, { method: 'POST' })).status, 405);
    assert.equal((await fetch(`${base}/dashboard/nothing.js`)).status, 404);
    // the data stays behind the token
    assert.equal((await fetch(`${base}/api/reports/overview`)).status, 401);
  });

  it('refuses paths outside web/dashboard', async () => {
    const pkg = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    assert.match(pkg, /"name": "wsus-ts"/);
    for (const path of ['/dashboard/../package.json', '/dashboard/%2e%2e/package.json', '/dashboard/..%2fpackage.json', '/dashboard/js/..%2f..%2f..%2fpackage.json',
      '/dashboard/%2e%2e%2f%2e%2e%2fpackage.json', '/dashboard/..\\..\\package.json', '/dashboard/.%2e/.%2e/package.json', '/dashboard/%00', '/dashboard/.hidden',
      '/dashboard//etc/passwd', '/dashboard/js/../../../../etc/passwd']) {
      const r = await rawGet(base, path);
      assert.notEqual(r.status, 200, `${path} → ${r.status}`);
      assert.ok(!r.body.includes('"wsus-ts"') && !r.body.includes('root:'), `${path} leaked a file`);
    }
  });
});

const skip = await browserSkipReason();

describe('dashboard in headless Chromium against a seeded server', { skip: skip ? `skipped: ${skip}` : false }, () => {
  let tmp: ReturnType<typeof tempDataDir>;
  let server: RunningServer;
  let browser: TestBrowser;
  let page: Page;
  let base: string;
  let adminToken: string;
  let reporterToken: string;
  let reporterId: number;
  let needed: Listed[];
  let installed: Listed[];
  let failedUpdate: Listed;
  let rebootUpdate: Listed;
  const clients: Record<string, WuaClient> = {};
  const requested: string[] = [];

  const api = async (method: string, path: string, body?: unknown): Promise<any> => {
    const res = await fetch(`${base}${path}`, {
      method, headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };

  const register = async (name: string): Promise<WuaClient> => {
    // (the simulated client writes the name into its XML as it is)
    const c = new WuaClient(server.url, randomUUID(), { dnsName: name.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') });
    await c.handshake();
    await c.fullScan();
    clients[name] = c;
    return c;
  };

  /** Runs `action` and waits until the dashboard rendered the page it leads to. */
  const go = async (action: () => Promise<unknown>, pageName?: string): Promise<void> => {
    // Each finished render stamps its number; wait for a newer one (the CSP forbids eval, so no waitForFunction).
    const before = (await page.getAttribute('main#main', 'data-render', { timeout: 1 }).catch(() => null)) ?? '0';
    await action();
    await page.waitForSelector(`main#main[data-render]:not([data-render="${before}"]):not([data-state=loading])`);
    const state = await page.getAttribute('main#main', 'data-state');
    assert.equal(state, 'ready', `page failed: ${await page.textContent('main#main')}`);
    if (pageName) assert.equal(await page.getAttribute('main#main', 'data-page'), pageName);
  };
  const visit = (hash: string, pageName?: string): Promise<void> => go(() => page.evaluate(`location.hash = ${JSON.stringify(hash)}`), pageName);
  const mainText = async (): Promise<string> => (await page.textContent('main#main')) ?? '';
  const shot = (name: string): Promise<string> => screenshot(page, 'dashboard', name);

  before(async () => {
    tmp = tempDataDir();
    const config = testConfig(tmp.dir);
    importInto(config, sources);
    server = await startServer(config, quietLog);
    base = server.admin.url;
    adminToken = server.adminDeps.tokens.create({ name: 'lead', role: 'admin', createdBy: 'test' }).token;
    const reporter = server.adminDeps.tokens.create({ name: 'grafana', role: 'reporter', createdBy: 'test' });
    reporterToken = reporter.token;
    reporterId = reporter.info.id;

    // Six real updates of the catalog, approved for everyone so the clients are offered them.
    const listed = (await api('GET', '/api/updates?limit=500')).updates as Listed[];
    const leaves = listed.filter((u) => !u.bundleMember && u.kb.length > 0).slice(0, 6);
    assert.equal(leaves.length, 6, 'the fixture catalog has six updates with a KB');
    await api('POST', '/api/updates/approve', { updates: leaves.map((u) => u.updateId), groups: ['All Computers'], action: 'install' });
    needed = leaves.slice(0, 2);
    installed = leaves.slice(2, 4);
    failedUpdate = leaves[4]!;
    rebootUpdate = leaves[5]!;

    await api('POST', '/api/groups', { name: 'Ring0' });
    const pc01 = await register('pc01.corp.test');
    const pc02 = await register('pc02.corp.test');
    const pc03 = await register('pc03.corp.test');
    await register('pc04.corp.test');
    const hostile = await register(HOSTILE_NAME);
    await api('POST', '/api/computers/move', { computers: [pc01.clientId, pc02.clientId], group: 'Ring0' });

    // (client times after the updates arrived: a status list older than an update says nothing about it)
    const scanAt = new Date();
    const later = new Date(scanAt.getTime() + 1000);
    // pc01: two needed, two installed, one failed (156 lists, then 182 with the HRESULT), one needing a reboot
    await pc01.report(
      reportEvent(pc01.clientId, 156, { at: scanAt, misc: [`U=${ids([...needed, failedUpdate, rebootUpdate])}`, `V=${ids(installed)}`] }) +
      reportEvent(pc01.clientId, 182, { at: later, updateId: failedUpdate.updateId, hresult: 0x80246007, misc: ['Installation Failure'] }) +
      reportEvent(pc01.clientId, 184, { at: later, updateId: rebootUpdate.updateId }));
    // pc02: one needed, the rest installed
    await pc02.report(reportEvent(pc02.clientId, 156, { at: scanAt, misc: [`U=${ids(needed.slice(0, 1))}`, `V=${ids([...needed.slice(1), ...installed, failedUpdate, rebootUpdate])}`] }));
    // pc03: everything installed
    await pc03.report(reportEvent(pc03.clientId, 156, { at: scanAt, misc: ['U=', `V=${ids([...needed, ...installed, failedUpdate, rebootUpdate])}`] }));
    await hostile.report(reportEvent(hostile.clientId, 156, { at: scanAt, misc: [`U=${ids(needed)}`, `V=${ids(installed)}`] }));
    // pc04 scanned long ago and never reported
    server.flush();
    const h = adminHandle(config);
    try {
      h.db.prepare("UPDATE computers SET registered_at = '2025-01-01T00:00:00.000Z', last_sync_at = '2025-01-02T00:00:00.000Z' WHERE client_id = ?").run(clients['pc04.corp.test']!.clientId);
    } finally {
      h.close();
    }

    browser = await launchBrowser();
    page = browser.page;
    page.on('request', (r) => requested.push(r.url()));
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    tmp?.cleanup();
  });

  it('asks for a token and refuses a bad one with a message', async () => {
    await page.goto(`${base}/`);
    assert.match(page.url(), /\/dashboard\/#\/overview$/);
    await page.waitForSelector('#token');
    await shot('signin');
    await page.fill('#token', 'wsus_not-a-real-token');
    await page.click('.signin-form button[type=submit]');
    await page.waitForSelector('#signin-error:has-text("refused")');
    assert.match((await page.textContent('#signin-error'))!, /refused.*unknown or revoked/);
    await shot('signin-error');
  });

  it('overview: counters, compliance charts by classification and group, not reporting, recent failures with the HRESULT', async () => {
    await page.fill('#token', reporterToken);
    await go(() => page.click('.signin-form button[type=submit]'), 'overview');
    assert.match((await page.textContent('.who'))!, /grafana · reporter/);
    const text = await mainText();
    assert.match(text, /5\s*Computers/);
    assert.ok(text.includes('Ring0'), 'the group chart names Ring0');
    assert.ok(text.includes(failedUpdate.classifications[0] ?? ''), 'the classification chart names the failed update\'s classification');
    assert.ok(text.includes(HRESULT));
    assert.ok(text.includes('pc04.corp.test'), 'pc04 is listed as not reporting');
    assert.ok(await page.isVisible(`text=${failedUpdate.title}`));
    // charts are SVG with accessible labels
    const labels = await page.$$eval('svg.bar[role=img]', (els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
    assert.ok(labels.some((l) => /^Ring0: .*installed.*needed/.test(l)), labels.join('\n'));
    await shot('overview');
  });

  it('update detail: status counts and the computers that failed, need it or wait for a reboot', async () => {
    await go(() => page.click(`.card:has-text("Recent failures") a:has-text("${failedUpdate.title}")`), 'updates');
    assert.equal(await page.textContent('h1'), failedUpdate.title);
    const text = await mainText();
    assert.match(text, /Failed \(1\)/);
    assert.ok(text.includes('pc01.corp.test'));
    assert.ok(text.includes(HRESULT));
    assert.match(text, /Installed \(2\)/, 'pc02 and pc03 installed it');
    await shot('update');
  });

  it('computer detail: inventory, counts, updates by state and recent events', async () => {
    await go(() => page.click('.card:has-text("Failed (1)") a:has-text("pc01.corp.test")'), 'computers');
    assert.equal(await page.textContent('h1'), 'pc01.corp.test');
    const text = await mainText();
    for (const want of ['QEMU', 'Standard PC', 'AMD64', 'Ring0', HRESULT, needed[0]!.title, installed[0]!.title, rebootUpdate.title]) assert.ok(text.includes(want), `shows ${want}`);
    assert.match(text, /Needed \(2\)/);
    assert.match(text, /Installed, pending reboot \(1\)/);
    assert.match(text, /Recent events/);
    assert.match(text, /182/);
    await shot('computer');
  });

  it('search: computers and updates from the top bar, with links to their pages', async () => {
    await go(async () => {
      await page.fill('.top-search input', 'pc02');
      await page.press('.top-search input', 'Enter');
    }, 'search');
    assert.ok((await mainText()).includes('pc02.corp.test'));
    await go(async () => {
      await page.fill('.search-form input', `KB${needed[0]!.kb[0]!.replace(/^KB/i, '')}`);
      await page.press('.search-form input', 'Enter');
    }, 'search');
    assert.ok((await mainText()).includes(needed[0]!.title));
    await shot('search');
    await go(() => page.click(`a:has-text("${needed[0]!.title}")`), 'updates');
    assert.equal(await page.textContent('h1'), needed[0]!.title);
  });

  it('lists: updates and computers with filters, groups, failures, not reporting; CSV download', async () => {
    await visit('#/updates', 'updates');
    let text = await mainText();
    for (const u of [...needed, ...installed, failedUpdate]) assert.ok(text.includes(u.title), `lists ${u.title}`);
    await shot('updates');
    await go(async () => {
      await page.selectOption('select[name=state]', 'failed');
      await page.click('.filters button[type=submit]');
    }, 'updates');
    assert.match(page.url(), /#\/updates\?state=failed$/);
    text = await mainText();
    assert.ok(text.includes(failedUpdate.title));
    assert.ok(!text.includes(installed[0]!.title), 'the state filter applies');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Download CSV")')]);
    const csv = readFileSync((await download.path())!, 'utf8');
    assert.ok(csv.includes(failedUpdate.title), csv);

    await visit('#/computers?group=Ring0', 'computers');
    text = await mainText();
    assert.ok(text.includes('pc01.corp.test') && text.includes('pc02.corp.test'));
    assert.ok(!text.includes('pc03.corp.test'), 'the group filter applies');
    await shot('computers');

    await visit('#/groups', 'groups');
    assert.ok((await mainText()).includes('Ring0'));
    await shot('groups');
    await visit('#/failures', 'failures');
    text = await mainText();
    assert.ok(text.includes(HRESULT) && text.includes('pc01.corp.test'));
    await shot('failures');
    await visit('#/not-reporting', 'not-reporting');
    assert.ok((await mainText()).includes('pc04.corp.test'));
    await shot('not-reporting');
  });

  it('shows data as text: a hostile computer name is not markup', async () => {
    await visit('#/search?q=onerror', 'search');
    assert.ok((await mainText()).includes(HOSTILE_NAME));
    assert.equal(await page.$$eval('main img[src=x]', (els) => els.length), 0);
  });

  it('never puts the token in a URL, has no console or CSP errors, and a revoked token returns to sign-in', async () => {
    assert.ok(requested.length > 10);
    for (const u of requested) assert.ok(!u.includes(reporterToken) && !u.includes('wsus_'), `token in ${u}`);
    assert.deepEqual(browser.errors.filter((e) => !/status of 40[14]/.test(e)), []);

    await api('DELETE', `/api/tokens/${reporterId}`);
    await page.click('#refresh');
    await page.waitForSelector('#signin-error:has-text("Sign in again")');
    assert.match((await page.textContent('#signin-error'))!, /revoked/);
    assert.equal(await page.evaluate<number>('sessionStorage.length'), 0);

    // sign in again (an admin token works too), then sign out
    await page.fill('#token', adminToken);
    await go(() => page.click('.signin-form button[type=submit]'));
    await page.click('#signout');
    await page.waitForSelector('#token');
    assert.equal(await page.evaluate<number>('sessionStorage.length'), 0);
  });
});
