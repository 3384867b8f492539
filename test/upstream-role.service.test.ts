import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { documentSources } from '../src/services/import.service.js';
import { sealToken, TokenKind } from '../src/core/cookies/cookie-token.js';
import { formatAnchor } from '../src/core/server-sync/anchor.js';
import { readCounter } from '../src/store/server-identity.store.js';
import { DSS_FQDN, DSS_ID, fault, upstreamHarness } from './support/upstream-harness.js';

// The upstream role's authentication, GetConfigData, GetUpdateData, GetUpdateDecryptionData
// and DownloadFiles rules, on a real database.

const catalog = generateCatalog({ updates: 40, seed: 5 });
const docs = [...catalog.documents];
const REAL_DOCS = '/work/shared/captures/wsus-m0-wsusss/docs';

test('authorize checks the claimed identity and records the downstream', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  assert.equal(fault(() => h.role.authorize(undefined, DSS_ID, null)), 'InvalidParameters:machineName');
  assert.equal(fault(() => h.role.authorize('bad name', DSS_ID, null)), 'InvalidParameters:machineName');
  assert.equal(fault(() => h.role.authorize('x'.repeat(256), DSS_ID, null)), 'InvalidParameters:machineName');
  assert.equal(fault(() => h.role.authorize(DSS_FQDN, undefined, null)), 'InvalidParameters:accountGuid');
  assert.equal(fault(() => h.role.authorize(DSS_FQDN, 'not-a-guid', null)), 'InvalidParameters:accountGuid');
  assert.ok(h.role.authorize(DSS_FQDN, DSS_ID.toUpperCase(), '192.0.2.10').length > 40);
  const row = h.admin.db.prepare('SELECT * FROM downstream_servers').all() as Array<Record<string, unknown>>;
  assert.equal(row.length, 1);
  assert.equal(row[0]!.server_id, DSS_ID);
  assert.equal(row[0]!.fqdn, DSS_FQDN);
  assert.equal(row[0]!.address, '192.0.2.10');
  assert.ok(!Number.isNaN(Date.parse(h.role.authConfig().lastChange)));
});

test('the allow-list admits listed downstreams by GUID or FQDN and refuses the rest', (t) => {
  const h = upstreamHarness({ upstreamRole: { allowedDownstreams: [DSS_ID, 'other.lab.invalid'] } });
  t.after(() => h.close());
  assert.ok(h.role.authorize('anything.lab.invalid', DSS_ID, null));
  assert.ok(h.role.authorize('other.lab.invalid', randomUUID(), null));
  assert.equal(fault(() => h.role.authorize('intruder.lab.invalid', randomUUID(), null)), 'InvalidParameters:accountGuid');
  assert.equal((h.admin.db.prepare('SELECT count(*) AS n FROM downstream_servers').get() as { n: number }).n, 2);
});

test('GetCookie: one DssTargeting cookie, readable, a 1.x version; the session lasts the configured lifetime', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  const auth = h.role.authorize(DSS_FQDN, DSS_ID, null);
  const one = [{ plugInId: 'DssTargeting', cookieData: auth }];
  assert.equal(fault(() => h.role.getCookie([], null, '1.20')), 'InvalidParameters:authCookies');
  assert.equal(fault(() => h.role.getCookie([...one, ...one], null, '1.20')), 'InvalidParameters:authCookies');
  assert.equal(fault(() => h.role.getCookie([{ plugInId: 'SimpleTargeting', cookieData: auth }], null, '1.20')), 'InvalidParameters:authCookies');
  assert.equal(fault(() => h.role.getCookie([{ plugInId: 'DssTargeting', cookieData: 'AAAA' }], null, '1.20')), 'InvalidAuthorizationCookie');
  const other = { serverId: randomUUID(), key: randomBytes(32) };
  const foreign = sealToken(other, TokenKind.DssAuthorizationCookie, { dssId: DSS_ID, fqdn: DSS_FQDN, issuedAt: 0, expiresAt: 9e15 });
  assert.equal(fault(() => h.role.getCookie([{ plugInId: 'DssTargeting', cookieData: foreign }], null, '1.20')), 'InvalidAuthorizationCookie');
  assert.equal(fault(() => h.role.getCookie(one, null, undefined)), 'InvalidParameters:protocolVersion');
  assert.equal(fault(() => h.role.getCookie(one, null, '1')), 'InvalidParameters:protocolVersion');
  assert.equal(fault(() => h.role.getCookie(one, null, '2.0')), 'IncompatibleProtocolVersion:protocolVersion');
  const c = h.role.getCookie(one, null, '1.20');
  assert.equal(c.expiration, new Date(h.now.ms + 240 * 60_000).toISOString());
  assert.deepEqual(h.role.open(c.encryptedData), { serverId: DSS_ID, fqdn: DSS_FQDN, protocolVersion: '1.20' });
  const row = h.admin.db.prepare('SELECT protocol_version FROM downstream_servers').get() as { protocol_version: string };
  assert.equal(row.protocol_version, '1.20');
  // An authorization cookie outlives nothing: once expired the downstream must authorize again.
  h.now.ms += 241 * 60_000;
  assert.equal(fault(() => h.role.getCookie(one, null, '1.20')), 'InvalidAuthorizationCookie');
});

test('GetCookie: an expired oldCookie of ours is fine; one from another server is ServerChanged', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  const { cookie } = h.session();
  h.now.ms += 10 * 24 * 3600_000;
  const auth = [{ plugInId: 'DssTargeting', cookieData: h.role.authorize(DSS_FQDN, DSS_ID, null) }];
  assert.ok(h.role.getCookie(auth, cookie, '1.20').encryptedData);
  const other = upstreamHarness();
  t.after(() => other.close());
  const foreign = other.session().cookie;
  assert.equal(fault(() => h.role.getCookie(auth, foreign, '1.20')), 'ServerChanged');
  // A real WSUS's cookie, or anything else we cannot open, was not issued here either.
  assert.equal(fault(() => h.role.getCookie(auth, 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '1.20')), 'ServerChanged');
});

test('every later call: missing or unreadable → InvalidCookie, expired → CookieExpired, another server → ServerChanged', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  const other = upstreamHarness();
  t.after(() => other.close());
  const { cookie } = h.session();
  assert.equal(fault(() => h.role.open(null)), 'InvalidCookie');
  assert.equal(fault(() => h.role.open('')), 'InvalidCookie');
  assert.equal(fault(() => h.role.open('garbage!')), 'InvalidCookie');
  assert.equal(fault(() => h.role.open(h.role.authorize(DSS_FQDN, DSS_ID, null))), 'InvalidCookie');
  assert.equal(fault(() => h.role.open(other.session().cookie)), 'ServerChanged');
  h.now.ms += 239 * 60_000;
  assert.ok(h.role.open(cookie));
  h.now.ms += 2 * 60_000;
  assert.equal(fault(() => h.role.open(cookie)), 'CookieExpired');
});

test('GetConfigData: limits, flags, anchor and the language list (empty for a current anchor)', (t) => {
  const h = upstreamHarness({ content: 'none', upstreamRole: { maxUpdatesPerRequest: 50 } });
  t.after(() => h.close());
  h.importDocs(docs);
  const { session } = h.session();
  const first = h.role.configData(session, null);
  assert.equal(first.catalogOnlySync, true);
  assert.equal(first.lazySync, false);
  assert.equal(first.serverHostsPsfFiles, false);
  assert.equal(first.maxNumberOfUpdatesPerRequest, 50);
  assert.equal(first.maxUpdatesPerRequestInGetUpdateDecryptionData, 100);
  assert.equal(first.maxNumberOfDriverSetsPerRequest, 0);
  assert.equal(first.protocolVersion, '1.20');
  assert.match(first.newConfigAnchor, /^\d+,2026-10-04 16:00:00\.000$/);
  assert.deepEqual(first.languages[0], { id: 0, short: 'all', long: 'all', enabled: false });
  assert.deepEqual(first.languages.filter((l) => l.enabled).map((l) => l.short).sort(), ['de', 'en', 'fr', 'ja']);
  assert.deepEqual(h.role.configData(session, first.newConfigAnchor).languages, []);
  // A language selected for sync changes the set: every earlier anchor gets the list again.
  h.admin.db.prepare("INSERT INTO sync_selection (kind, id) VALUES ('language', 'nl')").run();
  const after = h.role.configData(session, first.newConfigAnchor);
  assert.ok(after.languages.find((l) => l.short === 'nl')!.enabled);
  assert.deepEqual(h.role.configData(session, after.newConfigAnchor).languages, []);
  assert.equal(fault(() => h.role.configData(session, 'garbage')), 'InvalidParameters:configAnchor');
  const ahead = formatAnchor(readCounter(h.admin.db, 'change_seq') + 1, new Date());
  assert.equal(fault(() => h.role.configData(session, ahead)), 'ServerChanged');
});

test('GetUpdateData: the stored document, its digests (EULA files too) and MU URLs; limits and unknown ids', (t) => {
  const h = upstreamHarness({ upstreamRole: { maxUpdatesPerRequest: 100 } });
  t.after(() => h.close());
  h.importDocs(docs);
  const { session } = h.session();
  const eula = catalog.summary.interesting.withEula!;
  const source = docs.find((d) => d.updateId === eula.updateId && d.revisionNumber === eula.revisionNumber)!;
  const [digestWithUrl] = (h.admin.db.prepare(
    `SELECT f.sha1 FROM files f JOIN revisions r ON r.id = f.revision_id JOIN updates u ON u.id = r.update_pk
      WHERE u.update_id = ? AND r.revision_number = ? AND f.is_eula = 0`,
  ).pluck().all(eula.updateId, eula.revisionNumber) as string[]);
  h.admin.db.prepare('UPDATE files SET mu_url = ? WHERE sha1 = ?').run('http://download.windowsupdate.com/x.cab', digestWithUrl);
  const r = h.role.updateData(session, [{ updateId: eula.updateId.toUpperCase(), revisionNumber: eula.revisionNumber }]);
  assert.equal(r.updates.length, 1);
  assert.equal(r.updates[0]!.xml, source.xml);
  assert.deepEqual(r.updates[0]!.identity, { updateId: eula.updateId, revisionNumber: eula.revisionNumber });
  const expected = source.contentFileNames.length;
  assert.equal(r.updates[0]!.fileDigests.length, expected);
  assert.ok(expected > 1, 'the EULA update has payload and EULA files');
  assert.equal(r.fileUrls.length, expected);
  for (const u of r.fileUrls) assert.equal(u.muUrl, u.digest === digestWithUrl ? 'http://download.windowsupdate.com/x.cab' : null);

  const ids = docs.slice(0, 101).map((d) => ({ updateId: d.updateId, revisionNumber: d.revisionNumber }));
  assert.equal(fault(() => h.role.updateData(session, ids)), 'InvalidParameters:updateIds');
  assert.equal(fault(() => h.role.updateData(session, null)), 'InvalidParameters:updateIds');
  assert.equal(fault(() => h.role.updateData(session, [])), 'InvalidParameters:updateIds');
  assert.equal(h.role.updateData(session, ids.slice(0, 100)).updates.length, 100);
  assert.equal(fault(() => h.role.updateData(session, [...ids.slice(0, 5), { updateId: '00000000-0000-0000-0000-000000000001', revisionNumber: 1 }])), 'InternalServerError');
  assert.equal(fault(() => h.role.updateData(session, [{ updateId: eula.updateId, revisionNumber: 1 }])), 'InternalServerError');
});

test('GetUpdateData returns real WSUS documents byte for byte', (t) => {
  if (!existsSync(REAL_DOCS)) {
    t.skip(`captures absent: ${REAL_DOCS}`);
    return;
  }
  const h = upstreamHarness();
  t.after(() => h.close());
  const sources = documentSources([REAL_DOCS]);
  h.importDocs(sources);
  const { session } = h.session();
  const ids = sources.map((s) => {
    const m = /([0-9a-f-]{36})-r(\d+)\.xml$/.exec(s.name)!;
    return { updateId: m[1]!, revisionNumber: Number(m[2]) };
  });
  const r = h.role.updateData(session, ids);
  assert.equal(r.updates.length, sources.length);
  for (const [i, u] of r.updates.entries()) assert.equal(u.xml, readFileSync(sources[i]!.name, 'utf8'));
  const defender = r.updates.find((u) => u.identity.updateId === 'a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe')!;
  assert.equal(defender.identity.revisionNumber, 200);
});

test('GetUpdateDecryptionData lists the files of each known revision with no key', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  h.importDocs(docs);
  const { session } = h.session();
  const s = catalog.summary.interesting.standalone!;
  const r = h.role.decryptionData(session, [{ updateId: s.updateId, revisionNumber: s.revisionNumber }, { updateId: randomUUID(), revisionNumber: 1 }]);
  assert.equal(r.length, 1);
  assert.deepEqual(r[0]!.identity, { updateId: s.updateId, revisionNumber: s.revisionNumber });
  assert.ok(r[0]!.files.length >= 1);
  assert.ok(r[0]!.files.every((f) => f.decryptionKey === null && f.digest.length === 28));
  assert.deepEqual(h.role.decryptionData(session, []), []);
  assert.equal(fault(() => h.role.decryptionData(session, null)), 'InvalidParameters:updateIds');
});

test('DownloadFiles: known digests are fetched, unknown ones fault with the list', (t) => {
  const h = upstreamHarness();
  t.after(() => h.close());
  h.importDocs(docs);
  const { session } = h.session();
  const known = [...catalog.contentFiles].slice(0, 3);
  h.role.downloadFiles(session, known.map((f) => f.sha1Base64));
  assert.deepEqual(h.requested, known.map((f) => f.sha1Hex));
  const unknown = [randomBytes(20).toString('base64'), randomBytes(20).toString('base64')];
  assert.equal(fault(() => h.role.downloadFiles(session, [known[0]!.sha1Base64, ...unknown])), `FileDigestsMissing:${unknown.join('|')}`);
  assert.equal(fault(() => h.role.downloadFiles(session, Array(101).fill(known[0]!.sha1Base64))), 'InvalidParameters:fileDigestList');
  assert.equal(fault(() => h.role.downloadFiles(session, ['abc'])), 'InvalidParameters:fileDigestList');
  assert.equal(fault(() => h.role.downloadFiles(session, null)), 'InvalidParameters:fileDigestList');
  h.role.downloadFiles(session, []);

  const catalogOnly = upstreamHarness({ content: 'none' });
  t.after(() => catalogOnly.close());
  catalogOnly.importDocs(docs);
  catalogOnly.role.downloadFiles(catalogOnly.session().session, [known[0]!.sha1Base64]);
  assert.deepEqual(catalogOnly.requested, []);
});
