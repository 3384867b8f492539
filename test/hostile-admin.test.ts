import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { adminCall, startHostileServer, type HostileServer } from './support/fuzz-server.js';
import { rawExchange, head } from './support/fuzz-http.js';
import { postSoap } from './support/wua-client.js';
import { formatAnchor } from '../src/core/server-sync/anchor.js';
import { DSS_AUTH_NS, DSS_AUTH_PATH, SERVER_SYNC_NS, SERVER_SYNC_PATH } from '../src/protocol/server-sync/namespaces.js';
import { dssAuthBody, getCookieBody, getDeploymentsBody } from '../src/upstream/server-sync-requests.js';

// Hostile admin API input with a valid admin token: JSON bodies, URLs and query strings that
// are not what the API takes. Each gets a 4xx with the error model's code, is logged and (on a
// change route) audited; nothing but audit rows is written and nothing ends in a 500.


const audited = (h: HostileServer, action: string): Array<{ outcome: string; actor_name: string }> =>
  h.server.db.prepare('SELECT outcome, actor_name FROM admin_audit WHERE action = ? ORDER BY id').all(action) as Array<{ outcome: string; actor_name: string }>;

test('hostile admin input: bodies, URLs and query strings that are not the API get 4xx, logged and audited, never a 500', async (t) => {
  const h = await startHostileServer({}, { catalog: false });
  t.after(() => h.close());
  const admin = h.server.adminDeps.tokens.create({ name: 'alice', role: 'admin', createdBy: 'test' }).token;
  const auth = { authorization: `Bearer ${admin}` };
  const json = { ...auth, 'content-type': 'application/json' };
  const before = h.counts();

  const bodies: Array<[string, Record<string, string>, string | Buffer, number]> = [
    ['not JSON', json, '{"name":', 400],
    ['JSON but not an object', json, '["fuzz"]', 400],
    ['a bare string', json, '"fuzz"', 400],
    ['not JSON content', { ...auth, 'content-type': 'text/plain' }, '{"name":"fuzz"}', 400],
    ['form encoding', { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, 'name=fuzz', 400],
    ['invalid UTF-8', json, Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xc0, 0x80, 0x22, 0x7d]), 400],
    ['over 1 MB', json, `{"name":"${'a'.repeat(1024 * 1024)}"}`, 413],
    ['200,000 nested arrays', json, `{"name":${'['.repeat(200_000)}${']'.repeat(200_000)}}`, 400],
    ['a toString member', json, '{"name":{"toString":1}}', 400],
    ['a __proto__ member', json, '{"name":"fuzz","__proto__":{"role":"admin"}}', 400],
    ['a constructor member', json, '{"name":"fuzz","parent":{"constructor":{"prototype":{"x":1}}}}', 400],
    ['the name as a number', json, '{"name":1e308}', 400],
    ['the name as an object', json, '{"name":{}}', 400],
    ['the name as a list', json, '{"name":["a","b"]}', 400],
  ];
  for (const [name, headers, body, status] of bodies) {
    const mark = h.logs.mark();
    const r = await adminCall(h, 'POST', '/api/groups', headers, body);
    assert.equal(r.status, status, `${name}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json?.code, 'InvalidInput', name);
    assert.equal(h.logs.find({ message: 'admin request', status, who: 'alice', action: 'groups.create' }, mark).length, 1, `${name}: logged`);
    assert.equal(audited(h, 'groups.create').at(-1)?.outcome, 'InvalidInput', `${name}: audited`);
  }

  // URLs and query strings.
  const urls: Array<[string, string, number]> = [
    ['a path that is not a URL', '//', 400],
    ['a host-like path with a bad port', '//x:99999/api/groups', 400],
    ['an unknown query parameter', '/api/updates?evil=1', 400],
    ['a malformed percent escape', '/api/updates?text=%ZZ', 200],
    ['a negative limit', '/api/updates?limit=-1', 400],
    ['an enormous limit', '/api/updates?limit=99999999999', 400],
    ['a bad path parameter escape', '/api/updates/%E0%A4%A', 404],
    ['a NUL in a path parameter', '/api/computers/%00', 404],
    ['dot segments', '/api/../api/tokens', 200],
  ];
  for (const [name, path, status] of urls) {
    const mark = h.logs.mark();
    const r = await rawExchange(h.server.admin.port, [head('GET', path, { Authorization: `Bearer ${admin}` })]);
    assert.equal(r.status, status, `${name}: ${r.raw.slice(0, 300)}`);
    assert.equal(h.logs.find({ message: 'admin request', status }, mark).length, 1, `${name}: logged`);
  }
  const longUrl = await rawExchange(h.server.admin.port, [head('GET', `/api/updates?text=${'a'.repeat(20_000)}`, { Authorization: `Bearer ${admin}` })]);
  assert.equal(longUrl.status, 431);

  const after = h.counts();
  assert.deepEqual({ ...after, admin_audit: 0 }, { ...before, admin_audit: 0 }, 'nothing but audit rows written');
  assert.equal(h.logs.records.filter((l) => l.level === 'error').length, 0, 'no unexpected error');
});

test('a group name with control characters (accepted from the admin API) still leaves GetDeployments well-formed', async (t) => {
  const h = await startHostileServer({}, { catalog: false });
  t.after(() => h.close());
  const admin = h.server.adminDeps.tokens.create({ name: 'alice', role: 'admin', createdBy: 'test' }).token;
  const created = await adminCall(h, 'POST', '/api/groups', { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, JSON.stringify({ name: 'lab\u0001\u001b[31m\uffff' }));
  assert.ok(created.status === 200 || created.status === 400, JSON.stringify(created.json));
  const dss = randomUUID();
  const auth = await postSoap(h.server.url, DSS_AUTH_PATH, `${DSS_AUTH_NS}/GetAuthorizationCookie`, dssAuthBody('dss.lab.invalid', dss), { xpress: false });
  const cookieData = /<CookieData>([^<]+)<\/CookieData>/.exec(auth.text)![1]!;
  const ck = await postSoap(h.server.url, SERVER_SYNC_PATH, `${SERVER_SYNC_NS}/GetCookie`, getCookieBody(cookieData, null, '1.20'), { xpress: false });
  const cookie = { expiration: /<Expiration>([^<]+)</.exec(ck.text)![1]!, encryptedData: /<EncryptedData>([^<]+)</.exec(ck.text)![1]! };
  const anchor = formatAnchor(0, new Date());
  // postSoap parses the answer with the strict reader: an ill-formed answer throws here.
  const r = await postSoap(h.server.url, SERVER_SYNC_PATH, `${SERVER_SYNC_NS}/GetDeployments`, getDeploymentsBody(cookie, anchor, anchor), { xpress: false });
  assert.equal(r.status, 200, r.text.slice(0, 300));
  if (created.status === 200) assert.match(r.text, /lab\uFFFD\uFFFD\[31m\uFFFD/, 'the characters XML cannot carry leave as U+FFFD');
});
