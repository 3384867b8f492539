// Conformance against a real WSUS, replaying the native Windows Update Agent captures
// (../shared/captures/wsus-m0-native: scan and flow, requests AND responses real): every captured
// request is sent to our server, handshake included, with our cookies in place of the redacted
// ones and the real server's revision ids translated to ours (ids naming updates we do not have,
// i.e. real catalog content missing here, are dropped from the replayed request); every answer is
// compared with the real one. Differences that come from catalog content (the real server had a full catalog, we
// have its 9 published documents plus stand-ins) are asserted explicitly, with the reason.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { child, children, type XmlElement } from '../src/protocol/xml/xml-element.js';
import { adminHandle, withServer } from './support/test-server.js';
import { RevisionMap, conformanceCatalog, importConformanceCatalog } from './support/conformance-catalog.js';
import {
  CAPTURES, SKIP, ReplaySession, assertConforms, assertSameUpdateInfo, capturesPresent, intArray,
  loadAllExchanges, maskSupportLink, normalize, resultElement, updateInfos, type Exchange, type Reply,
} from './support/captures.js';

const REAL_SHARE = '\\\\REDACTED2\\UpdateServicesPackages';
// The native client's id (scan/000002 GetAuthorizationCookie); replaying its handshake with it
// makes our cookie name the client its ReportEventBatch events are about (TargetID/Sid).
const CLIENT_ID = 'e1da06a3-5601-43c9-bac3-52d5db701494';
const MICROSOFT = '56309036-4c77-4dd9-951a-99ee9c246a94';
const WINDOWS = '6964aab4-c5b5-43bd-a17d-ffb4346a8e1d';
const OOBE_ZDP = 'dd78b8a1-0b20-45c1-add6-4da72e9364cf';
const KB2267602 = 'a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe';
const KB_CHILDREN = ['ccb78947-6453-4ecc-9de8-bc0305c98f2d', '1f9bd9bb-7390-4aa3-bbdb-ded99fac2583', '266f6222-c89d-43f2-9f8a-69340271e677'];
const ENGINE = 'ff36f0b5-dded-4780-8664-cd78af8b62c1'; // bundled by 1f9bd9bb, so a grandchild of KB2267602
const DELTA_539 = '7366a74a-ef29-44e1-b738-570b516aca1f';

const syncResult = (r: { doc: XmlElement | undefined }): XmlElement | undefined => child(resultElement(r.doc), 'SyncUpdatesResult');
const field = (r: { doc: XmlElement | undefined }, name: string): string | undefined => child(syncResult(r), name)?.text;

test('native Windows Update Agent session (scan, then flow) replayed against our server', async (t) => {
  if (!capturesPresent) {
    t.skip(SKIP);
    return;
  }
  const ex = loadAllExchanges();
  const get = (id: string): Exchange => ex.get(`wsus-m0-native/${id}`)!;
  const ids = new RevisionMap();
  for (const e of ex.values()) ids.addReal(e);
  const catalog = conformanceCatalog(CAPTURES);
  let ourFiles = new Map<number, string[]>();

  // The real server announced PackageServerShare \\REDACTED2\UpdateServicesPackages (sanitized
  // name); configuring the same value makes the whole Config comparable byte for byte.
  await withServer({ packageServerShare: REAL_SHARE }, (config) => {
    ourFiles = importConformanceCatalog(config, catalog, ids);
  }, async (server, config) => {
    const s = new ReplaySession(server.url, ids);
    const realOf = (id: number): string | undefined => ids.realToUpdate.get(id);
    const ourOf = (id: number): string | undefined => ids.ourToUpdate.get(id);
    /** byte-identical once server-local ids, cookies, LastChange and dates are masked */
    const same = (e: Exchange, r: Reply): void => assert.equal(normalize(r.text, ourOf), normalize(e.responseBody, realOf), `${e.id}: body`);

    await t.test('scan/000001 GetConfig: the real Config, property for property', async () => {
      const e = get('scan/000001');
      const r = await s.run(e);
      assertConforms(e, r);
      same(e, r);
    });

    await t.test('scan/000002 GetAuthorizationCookie: same answer apart from the opaque CookieData', async () => {
      const e = get('scan/000002');
      assert.match(e.requestBody, new RegExp(`<clientId>${CLIENT_ID}</clientId>`));
      const r = await s.run(e);
      assertConforms(e, r);
      same(e, r);
    });

    await t.test('scan/000003 GetCookie (oldCookie with only Expiration): a cookie valid for one hour', async () => {
      const e = get('scan/000003');
      assert.match(e.requestBody, /<oldCookie><Expiration>[^<]*<\/Expiration><\/oldCookie>/);
      const r = await s.run(e);
      assertConforms(e, r);
      same(e, r);
      // Real: 2026-10-04T16:03:35.9967236Z for a 15:03:36 request (7 fraction digits; ours has 3,
      // both are xs:dateTime). The lifetime is what matters.
      const left = Date.parse(s.cookie!.expiration) - Date.now();
      assert.ok(Math.abs(left - 3600_000) < 120_000, `cookie lifetime ${left} ms`);
    });

    await t.test('scan/000004 RegisterComputer: byte-identical empty answer', async () => {
      const e = get('scan/000004');
      const r = await s.run(e);
      assertConforms(e, r);
      assert.equal(r.text, e.responseBody);
    });

    await t.test('scan/000005 StartCategoryScan: byte-identical, preferredCategoryIds = [OOBE ZDP]', async () => {
      const e = get('scan/000005');
      const r = await s.run(e);
      assertConforms(e, r);
      assert.equal(r.text, e.responseBody);
      assert.deepEqual(children(child(resultElement(r.doc), 'preferredCategoryIds'), 'guid').map((g) => g.text), [OOBE_ZDP]);
    });

    // Category-filtered staged scan: one category level per round, exactly as real WSUS did.
    const rounds: Array<[string, string, string]> = [['scan/000006', MICROSOFT, 'false'], ['scan/000007', WINDOWS, 'false'], ['scan/000008', OOBE_ZDP, 'true']];
    for (const [id, updateId, isLeaf] of rounds) {
      await t.test(`${id} SyncUpdates (filter OOBE ZDP): delivers ${updateId} alone, IsLeaf ${isLeaf}, Core identical`, async () => {
        const e = get(id);
        const r = await s.run(e);
        assert.equal(s.dropped, 0, 'every cached id of the native scan names an update we have');
        assertConforms(e, r);
        same(e, r);
        const ours = updateInfos(r.doc);
        assert.deepEqual([...ours.keys()], [updateId]);
        assertSameUpdateInfo(updateInfos(e.doc).get(updateId)!, ours.get(updateId)!, id);
        assert.equal(child(child(ours.get(updateId)!, 'Deployment'), 'Action')!.text, 'Evaluate');
        assert.equal(child(ours.get(updateId)!, 'IsLeaf')!.text, isLeaf);
        assert.equal(field(r, 'Truncated'), 'false');
        assert.equal(field(r, 'DriverSyncNotNeeded'), 'true');
      });
    }

    await t.test('scan/000009 driver pass (70 devices): no NewUpdates, DriverSyncNotNeeded true', async () => {
      const e = get('scan/000009');
      const r = await s.run(e);
      assertConforms(e, r);
      same(e, r);
      assert.equal(child(syncResult(r), 'NewUpdates'), undefined);
      assert.equal(field(r, 'DriverSyncNotNeeded'), 'true');
    });

    await t.test('scan/000010 GetExtendedUpdateInfo: Extended then LocalizedProperties, byte-identical, no FileLocations', async () => {
      const e = get('scan/000010');
      const r = await s.run(e);
      assert.equal(s.dropped, 0);
      assertConforms(e, r);
      same(e, r);
      const kinds = children(child(child(resultElement(r.doc), 'GetExtendedUpdateInfoResult'), 'Updates'), 'Update')
        .map((u) => child(u, 'Xml')!.text.startsWith('<ExtendedProperties') ? 'E' : 'L').join('');
      assert.equal(kinds, 'EEELLL');
      assert.equal(child(child(resultElement(r.doc), 'GetExtendedUpdateInfoResult'), 'FileLocations'), undefined);
    });

    await t.test('flow: KB2267602 approved for All Computers (the one approval of the real flow capture)', () => {
      const h = adminHandle(config);
      try {
        h.targeting.approve(KB2267602, 'All Computers', 'Install', null, 'test', new Date());
      } finally {
        h.close();
      }
    });

    // The real flow scan reused the scan's cookie (no handshake in that capture); so do we.
    // Real pages carried 30 of the full catalog's updates each; ours carry what our catalog has.
    const realFlowInfos = new Map<string, [string, XmlElement]>();
    for (const id of ['flow/000001', 'flow/000003', 'flow/000012', 'flow/000013']) {
      for (const [u, ui] of updateInfos(get(id).doc)) realFlowInfos.set(u, [id, ui]);
    }
    const STAND_INS = catalog.standInIds;

    await t.test('flow/000001 onwards: a full unfiltered staged scan; every real document comes as real WSUS sent it', async () => {
      const e = get('flow/000001');
      const { pages, delivered } = await s.stagedScan(e);
      // Of the 1029 cached ids the client sent, only OOBE ZDP's names an update we have; the
      // others (real catalog content we do not have) are dropped from the replayed request.
      assert.deepEqual(ids.translate(intArray(e.requestBody, 'OtherCachedUpdateIDs')!), [ids.updateToOur.get(OOBE_ZDP)]);
      assert.equal(ids.dropped, 1028);
      for (const p of pages) assertConforms(e, p);
      // What the translated cache lacks: the stand-ins the client has no real id for, then the
      // six real Defender documents. The categories it reported installed are not re-sent.
      const present = [...catalog.realIds].filter((u) => ![MICROSOFT, WINDOWS, OOBE_ZDP].includes(u));
      assert.deepEqual([...delivered.keys()].sort(), [...present, ...STAND_INS.filter((u) => u !== 'e0789628-ce08-4437-be74-2495b842f43b')].sort());
      for (const u of present) {
        const [where, real] = realFlowInfos.get(u)!;
        // 7366a74a: real WSUS sent it as Bundle because a bundle of the full catalog (an earlier
        // definition update, not among the 9 documents) contains it; for us it stands alone
        // and so goes out as PreDeploymentCheck, like any other unapproved update.
        assertSameUpdateInfo(real, delivered.get(u)!, `${u} (real in ${where})`, u === DELTA_539 ? 'PreDeploymentCheck' : undefined);
      }
      const action = (u: string): string => child(child(delivered.get(u)!, 'Deployment'), 'Action')!.text;
      assert.equal(action(KB2267602), 'Install');
      for (const u of [...KB_CHILDREN, ENGINE]) assert.equal(action(u), 'Bundle', u);
      for (const u of STAND_INS.filter((x) => delivered.has(x))) assert.equal(action(u), 'Evaluate', u);
    });

    await t.test('flow/000012 (the page with the approval) as a staged scan: KB2267602 Install, members Bundle, cached ones not re-sent', async () => {
      const e = get('flow/000012');
      const { pages, delivered } = await s.stagedScan(e);
      for (const p of pages) assertConforms(e, p);
      const real = updateInfos(e.doc);
      for (const u of [KB2267602, ENGINE]) assertSameUpdateInfo(real.get(u)!, delivered.get(u)!, `${u} vs flow/000012`);
      // The client had ccb78947 and 266f6222 cached (OtherCachedUpdateIDs): neither server re-sends them.
      for (const u of ['ccb78947-6453-4ecc-9de8-bc0305c98f2d', '266f6222-c89d-43f2-9f8a-69340271e677']) {
        assert.ok(!real.has(u) && !delivered.has(u), u);
      }
      // Real WSUS sent 1f9bd9bb and 7366a74a one page later (flow/000013): its pages hold 30.
      assert.ok(delivered.has('1f9bd9bb-7390-4aa3-bbdb-ded99fac2583') && delivered.has(DELTA_539));
    });

    for (const id of ['flow/000003', 'flow/000013']) {
      await t.test(`${id} replayed once: same envelope and element shapes`, async () => {
        const e = get(id);
        const r = await s.run(e);
        // Our answer holds the stand-ins the translated request could not name as installed;
        // real WSUS sent 30 updates of its full catalog. Same elements, different content.
        assertConforms(e, r);
        assert.equal(field(e, 'Truncated'), id === 'flow/000003' ? 'true' : 'false');
        assert.equal(field(r, 'Truncated'), 'false', 'our catalog never fills a 30-update page');
        assert.ok(updateInfos(r.doc).size > 0 && [...updateInfos(r.doc).keys()].every((u) => STAND_INS.includes(u)));
      });
    }

    await t.test('flow/000014 driver pass (75 devices): same answer as real', async () => {
      const e = get('flow/000014');
      const r = await s.run(e);
      assertConforms(e, r);
      same(e, r);
      assert.equal(field(r, 'DriverSyncNotNeeded'), 'true');
    });

    await t.test('flow/000015 GetExtendedUpdateInfo: identical fragments and file locations for the revisions we have', async () => {
      const e = get('flow/000015');
      const r = await s.run(e);
      // 12 of the 18 requested revisions are real catalog content we do not have: dropped.
      assert.equal(s.dropped, 12);
      assertConforms(e, r);
      const list = (doc: XmlElement | undefined, of: (id: number) => string | undefined) =>
        children(child(child(resultElement(doc), 'GetExtendedUpdateInfoResult'), 'Updates'), 'Update')
          .map((u) => ({ u: of(Number(child(u, 'ID')!.text)), xml: child(u, 'Xml')!.text }));
      const ours = list(r.doc, ourOf);
      const real = list(e.doc, realOf).filter((x) => x.u && ids.updateToOur.has(x.u));
      const isExt = (x: { xml: string }): boolean => x.xml.startsWith('<ExtendedProperties');
      assert.equal(ours.length, 12);
      assert.ok(ours.slice(0, 6).every(isExt) && !ours.slice(6).some(isExt), 'Extended first, then LocalizedProperties');
      assert.deepEqual(ours.filter(isExt), real.filter(isExt), 'Extended fragments, in request order');
      // Real WSUS wrote the LocalizedProperties in no particular order (not the request's);
      // compare per revision.
      const byUpdate = (xs: Array<{ u?: string; xml: string }>) => new Map(xs.filter((x) => !isExt(x)).map((x) => [x.u, maskSupportLink(x.xml)]));
      assert.deepEqual(byUpdate(ours), byUpdate(real), 'LocalizedProperties (en), per revision');

      const locations = (doc: XmlElement | undefined) => new Map(children(child(child(resultElement(doc), 'GetExtendedUpdateInfoResult'), 'FileLocations'), 'FileLocation')
        .map((f) => [child(f, 'FileDigest')!.text, child(f, 'Url')!.text]));
      const ourLoc = locations(r.doc);
      const realLoc = locations(e.doc);
      const expected = intArray(s.prepare(e), 'revisionIDs')!.flatMap((id) => ourFiles.get(id) ?? []);
      assert.deepEqual([...ourLoc.keys()].sort(), [...new Set(expected)].sort());
      assert.equal(ourLoc.size, 3);
      const host = e.requestHeaders.get('host')!.replace(/:\d+$/, '');
      for (const [digest, url] of ourLoc) {
        const hex = Buffer.from(digest, 'base64').toString('hex').toUpperCase();
        assert.match(url, new RegExp(`^http://${host.replace(/\./g, '\\.')}:${server.port}/Content/${hex.slice(-2)}/${hex}\\.exe$`));
        assert.equal(url.replace(`:${server.port}/`, ':8530/'), realLoc.get(digest), 'same URL as real, modulo the content port');
      }
    });

    await t.test('flow/000016-000018 ReportEventBatch: the real answer byte for byte; replays stored once', async () => {
      let total = 0;
      for (const id of ['flow/000016', 'flow/000017', 'flow/000018']) {
        const e = get(id);
        total += (e.requestBody.match(/<ReportingEvent>/g) ?? []).length;
        const r = await s.run(e);
        assertConforms(e, r);
        assert.equal(r.text, e.responseBody);
      }
      assert.equal(total, 15);
      const again = await s.run(get('flow/000016'));
      assert.equal(again.text, get('flow/000016').responseBody, 'a replayed batch is accepted too');
      server.flush();
      const h = adminHandle(config);
      try {
        assert.deepEqual(h.db.prepare('SELECT count(*) AS n, min(client_id) AS lo, max(client_id) AS hi FROM events').get(), { n: total, lo: CLIENT_ID, hi: CLIENT_ID });
      } finally {
        h.close();
      }
    });

    await t.test('every cookie of the session kept the Expiration GetCookie gave (as on real WSUS)', () => {
      assert.ok(s.expirations.length > 10);
      assert.equal(new Set(s.expirations).size, 1, s.expirations.join());
    });
  });
});
