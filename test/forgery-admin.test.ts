import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adminRoutes } from '../src/admin/admin-routes.js';
import { createRouteTable } from '../src/admin/admin-route-table.js';
import { createAdminTokensStore } from '../src/store/admin-tokens.store.js';
import { hashToken } from '../src/services/admin/admin-tokens.service.js';
import { adminCall, startHostileServer, type HostileServer } from './support/fuzz-server.js';

// Forged and misused admin credentials: no token, unknown, revoked and expired tokens, tokens
// where a bearer header belongs (query string, cookie, Basic), a reporter token on every
// change route. Each refusal is logged (and audited where it reached a change route); nothing
// changes.


/** Every change and upload route of the admin API, with its parameters filled in. */
function changeRoutes(h: HostileServer): Array<{ method: string; path: string; action: string }> {
  const table = createRouteTable();
  for (const register of adminRoutes) register(table.router, h.server.adminDeps);
  return table.routes().filter((r) => r.kind !== 'read').map((r) => ({
    method: r.method, path: r.segments.map((s) => (s.startsWith(':') ? '1' : s)).join('/').replace(/^/, '/'), action: r.action!,
  }));
}

const audited = (h: HostileServer, action: string): Array<{ outcome: string; actor_name: string }> =>
  h.server.db.prepare('SELECT outcome, actor_name FROM admin_audit WHERE action = ? ORDER BY id').all(action) as Array<{ outcome: string; actor_name: string }>;

test('admin tokens: none, unknown, revoked, expired or in the wrong place is 401; a reporter on any change route is 403; all logged, refusals audited', async (t) => {
  const h = await startHostileServer({}, { catalog: false });
  t.after(() => h.close());
  const tokens = h.server.adminDeps.tokens;
  const admin = tokens.create({ name: 'alice', role: 'admin', createdBy: 'test' }).token;
  const reporter = tokens.create({ name: 'grafana', role: 'reporter', createdBy: 'test' }).token;
  const revoked = tokens.create({ name: 'old-ci', role: 'admin', createdBy: 'test' });
  tokens.revoke(revoked.info.id);
  createAdminTokensStore(h.server.db).insert({ name: 'expired', role: 'admin', hash: hashToken('wsus_expired-token-of-the-forgery-test'), createdAt: '2020-01-01T00:00:00.000Z', createdBy: 'test', expiresAt: '2020-02-01T00:00:00.000Z' });
  const before = h.counts();

  const unauthorized: Array<[string, string, Record<string, string>]> = [
    ['no token', '/api/tokens', {}],
    ['unknown token', '/api/tokens', { authorization: 'Bearer wsus_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }],
    ['revoked token', '/api/tokens', { authorization: `Bearer ${revoked.token}` }],
    ['expired token', '/api/tokens', { authorization: 'Bearer wsus_expired-token-of-the-forgery-test' }],
    ['admin token one character short', '/api/tokens', { authorization: `Bearer ${admin.slice(0, -1)}` }],
    ['two tokens', '/api/tokens', { authorization: `Bearer ${reporter} ${admin}` }],
    ['Basic scheme', '/api/tokens', { authorization: `Basic ${Buffer.from(`alice:${admin}`).toString('base64')}` }],
    ['token in the query string', `/api/tokens?token=${admin}`, {}],
    ['access_token in the query string', `/api/tokens?access_token=${admin}`, {}],
    ['authorization in the query string', `/api/tokens?authorization=Bearer%20${admin}`, {}],
    ['token in a cookie', '/api/tokens', { cookie: `token=${admin}; authorization=Bearer ${admin}` }],
    ['token in another header', '/api/tokens', { 'x-api-key': admin, 'proxy-authorization': `Bearer ${admin}` }],
    ['unknown token on a change route', '/api/groups', { authorization: 'Bearer wsus_nope', 'content-type': 'application/json' }],
  ];
  for (const [name, path, headers] of unauthorized) {
    const mark = h.logs.mark();
    const method = path === '/api/groups' ? 'POST' : 'GET';
    const r = await adminCall(h, method, path, headers, method === 'POST' ? '{"name":"evil"}' : undefined);
    assert.equal(r.status, 401, name);
    assert.equal(r.json?.code, 'Unauthorized', name);
    assert.match(String(r.wwwAuth), /^Bearer/, name);
    const line = h.logs.find({ message: 'admin request', status: 401, outcome: 'Unauthorized', who: null }, mark);
    assert.equal(line.length, 1, `${name}: logged`);
    assert.equal(JSON.stringify(h.logs.since(mark)).includes(admin), false, `${name}: the token is not logged`);
  }

  // A reporter token on every change route: 403, audited under the reporter's name, logged, nothing done.
  const routes = changeRoutes(h);
  assert.ok(routes.length >= 25, `all change routes found (${routes.length})`);
  for (const route of routes) {
    const mark = h.logs.mark();
    const r = await adminCall(h, route.method, route.path, { authorization: `Bearer ${reporter}`, 'content-type': 'application/json' }, '{"whatIf":false}');
    assert.equal(r.status, 403, `${route.method} ${route.path}`);
    assert.equal(r.json?.code, 'Forbidden');
    assert.deepEqual(audited(h, route.action).at(-1), { outcome: 'Forbidden', actor_name: 'grafana' }, `${route.action} audited`);
    assert.equal(h.logs.find({ message: 'admin request', status: 403, outcome: 'Forbidden', who: 'grafana', action: route.action }, mark).length, 1, `${route.action} logged`);
  }
  // Reads stay open to reporters.
  assert.equal((await adminCall(h, 'GET', '/api/groups', { authorization: `Bearer ${reporter}` })).status, 200);

  const after = h.counts();
  assert.equal(after.admin_audit, before.admin_audit + routes.length, 'exactly one audit row per refused change');
  assert.deepEqual({ ...after, admin_audit: 0 }, { ...before, admin_audit: 0 }, 'nothing else changed');
  assert.equal(h.logs.records.filter((l) => l.level === 'error').length, 0);
});
