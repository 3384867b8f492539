import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { sealToken, TokenKind } from '../src/core/cookies/cookie-token.js';
import { child } from '../src/protocol/xml/xml-element.js';
import { SIMPLE_AUTH_NS } from '../src/protocol/soap/namespaces.js';
import { DSS_AUTH_NS, DSS_AUTH_PATH, REPORTING_PATH, SERVER_SYNC_NS, SERVER_SYNC_PATH } from '../src/protocol/server-sync/namespaces.js';
import {
  dssAuthBody, downloadFilesBody, envelope as syncEnvelope, getConfigDataBody, getCookieBody, getDeploymentsBody, getRevisionIdListBody,
  ROLLUP_DUMMY_COOKIE, updateIdsBody, type WireCookie,
} from '../src/upstream/server-sync-requests.js';
import { envelope, postSoap } from './support/wua-client.js';
import { soapFault } from './support/fuzz-http.js';
import { startHostileServer, type HostileServer } from './support/fuzz-server.js';
import { SIMPLE_AUTH_PATH } from './support/fuzz-corpus.js';
import { tempDataDir } from './support/test-server.js';

// Forged downstream servers against the upstream role: a server not on
// upstreamRole.allowedDownstreams, tampered, foreign, expired and misused DSS cookies, a
// downstream dropped from the list while its cookie is still out, and rollups claiming a
// server that never authenticated. Each is refused with the MS-WSUSSS fault and logged.

const ALLOWED = '6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12';
const FQDN = 'dss.lab.invalid';

function flip(token: string, at: number): string {
  const b = Buffer.from(token, 'base64');
  const i = at < 0 ? b.length + at : at;
  b[i] = b[i]! ^ 0x01;
  return b.toString('base64');
}

async function call(h: HostileServer, path: string, op: string, body: string): Promise<{ status: number; text: string; code: string | null; message: string | null }> {
  const ns = path === DSS_AUTH_PATH ? DSS_AUTH_NS : SERVER_SYNC_NS;
  const r = await postSoap(h.server.url, path, `${ns}/${op}`, body, { xpress: false });
  const f = soapFault(r.text);
  if (r.status === 500) assert.ok(f && f.style === 'asmx', `${op}: not the real fault shape: ${r.text.slice(0, 300)}`);
  return { status: r.status, text: r.text, code: f?.errorCode ?? null, message: f?.message ?? null };
}

async function authorize(h: HostileServer, dssId: string, fqdn = FQDN): Promise<string> {
  const r = await call(h, DSS_AUTH_PATH, 'GetAuthorizationCookie', dssAuthBody(fqdn, dssId));
  assert.equal(r.status, 200, r.text);
  return /<CookieData>([^<]+)<\/CookieData>/.exec(r.text)![1]!;
}

async function syncCookie(h: HostileServer, auth: string): Promise<WireCookie> {
  const r = await call(h, SERVER_SYNC_PATH, 'GetCookie', getCookieBody(auth, null, '1.20'));
  assert.equal(r.status, 200, r.text);
  return { expiration: /<Expiration>([^<]+)<\/Expiration>/.exec(r.text)![1]!, encryptedData: /<EncryptedData>([^<]+)<\/EncryptedData>/.exec(r.text)![1]! };
}

/** Every ServerSync operation that opens the session, with `c` as its cookie. */
function sessionCalls(c: WireCookie): Array<[string, string]> {
  const ids = [{ updateId: randomUUID(), revisionNumber: 1 }];
  return [
    ['GetConfigData', getConfigDataBody(c, null)],
    ['GetRevisionIdList', getRevisionIdListBody(c, { anchor: null, getConfig: true, get63LanguageOnly: false, categories: null, classifications: null, languages: null })],
    ['GetUpdateData', updateIdsBody('GetUpdateData', c, ids)],
    ['GetUpdateDecryptionData', updateIdsBody('GetUpdateDecryptionData', c, ids)],
    ['GetDeployments', getDeploymentsBody(c, null, '2026-01-01T00:00:00.000Z')],
    ['DownloadFiles', downloadFilesBody(c, [Buffer.alloc(20).toString('base64')])],
    ['GetRelatedRevisionsForUpdates', syncEnvelope('GetRelatedRevisionsForUpdates',
      `<cookie><Expiration>${c.expiration}</Expiration><EncryptedData>${c.encryptedData}</EncryptedData></cookie><updateIDs><guid>${ids[0]!.updateId}</guid></updateIDs>`)],
  ];
}

async function expectSessionRefused(h: HostileServer, name: string, c: WireCookie, code: string, detail?: RegExp): Promise<void> {
  for (const [op, body] of sessionCalls(c)) {
    const mark = h.logs.mark();
    const r = await call(h, SERVER_SYNC_PATH, op, body);
    assert.equal(r.code, code, `${name}: ${op}: ${r.text.slice(0, 200)}`);
    const logged = h.logs.find({ message: 'SOAP fault', code, operation: op, service: 'ServerSyncWebService' }, mark);
    assert.equal(logged.length, 1, `${name}: ${op} logged`);
    if (detail) assert.match(String(logged[0]!.detail), detail, name);
    if (c.encryptedData.length > 8) assert.equal(JSON.stringify(h.logs.since(mark)).includes(c.encryptedData), false, 'the token is not logged');
  }
}

const downstreams = (h: HostileServer): unknown[] => h.server.db.prepare('SELECT server_id, rollup FROM downstream_servers ORDER BY server_id').all();

test('downstream servers: the allow-list, and forged, tampered, foreign and expired DSS cookies', async (t) => {
  const h = await startHostileServer({ upstreamRole: { allowedDownstreams: [ALLOWED] } }, { catalog: false });
  const other = await startHostileServer({}, { catalog: false });
  t.after(async () => {
    await other.close();
    await h.close();
  });

  // Not on the list: refused at DssAuth (InvalidParameters naming accountGuid, as WSUS), logged with the fix, nothing recorded.
  const stranger = randomUUID();
  let mark = h.logs.mark();
  let r = await call(h, DSS_AUTH_PATH, 'GetAuthorizationCookie', dssAuthBody('evil.lab.invalid', stranger));
  assert.equal(r.code, 'InvalidParameters');
  assert.equal(r.message, 'accountGuid');
  const warned = h.logs.find({ level: 'warn', serverId: stranger, message: /not in upstreamRole\.allowedDownstreams/ }, mark);
  assert.equal(warned.length, 1, 'the refusal is logged, naming the server and the setting');
  assert.deepEqual(downstreams(h), [], 'a refused downstream is not recorded');
  // Malformed identities.
  assert.equal((await call(h, DSS_AUTH_PATH, 'GetAuthorizationCookie', dssAuthBody(FQDN, 'not-a-guid'))).message, 'accountGuid');
  assert.equal((await call(h, DSS_AUTH_PATH, 'GetAuthorizationCookie', dssAuthBody('bad name!', ALLOWED))).message, 'machineName');

  const auth = await authorize(h, ALLOWED.toUpperCase());
  const cookie = await syncCookie(h, auth);
  assert.equal((await call(h, SERVER_SYNC_PATH, 'GetConfigData', getConfigDataBody(cookie, null))).status, 200, 'the allowed downstream syncs');
  const before = h.counts();

  // GetCookie with authorization cookies that are not ours to honour.
  const simpleAuth = await postSoap(h.server.url, SIMPLE_AUTH_PATH, `${SIMPLE_AUTH_NS}/GetAuthorizationCookie`,
    envelope(`<GetAuthorizationCookie xmlns="${SIMPLE_AUTH_NS}"><clientId>${randomUUID()}</clientId><dnsName>pc</dnsName></GetAuthorizationCookie>`));
  const clientAuth = child(child(simpleAuth.result, 'GetAuthorizationCookieResult'), 'CookieData')!.text;
  const otherAuth = await authorize(other, ALLOWED);
  const forgedAuth = sealToken({ serverId: h.server.adminDeps.serverId, key: randomBytes(32) }, TokenKind.DssAuthorizationCookie,
    { dssId: stranger, fqdn: 'evil.lab.invalid', issuedAt: 0, expiresAt: 4e12 });
  for (const [name, data] of [
    ['a bit flipped', flip(auth, 40)], ['truncated', auth.slice(0, -8)], ['garbage', '@@@@'], ['a client authorization cookie', clientAuth],
    ["another server's", otherAuth], ['forged for a server not on the list', forgedAuth], ['a session cookie in its place', cookie.encryptedData],
  ] as const) {
    mark = h.logs.mark();
    r = await call(h, SERVER_SYNC_PATH, 'GetCookie', getCookieBody(data, null, '1.20'));
    assert.equal(r.code, 'InvalidAuthorizationCookie', name);
    assert.equal(h.logs.find({ message: 'SOAP fault', code: 'InvalidAuthorizationCookie', operation: 'GetCookie' }, mark).length, 1, `${name}: logged`);
  }
  r = await call(h, SERVER_SYNC_PATH, 'GetCookie', getCookieBody(auth, null, '1.20').replace('DssTargeting', 'SimpleTargeting'));
  assert.deepEqual([r.code, r.message], ['InvalidParameters', 'authCookies'], 'only the DssTargeting plug-in');

  // Session cookies: tampered, truncated, of another kind or another server, missing.
  const otherCookie = await syncCookie(other, otherAuth);
  for (const [name, data] of [
    ['a bit flipped in the ciphertext', flip(cookie.encryptedData, 40)], ['a bit flipped in the tag', flip(cookie.encryptedData, -1)],
    ['a bit flipped in the kind', flip(cookie.encryptedData, 0)], ['truncated', cookie.encryptedData.slice(0, -8)], ['not base64', '%%%%'],
    ['the authorization cookie', auth], ['a client authorization cookie', clientAuth],
    ['forged', sealToken({ serverId: h.server.adminDeps.serverId, key: randomBytes(32) }, TokenKind.DssSyncCookie,
      { dssId: ALLOWED, fqdn: FQDN, protocolVersion: '1.20', issuedAt: 0, expiresAt: 4e12 })],
  ] as const) {
    await expectSessionRefused(h, name, { expiration: cookie.expiration, encryptedData: data }, 'InvalidCookie');
  }
  await expectSessionRefused(h, 'no cookie', { expiration: cookie.expiration, encryptedData: '' }, 'InvalidCookie');
  await expectSessionRefused(h, "another server's cookie", otherCookie, 'ServerChanged');
  h.clock.offsetMs = (h.config.upstreamRole.cookieLifetimeMinutes + 5) * 60_000;
  await expectSessionRefused(h, 'expired', cookie, 'CookieExpired');
  r = await call(h, SERVER_SYNC_PATH, 'GetCookie', getCookieBody(auth, null, '1.20'));
  assert.equal(r.code, 'InvalidAuthorizationCookie', 'an expired authorization cookie');
  h.clock.offsetMs = 0;

  // Rollups with the spec's dummy cookie must name a server that authenticated here and is allowed.
  const rollup = (parent: string): string => syncEnvelope('GetOutOfSyncComputers', `${ROLLUP_DUMMY_COOKIE}<parentServerId>${parent}</parentServerId>` +
    '<lastRollupNumbers><ComputerLastRollupNumber><ComputerId>pc1</ComputerId><RollupNumber>1</RollupNumber></ComputerLastRollupNumber></lastRollupNumbers>');
  for (const parent of [stranger, randomUUID()]) {
    r = await call(h, REPORTING_PATH, 'GetOutOfSyncComputers', rollup(parent));
    assert.equal(r.code, 'InvalidCookie', `rollup claiming ${parent}`);
  }
  r = await call(h, REPORTING_PATH, 'RollupComputers', syncEnvelope('RollupComputers', `${ROLLUP_DUMMY_COOKIE}<computers><ComputerRollupInfo ComputerId="pc1" ParentServerId="${stranger}"/></computers>`));
  assert.equal(r.code, 'InvalidCookie');

  assert.deepEqual(h.counts(), before, 'nothing stored for any forged downstream');
  assert.equal(h.logs.records.filter((l) => l.level === 'error').length, 0);
});

test('a downstream dropped from the allow-list is refused with the cookie it still holds', async (t) => {
  const tmp = tempDataDir();
  t.after(() => tmp.cleanup());
  const dropped = randomUUID();
  const open = await startHostileServer({ upstreamRole: { allowedDownstreams: ['*'] } }, { dataDir: tmp.dir });
  let cookie: WireCookie;
  try {
    cookie = await syncCookie(open, await authorize(open, dropped));
  } finally {
    await open.close();
  }
  const h = await startHostileServer({ upstreamRole: { allowedDownstreams: [ALLOWED] } }, { dataDir: tmp.dir });
  t.after(() => h.close());
  const before = h.counts();
  await expectSessionRefused(h, 'dropped from the list', cookie, 'InvalidCookie', /no longer allowed/);
  // Its rollups with the dummy cookie are refused too, though it authenticated here before.
  const r = await call(h, REPORTING_PATH, 'GetOutOfSyncComputers', syncEnvelope('GetOutOfSyncComputers',
    `${ROLLUP_DUMMY_COOKIE}<parentServerId>${dropped}</parentServerId><lastRollupNumbers/>`));
  assert.equal(r.code, 'InvalidCookie');
  const auth = await call(h, DSS_AUTH_PATH, 'GetAuthorizationCookie', dssAuthBody(FQDN, dropped));
  assert.equal(auth.message, 'accountGuid');
  assert.deepEqual(h.counts(), before);
});
