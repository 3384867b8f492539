import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { sealToken, TokenKind } from '../src/core/cookies/cookie-token.js';
import { child } from '../src/protocol/xml/xml-element.js';
import { CLIENT_NS, REPORTING_NS, SIMPLE_AUTH_NS } from '../src/protocol/soap/namespaces.js';
import { REPORTING_PATH } from '../src/protocol/server-sync/namespaces.js';
import { envelope, postSoap, reportingEvent, WuaClient } from './support/wua-client.js';
import { soapFault } from './support/fuzz-http.js';
import { startHostileServer, type HostileServer } from './support/fuzz-server.js';
import { CLIENT_PATH, SIMPLE_AUTH_PATH } from './support/fuzz-corpus.js';

// Forged client credentials: tampered, truncated, foreign, expired and hand-made cookies and
// authorization cookies, and a client reporting for another computer or replaying a batch.
// Each is refused with the fault the protocol names (or, for reports, stores nothing it
// should not), and the refusal is logged without the token in the log.

/** The base64 token with one bit flipped in byte `at` (negative: from the end). */
function flip(token: string, at: number): string {
  const b = Buffer.from(token, 'base64');
  const i = at < 0 ? b.length + at : at;
  b[i] = b[i]! ^ 0x01;
  return b.toString('base64');
}

async function fault(h: HostileServer, path: string, action: string, body: string): Promise<{ code: string; style: string; status: number }> {
  const r = await postSoap(h.server.url, path, action, body, { xpress: false });
  const f = soapFault(r.text);
  assert.ok(f, `not the real fault shape (${r.status}): ${r.text.slice(0, 300)}`);
  return { code: f.errorCode, style: f.style, status: r.status };
}

function syncBody(c: WuaClient, data: string): string {
  return envelope(c.syncRequest().replace(/<EncryptedData>[^<]*<\/EncryptedData>/, `<EncryptedData>${data}</EncryptedData>`));
}

/** Every cookie-bearing client operation with `data` as its cookie. */
function cookieCalls(c: WuaClient, data: string): Array<[string, string, string, string]> {
  const ck = `<cookie><Expiration>${c.expiration}</Expiration><EncryptedData>${data}</EncryptedData></cookie>`;
  const cl = (op: string, inner: string): [string, string, string, string] => [op, CLIENT_PATH, `${CLIENT_NS}/${op}`, envelope(`<${op} xmlns="${CLIENT_NS}">${inner}</${op}>`)];
  return [
    ['SyncUpdates', CLIENT_PATH, `${CLIENT_NS}/SyncUpdates`, syncBody(c, data)],
    cl('RegisterComputer', `${ck}<computerInfo><DnsName>forged.lab.invalid</DnsName></computerInfo>`),
    cl('SyncPrinterCatalog', ck),
    cl('RefreshCache', `${ck}<globalIDs/>`),
    cl('GetExtendedUpdateInfo', `${ck}<revisionIDs><int>1</int></revisionIDs><infoTypes><XmlUpdateFragmentType>Extended</XmlUpdateFragmentType></infoTypes>`),
    cl('GetFileLocations', `${ck}<fileDigests/>`),
    ['ReportEventBatch', REPORTING_PATH, `${REPORTING_NS}/ReportEventBatch`, envelope(`<ReportEventBatch xmlns="${REPORTING_NS}">${ck}<clientTime>2026-01-01T00:00:00Z</clientTime>` +
      `<eventBatch>${reportingEvent(c.clientId, 147, randomUUID())}</eventBatch></ReportEventBatch>`)],
  ];
}

async function expectRefused(h: HostileServer, c: WuaClient, name: string, data: string, code: string): Promise<void> {
  for (const [op, path, action, body] of cookieCalls(c, data)) {
    const mark = h.logs.mark();
    const f = await fault(h, path, action, body);
    assert.equal(f.code, code, `${name}: ${op}`);
    assert.equal(f.status, 500);
    const logged = h.logs.find({ message: 'SOAP fault', code, operation: op }, mark);
    assert.equal(logged.length, 1, `${name}: ${op} logged`);
    if (data.length > 8) assert.equal(JSON.stringify(h.logs.since(mark)).includes(data), false, `${name}: the token is not logged`);
  }
}

async function authCookieData(h: HostileServer, clientId: string): Promise<string> {
  const r = await postSoap(h.server.url, SIMPLE_AUTH_PATH, `${SIMPLE_AUTH_NS}/GetAuthorizationCookie`,
    envelope(`<GetAuthorizationCookie xmlns="${SIMPLE_AUTH_NS}"><clientId>${clientId}</clientId><dnsName>pc.lab.invalid</dnsName></GetAuthorizationCookie>`));
  return child(child(r.result, 'GetAuthorizationCookieResult'), 'CookieData')!.text;
}

function getCookieBody(authCookies: string[], oldCookie = ''): string {
  const now = new Date().toISOString();
  return envelope(`<GetCookie xmlns="${CLIENT_NS}"><authCookies>${authCookies.map((a) => `<AuthorizationCookie><PlugInId>SimpleTargeting</PlugInId><CookieData>${a}</CookieData></AuthorizationCookie>`).join('')}</authCookies>` +
    `<oldCookie><Expiration>${now}</Expiration>${oldCookie ? `<EncryptedData>${oldCookie}</EncryptedData>` : ''}</oldCookie><protocolVersion>2.90</protocolVersion></GetCookie>`);
}

test('client cookies: tampered, truncated, garbage, forged, of another kind, expired or of another server are refused and logged', async (t) => {
  const h = await startHostileServer();
  const other = await startHostileServer({}, { catalog: false });
  t.after(async () => {
    await other.close();
    await h.close();
  });
  const c = new WuaClient(h.server.url, randomUUID());
  await c.handshake();
  const before = h.counts();
  const token = c.cookie;
  const raw = Buffer.from(token, 'base64');
  const serverId = raw.subarray(1, 17);

  for (const [name, data] of [
    ['a bit flipped in the ciphertext', flip(token, 40)],
    ['a bit flipped in the nonce', flip(token, 20)],
    ['a bit flipped in the tag', flip(token, -1)],
    ['a bit flipped in the kind', flip(token, 0)],
    ['truncated to half', token.slice(0, Math.floor(token.length / 8) * 4)],
    ['truncated by 4 characters', token.slice(0, -4)],
    ['not base64', `${token.slice(0, 20)}@@@@${token.slice(24)}`],
    ['padding only', '===='],
    ['whitespace inside', `${token.slice(0, 16)} ${token.slice(16)}`],
    ['10 KB', 'A'.repeat(10_240)],
    ['our server id, a key of its own (forged)', Buffer.concat([Buffer.from([TokenKind.ClientCookie]), serverId, randomBytes(12 + 200 + 16)]).toString('base64')],
  ] as const) {
    await expectRefused(h, c, name, data, 'InvalidCookie');
  }
  // A well-formed token sealed with another key under our server id: the tag does not verify.
  const forged = sealToken({ serverId: h.server.adminDeps.serverId, key: randomBytes(32) }, TokenKind.ClientCookie, {
    clientId: c.clientId, targetGroups: '', dnsName: 'x', issuedAt: 0, expiresAt: 4e12, protocolVersion: '2.90', configLastChange: 0, watermark: 0,
  });
  await expectRefused(h, c, 'sealed with a guessed key', forged, 'InvalidCookie');
  // The authorization cookie is a different kind of token: not a session.
  await expectRefused(h, c, 'an authorization cookie', await authCookieData(h, c.clientId), 'InvalidCookie');
  await expectRefused(h, c, 'no cookie data', '', 'InvalidCookie');

  // The server id travels in clear (so a rebuilt or other server is recognised): changing it
  // reads as another server, and the client re-handshakes.
  await expectRefused(h, c, 'a bit flipped in the server id', flip(token, 5), 'ServerChanged');
  const stranger = new WuaClient(other.server.url, randomUUID());
  await stranger.handshake();
  await expectRefused(h, c, "another server's cookie", stranger.cookie, 'ServerChanged');

  // Expired: past its lifetime by the server's clock.
  h.clock.offsetMs = (h.config.cookieLifetimeSeconds + 60) * 1000;
  await expectRefused(h, c, 'expired', token, 'CookieExpired');
  h.clock.offsetMs = 0;

  assert.deepEqual(h.counts(), before, 'nothing stored for any forged cookie');
  assert.equal((await c.syncPage()).reply.status, 200, 'the genuine cookie still works');
  assert.equal(h.logs.records.filter((l) => l.level === 'error').length, 0);
});

test('GetCookie: tampered, forged, foreign or expired authorization cookies are InvalidAuthorizationCookie, and logged', async (t) => {
  const h = await startHostileServer({}, { catalog: false });
  const other = await startHostileServer({}, { catalog: false });
  t.after(async () => {
    await other.close();
    await h.close();
  });
  const clientId = randomUUID();
  const auth = await authCookieData(h, clientId);
  const c = new WuaClient(h.server.url, randomUUID());
  await c.handshake();
  const before = h.counts();
  const cases: Array<[string, string[], string]> = [
    ['a bit flipped', [flip(auth, 40)], 'InvalidAuthorizationCookie'],
    ['a bit flipped in the tag', [flip(auth, -1)], 'InvalidAuthorizationCookie'],
    ['truncated', [auth.slice(0, -8)], 'InvalidAuthorizationCookie'],
    ['garbage', ['@@@'], 'InvalidAuthorizationCookie'],
    ['empty', [''], 'InvalidAuthorizationCookie'],
    ['a client cookie in its place', [c.cookie], 'InvalidAuthorizationCookie'],
    ['sealed with a guessed key', [sealToken({ serverId: h.server.adminDeps.serverId, key: randomBytes(32) }, TokenKind.AuthorizationCookie,
      { clientId, targetGroups: 'Servers', dnsName: 'x', issuedAt: 0, expiresAt: 4e12 })], 'InvalidAuthorizationCookie'],
    ["another server's", [await authCookieData(other, clientId)], 'InvalidAuthorizationCookie'],
    ['two of them', [auth, auth], 'InvalidAuthorizationCookie'],
    ['none', [], 'InvalidAuthorizationCookie'],
  ];
  for (const [name, cookies, code] of cases) {
    const mark = h.logs.mark();
    const f = await fault(h, CLIENT_PATH, `${CLIENT_NS}/GetCookie`, getCookieBody(cookies));
    assert.equal(f.code, code, name);
    assert.equal(h.logs.find({ message: 'SOAP fault', code, operation: 'GetCookie' }, mark).length, 1, `${name}: logged`);
  }
  // oldCookie (a previous session cookie) tampered: InvalidCookie; another server's: ServerChanged (PROTOCOL.md, GetCookie).
  assert.equal((await fault(h, CLIENT_PATH, `${CLIENT_NS}/GetCookie`, getCookieBody([auth], flip(c.cookie, 40)))).code, 'InvalidCookie');
  const stranger = new WuaClient(other.server.url, randomUUID());
  await stranger.handshake();
  assert.equal((await fault(h, CLIENT_PATH, `${CLIENT_NS}/GetCookie`, getCookieBody([auth], stranger.cookie))).code, 'ServerChanged');
  // Expired authorization cookie.
  h.clock.offsetMs = (h.config.cookieLifetimeSeconds + 60) * 1000;
  assert.equal((await fault(h, CLIENT_PATH, `${CLIENT_NS}/GetCookie`, getCookieBody([auth]))).code, 'InvalidAuthorizationCookie');
  h.clock.offsetMs = 0;
  // The genuine one still works.
  const ok = await postSoap(h.server.url, CLIENT_PATH, `${CLIENT_NS}/GetCookie`, getCookieBody([auth]), { xpress: false });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(h.counts(), before);
});

test('reports: events naming another computer are stored for nobody, replays add nothing, and the spoof is logged', async (t) => {
  const h = await startHostileServer({}, { catalog: false });
  t.after(() => h.close());
  const a = new WuaClient(h.server.url, randomUUID());
  const b = new WuaClient(h.server.url, randomUUID());
  await a.handshake();
  await b.handshake();
  const eventsOf = (clientId: string): number => {
    h.server.flush();
    return h.server.db.prepare('SELECT count(*) FROM events WHERE client_id = ?').pluck().get(clientId) as number;
  };
  const ownerOf = (instance: string): unknown => h.server.db.prepare('SELECT client_id FROM events WHERE event_instance_id = ?').pluck().get(instance);

  // A's cookie, B's TargetID: accepted as a batch (as WSUS does) and stored for nobody.
  let mark = h.logs.mark();
  const spoofed = await a.report(reportingEvent(b.clientId, 147, randomUUID()) + reportingEvent(b.clientId.toUpperCase(), 183, randomUUID()));
  assert.equal(spoofed.status, 200);
  assert.equal(eventsOf(b.clientId), 0, 'nothing stored for the other computer');
  assert.equal(eventsOf(a.clientId), 0, 'nor for the sender under its own name');
  assert.equal(h.logs.find({ message: 'report events for another client ignored', clientId: a.clientId, level: 'warn' }, mark).length, 1, 'the spoof is logged');

  // A mixed batch: only the sender's own events are kept.
  const own = randomUUID();
  assert.equal((await a.report(reportingEvent(a.clientId, 147, own) + reportingEvent(b.clientId, 147, randomUUID()))).status, 200);
  assert.equal(eventsOf(a.clientId), 1);
  assert.equal(eventsOf(b.clientId), 0);

  // Replays: the same batch again, and A's event instance replayed by B under B's name.
  const batch = reportingEvent(a.clientId, 183, randomUUID()) + reportingEvent(a.clientId, 184, randomUUID());
  assert.equal((await a.report(batch)).status, 200);
  const afterFirst = eventsOf(a.clientId);
  for (let i = 0; i < 3; i++) assert.equal((await a.report(batch)).status, 200);
  assert.equal(eventsOf(a.clientId), afterFirst, 'a replayed batch adds no events');
  assert.equal((await b.report(reportingEvent(b.clientId, 147, own))).status, 200);
  assert.equal(ownerOf(own), a.clientId, "B cannot take over A's event by replaying its id");
  assert.equal(eventsOf(b.clientId), 0);

  // RegisterComputer with A's cookie names only A, whatever DnsName it claims.
  const computers = (): number => h.server.db.prepare('SELECT count(*) FROM computers').pluck().get() as number;
  const n = computers();
  mark = h.logs.mark();
  await a.call(CLIENT_PATH, `${CLIENT_NS}/RegisterComputer`, `<RegisterComputer xmlns="${CLIENT_NS}">${a.cookieXml()}<computerInfo><DnsName>${b.dnsName}</DnsName></computerInfo></RegisterComputer>`);
  assert.equal(computers(), n);
  assert.equal(h.logs.find({ message: 'computer registered', clientId: a.clientId }, mark).length, 1);
  assert.equal(h.logs.records.filter((l) => l.level === 'error').length, 0);
});
