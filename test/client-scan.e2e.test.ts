import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { withServer, importInto, adminHandle } from './support/test-server.js';
import { WuaClient, reportingEvent, postSoap, envelope } from './support/wua-client.js';
import { child } from '../src/protocol/xml/xml-element.js';

// Loopback tests of what a Windows client actually does against a running server: handshake,
// staged full scan, delta scan, metadata, approvals made from another process, reporting.

const catalog = generateCatalog({ updates: 60, seed: 42 });
const sources = [...catalog.documents].map((d) => ({ name: d.fileName, read: () => d.xml }));
const summary = catalog.summary;
const identityOf = (core: string): string => /^<UpdateIdentity UpdateID="([^"]+)"/.exec(core)![1]!.toLowerCase();

test('a client handshakes, scans in stages to completion, and a delta scan returns nothing new', async () => {
  await withServer({}, (config) => void importInto(config, sources), async (server) => {
    const c = new WuaClient(server.url, randomUUID());
    await c.handshake();
    const pages = await c.fullScan();
    assert.ok(pages >= 3, `staged scan needs several rounds (got ${pages})`);
    const ids = [...c.received.values()];
    assert.ok(ids.length > 100, `received ${ids.length} revisions`);
    for (const u of ids) {
      assert.match(u.lastChangeTime, /^\d{4}-\d{2}-\d{2}$/);
      assert.ok(u.core.startsWith('<UpdateIdentity '), 'Core fragment starts with UpdateIdentity');
    }
    // no update is offered before its prerequisites: every non-leaf arrives in an earlier round
    const actions = new Set(ids.map((u) => u.action));
    assert.ok(actions.has('Evaluate') && actions.has('PreDeploymentCheck') && actions.has('Bundle'), [...actions].join());
    assert.ok(!actions.has('Install'), 'nothing is approved yet');
    const expired = summary.interesting.expired!;
    assert.ok(!ids.some((u) => identityOf(u.core) === expired.updateId), 'expired update not delivered');

    const delta = await c.syncPage();
    assert.equal(delta.newUpdates.length, 0);
    assert.equal(delta.truncated, false);
    assert.equal(delta.outOfScope.length, 0);
    assert.equal(delta.changed.length, 0);
    assert.ok(delta.reply.wireBytes < delta.reply.text.length, 'xpress-compressed on the wire');
  });
});

test('an approval made from another process reaches the next scan as Install, with ChangedUpdates for cached clients', async () => {
  await withServer({}, (config) => void importInto(config, sources), async (server, config) => {
    const c = new WuaClient(server.url, randomUUID());
    await c.handshake();
    await c.fullScan();
    const bundle = summary.interesting.bundle!;
    const admin = adminHandle(config);
    try {
      admin.targeting.approve(bundle.updateId, 'All Computers', 'Install', '2026-12-24T00:00:00.000Z', 'test', new Date());
    } finally {
      admin.close();
    }
    const page = await c.syncPage();
    const changed = page.changed.find((u) => c.received.get(u.revisionId)?.core.toLowerCase().includes(bundle.updateId));
    assert.ok(changed, 'the approved bundle comes back in ChangedUpdates');
    assert.equal(changed.action, 'Install');
    assert.match(page.reply.text, /<Action>Install<\/Action><Deadline>2026-12-24T00:00:00.000Z<\/Deadline><IsAssigned>true<\/IsAssigned>/);
    // a fresh client gets it as a new update with Install
    const fresh = new WuaClient(server.url, randomUUID());
    await fresh.handshake();
    await fresh.fullScan();
    const got = [...fresh.received.values()].find((u) => u.core.toLowerCase().includes(`updateid="${bundle.updateId}"`));
    assert.equal(got?.action, 'Install');
    // the second sync after the change reports nothing changed any more
    assert.equal((await c.syncPage()).changed.length, 0);
  });
});

test('declined updates are withdrawn: cached clients are told they are out of scope', async () => {
  await withServer({}, (config) => void importInto(config, sources), async (server, config) => {
    const c = new WuaClient(server.url, randomUUID());
    await c.handshake();
    await c.fullScan();
    const target = summary.interesting.standalone!;
    const cached = [...c.received.values()].find((u) => u.core.toLowerCase().includes(`updateid="${target.updateId}"`));
    assert.ok(cached, 'standalone update was delivered');
    const admin = adminHandle(config);
    try {
      admin.targeting.setDeclined(target.updateId, true, new Date());
    } finally {
      admin.close();
    }
    const page = await c.syncPage();
    assert.ok(page.outOfScope.includes(cached.revisionId));
  });
});

test('GetExtendedUpdateInfo returns Extended and localized fragments and content locations on the request host', async () => {
  await withServer({}, (config) => void importInto(config, sources), async (server) => {
    const c = new WuaClient(server.url, randomUUID());
    await c.handshake();
    await c.fullScan();
    const leaves = [...c.received.values()].filter((u) => u.action === 'Bundle').map((u) => u.revisionId).slice(0, 50).sort((a, b) => a - b);
    const r = await c.extendedInfo(leaves);
    assert.equal(r.status, 200);
    const result = child(r.result, 'GetExtendedUpdateInfoResult')!;
    const updates = child(result, 'Updates')!.children;
    assert.equal(updates.length, leaves.length * 2, 'one Extended and one LocalizedProperties per revision');
    assert.ok(child(updates[0], 'Xml')!.text.startsWith('<ExtendedProperties'));
    assert.ok(child(updates[leaves.length], 'Xml')!.text.startsWith('<LocalizedProperties><Language>en</Language>'));
    const locs = child(result, 'FileLocations')!.children;
    assert.ok(locs.length > 0);
    for (const l of locs) {
      const digest = Buffer.from(child(l, 'FileDigest')!.text, 'base64').toString('hex').toUpperCase();
      assert.equal(child(l, 'Url')!.text.replace(/\.[a-z0-9]+$/i, ''), `http://127.0.0.1:${server.port}/Content/${digest.slice(-2)}/${digest}`);
    }
    const tooMany = await c.extendedInfo(Array.from({ length: 51 }, (_, i) => i + 1));
    assert.equal(tooMany.status, 500);
    assert.match(tooMany.text, /<ErrorCode>InvalidParameters<\/ErrorCode><Message>revisionIDs<\/Message>/);
  });
});

test('cookie rules: unregistered clients must register; tampered and foreign cookies are refused', async () => {
  await withServer({}, (config) => void importInto(config, sources), async (server) => {
    const c = new WuaClient(server.url, randomUUID());
    await c.handshake();
    const tampered = new WuaClient(server.url, c.clientId);
    tampered.expiration = c.expiration;
    const at = c.cookie.length - 40; // inside the ciphertext, past the clear server id
    tampered.cookie = c.cookie.slice(0, at) + (c.cookie[at] === 'A' ? 'B' : 'A') + c.cookie.slice(at + 1);
    await assert.rejects(tampered.syncPage(), /InvalidCookie/);
    // a cookie issued without registration
    const unregistered = new WuaClient(server.url, randomUUID());
    await unregistered.handshake();
    await withServer({}, () => undefined, async (other) => {
      const foreign = new WuaClient(other.url, randomUUID());
      await foreign.handshake();
      const moved = new WuaClient(server.url, foreign.clientId);
      moved.cookie = foreign.cookie;
      moved.expiration = foreign.expiration;
      await assert.rejects(moved.syncPage(), /ServerChanged/);
    });
  });
});

test('SyncUpdates without registration answers RegistrationRequired', async () => {
  await withServer({}, () => undefined, async (server) => {
    const c = new WuaClient(server.url, randomUUID());
    await c.handshake();
    // Forge the situation by using a fresh client id whose GetCookie happened but RegisterComputer did not.
    const lone = new WuaClient(server.url, randomUUID());
    const orig = lone.call.bind(lone);
    lone.call = async (path, action, inner) => (action.endsWith('/RegisterComputer') ? postSoap(server.url, '/ClientWebService/client.asmx', action, envelope('<x/>')) : orig(path, action, inner));
    await lone.handshake();
    await assert.rejects(lone.syncPage(), /RegistrationRequired/);
  });
});

test('reporting: events are stored once even when a batch is replayed, and only for the reporting client', async () => {
  await withServer({}, () => undefined, async (server, config) => {
    const c = new WuaClient(server.url, randomUUID());
    await c.handshake();
    const ids = [randomUUID(), randomUUID()];
    const batch = reportingEvent(c.clientId, 147, ids[0]!, undefined, ['U=', 'V=']) + reportingEvent(c.clientId, 183, ids[1]!, summary.interesting.bundle!.updateId) +
      reportingEvent(randomUUID(), 183, randomUUID());
    for (let i = 0; i < 2; i++) {
      const r = await c.report(batch);
      assert.equal(r.status, 200);
      assert.match(r.text, /<ReportEventBatchResult>true<\/ReportEventBatchResult>/);
    }
    server.flush();
    const admin = adminHandle(config);
    try {
      const n = (admin.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
      assert.equal(n, 2, 'two events of this client, stored once; the spoofed one dropped');
    } finally {
      admin.close();
    }
  });
});

test('"clients download from Microsoft Update": the upstream file URL is announced when the metadata has one', async () => {
  await withServer({ downloadFromMicrosoft: true }, (config) => {
    importInto(config, sources);
    const admin = adminHandle(config);
    try {
      admin.db.prepare("UPDATE files SET mu_url = 'http://download.windowsupdate.com/c/msdownload/update/software/' || lower(sha1_hex) || '.cab'").run();
    } finally {
      admin.close();
    }
  }, async (server) => {
    const c = new WuaClient(server.url, randomUUID());
    await c.handshake();
    await c.fullScan();
    const ids = [...c.received.values()].filter((u) => u.action === 'Bundle').map((u) => u.revisionId).slice(0, 20).sort((a, b) => a - b);
    const r = await c.extendedInfo(ids);
    const urls = child(child(r.result, 'GetExtendedUpdateInfoResult'), 'FileLocations')!.children.map((l) => child(l, 'Url')!.text);
    assert.ok(urls.length > 0);
    for (const u of urls) assert.match(u, /^http:\/\/download\.windowsupdate\.com\/c\/msdownload\/update\/software\/[0-9a-f]{40}\.cab$/);
  });
});
