import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readClientCookie, readAuthorizationCookie, sealToken, TokenKind } from '../src/core/cookies/cookie-token.js';
import { DomainError } from '../src/core/errors.js';

const keys = { serverId: randomUUID(), key: randomBytes(32) };
const cookie = {
  clientId: 'e1da06a3-5601-43c9-bac3-52d5db701494', targetGroups: '', dnsName: 'pc1', issuedAt: 1, expiresAt: 2,
  protocolVersion: '2.90', configLastChange: 3, watermark: 4,
};

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof DomainError);
    return e.code;
  }
  return 'no error';
};

test('a sealed cookie opens to the same fields', () => {
  assert.deepEqual(readClientCookie(keys, sealToken(keys, TokenKind.ClientCookie, cookie)), cookie);
});

test('tampering, truncation and garbage are InvalidCookie', () => {
  const t = Buffer.from(sealToken(keys, TokenKind.ClientCookie, cookie), 'base64');
  t[t.length - 20]! ^= 1;
  assert.equal(code(() => readClientCookie(keys, t.toString('base64'))), 'InvalidCookie');
  assert.equal(code(() => readClientCookie(keys, 'AAAA')), 'InvalidCookie');
  assert.equal(code(() => readClientCookie(keys, 'not base64 !')), 'InvalidCookie');
  assert.equal(code(() => readClientCookie(keys, 'A'.repeat(10_000))), 'InvalidCookie');
});

test('a token from another server or a rebuilt database is ServerChanged', () => {
  const other = { serverId: randomUUID(), key: randomBytes(32) };
  assert.equal(code(() => readClientCookie(keys, sealToken(other, TokenKind.ClientCookie, cookie))), 'ServerChanged');
});

test('a client cookie is not accepted as an authorization cookie, nor the reverse', () => {
  assert.equal(code(() => readAuthorizationCookie(keys, sealToken(keys, TokenKind.ClientCookie, cookie))), 'InvalidAuthorizationCookie');
  assert.equal(code(() => readClientCookie(keys, sealToken(keys, TokenKind.AuthorizationCookie, cookie))), 'InvalidCookie');
});

test('an authenticated payload of the wrong types is still refused', () => {
  assert.equal(code(() => readClientCookie(keys, sealToken(keys, TokenKind.ClientCookie, { ...cookie, watermark: 'x' }))), 'InvalidCookie');
});
