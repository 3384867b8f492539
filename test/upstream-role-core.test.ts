import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { deploymentGuid, derivedGuid, rollupResetGuid } from '../src/core/server-sync/derived-guid.js';
import { checkProtocolVersion, isAllowedDownstream, isDssAccountName, isGuid } from '../src/core/server-sync/dss-identity.js';
import { languageFingerprint, languageUpdateList, SYNC_LANGUAGES } from '../src/core/server-sync/sync-languages.js';
import {
  readDssAuthorizationCookie, readDssSyncCookie, sealToken, TokenKind,
} from '../src/core/cookies/cookie-token.js';
import { DomainError } from '../src/core/errors.js';

// Pure helpers of the upstream role: derived GUIDs, downstream identity checks, the language
// table and the two downstream token kinds.

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof DomainError, String(e));
    return e.code;
  }
  return 'no error';
};

test('derived GUIDs are stable per server, distinct per name, and RFC 4122 version 5', () => {
  const a = 'a0a08746-4dbe-4a37-9adf-9e7652c0b421';
  const b = 'b73ca6ed-5727-47f3-84de-015e03f6a88a';
  assert.equal(deploymentGuid(a, 1001), deploymentGuid(a, 1001));
  assert.notEqual(deploymentGuid(a, 1001), deploymentGuid(a, 1002));
  assert.notEqual(deploymentGuid(a, 1001), deploymentGuid(b, 1001));
  assert.notEqual(rollupResetGuid(a), rollupResetGuid(b));
  assert.equal(deploymentGuid(a.toUpperCase(), 7), deploymentGuid(a, 7));
  for (const g of [deploymentGuid(a, 1), rollupResetGuid(a), derivedGuid(b, '')]) {
    assert.match(g, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  }
  assert.throws(() => derivedGuid('not-a-guid', 'x'), RangeError);
});

test('downstream account names: FQDN characters only, 1-255', () => {
  for (const ok of ['wsus01', 'wsus01.corp.example.com', 'probe.lab.invalid', 'WSUS-02.Example.COM', 'host_name.example', 'a.b.']) {
    assert.ok(isDssAccountName(ok), ok);
  }
  for (const bad of ['', ' wsus', 'wsus 01', 'wsus/01', '-wsus', 'wsus-', 'a..b', '.a', 'wsus;drop', 'ws\u00fcs', 'a'.repeat(256), '<x>']) {
    assert.ok(!isDssAccountName(bad), bad);
  }
  assert.ok(isGuid('6F1C2F6E-3F0B-4D3A-9B1E-0D2F6A1C5E12'));
  assert.ok(!isGuid('{6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12}'));
});

test('the allow-list admits by GUID or FQDN, or anyone with *', () => {
  const id = '6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12';
  assert.ok(isAllowedDownstream(['*'], id, 'x.example'));
  assert.ok(isAllowedDownstream([id], id.toUpperCase(), 'x.example'));
  assert.ok(isAllowedDownstream(['x.example'], randomUUID(), 'X.Example.'));
  assert.ok(!isAllowedDownstream(['y.example', randomUUID()], id, 'x.example'));
  assert.ok(!isAllowedDownstream([], id, 'x.example'));
});

test('protocol versions: "x.y" with major 1', () => {
  assert.deepEqual(checkProtocolVersion('1.20'), { ok: true, major: 1, minor: 20 });
  assert.deepEqual(checkProtocolVersion('1.3'), { ok: true, major: 1, minor: 3 });
  for (const bad of [undefined, '', '1', '1.', '1.2.3', 'v1.2', ' 1.2', '1.x']) assert.deepEqual(checkProtocolVersion(bad), { ok: false, reason: 'format' }, String(bad));
  assert.deepEqual(checkProtocolVersion('2.0'), { ok: false, reason: 'major' });
  assert.deepEqual(checkProtocolVersion('0.9'), { ok: false, reason: 'major' });
});

test('the language list starts with "all" and flags what this server holds', () => {
  const list = languageUpdateList(new Set(['en', 'de', 'xx']));
  assert.deepEqual(list[0], { id: 0, short: 'all', long: 'all', enabled: false });
  assert.equal(list.length, SYNC_LANGUAGES.length + 1);
  assert.deepEqual(list.filter((l) => l.enabled).map((l) => l.short), ['de', 'en']);
  assert.deepEqual(list.find((l) => l.id === 1033), { id: 1033, short: 'en', long: 'English', enabled: true });
  assert.equal(languageUpdateList(new Set(SYNC_LANGUAGES.map((l) => l.short)))[0]!.enabled, true);
  assert.equal(languageFingerprint(new Set(['fr', 'en', 'xx'])), 'en,fr');
  assert.equal(new Set(SYNC_LANGUAGES.map((l) => l.id)).size, SYNC_LANGUAGES.length);
});

test('downstream tokens open to the same fields and are checked field by field', () => {
  const keys = { serverId: randomUUID(), key: randomBytes(32) };
  const auth = { dssId: randomUUID(), fqdn: 'dss.example', issuedAt: 1, expiresAt: 2 };
  const sync = { ...auth, protocolVersion: '1.20' };
  assert.deepEqual(readDssAuthorizationCookie(keys, sealToken(keys, TokenKind.DssAuthorizationCookie, auth)), auth);
  assert.deepEqual(readDssSyncCookie(keys, sealToken(keys, TokenKind.DssSyncCookie, sync)), sync);
  // The kinds do not stand in for each other, nor for client cookies.
  assert.equal(code(() => readDssSyncCookie(keys, sealToken(keys, TokenKind.DssAuthorizationCookie, auth))), 'InvalidCookie');
  assert.equal(code(() => readDssAuthorizationCookie(keys, sealToken(keys, TokenKind.DssSyncCookie, sync))), 'InvalidAuthorizationCookie');
  assert.equal(code(() => readDssSyncCookie(keys, sealToken(keys, TokenKind.ClientCookie, sync))), 'InvalidCookie');
  // A field of the wrong type is refused even though the token authenticates.
  assert.equal(code(() => readDssSyncCookie(keys, sealToken(keys, TokenKind.DssSyncCookie, { ...sync, expiresAt: '2' }))), 'InvalidCookie');
  assert.equal(code(() => readDssAuthorizationCookie(keys, sealToken(keys, TokenKind.DssAuthorizationCookie, { ...auth, dssId: 5 }))), 'InvalidAuthorizationCookie');
  // Another server's: ServerChanged for a session cookie, a fresh authorization for an authorization cookie.
  const other = { serverId: randomUUID(), key: randomBytes(32) };
  assert.equal(code(() => readDssSyncCookie(keys, sealToken(other, TokenKind.DssSyncCookie, sync))), 'ServerChanged');
  assert.equal(code(() => readDssAuthorizationCookie(keys, sealToken(other, TokenKind.DssAuthorizationCookie, auth))), 'InvalidAuthorizationCookie');
});
