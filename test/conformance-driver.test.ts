// Conformance against a real WSUS, second capture set: ../shared/captures/wsus-m0 holds real
// WSUS answers to a plain SOAP driver (protocol 1.8, `soap:` envelopes, no xpress), including
// the one real client-service fault we have (401 InstalledNonLeafUpdateIDs). The driver's
// requests are replayed against our server as in conformance-native.test.ts. The fault cases
// of our own below (bad cookies, missing or malformed input) have no real capture; they are
// held to the real fault's shape.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { child, type XmlElement } from '../src/protocol/xml/xml-element.js';
import { withServer } from './support/test-server.js';
import { RevisionMap, conformanceCatalog, importConformanceCatalog } from './support/conformance-catalog.js';
import {
  CAPTURES, SKIP, ReplaySession, assertConforms, assertTransport, capturesPresent, envelopeShape, intArray,
  loadAllExchanges, normalize, post, replayHeaders, resultElement, setText, skeleton, updateInfos, type Exchange, type Reply,
} from './support/captures.js';

const REAL_SHARE = '\\\\REDACTED2\\UpdateServicesPackages';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const field = (r: { doc: XmlElement | undefined }, name: string): string | undefined => child(child(resultElement(r.doc), 'SyncUpdatesResult'), name)?.text;

/** Loads the captures, imports the conformance catalog, and runs `body` against a server. */
async function withConformanceServer(body: (s: ReplaySession, get: (id: string) => Exchange, server: { url: string }) => Promise<void>): Promise<void> {
  const all = loadAllExchanges();
  const ids = new RevisionMap();
  for (const e of all.values()) ids.addReal(e);
  const catalog = conformanceCatalog(CAPTURES);
  await withServer({ packageServerShare: REAL_SHARE }, (config) => void importConformanceCatalog(config, catalog, ids),
    (server) => body(new ReplaySession(server.url, ids), (id) => all.get(id)!, server));
}

/** The driver's handshake (GetConfig 1.8, GetAuthorizationCookie, GetCookie without oldCookie, RegisterComputer). */
async function handshake(s: ReplaySession, get: (id: string) => Exchange): Promise<void> {
  for (const id of ['wsus-m0/000001', 'wsus-m0/000002', 'wsus-m0/000003', 'wsus-m0/000004']) {
    const r = await s.run(get(id));
    assert.equal(r.status, 200, `${id}: ${r.text.slice(0, 300)}`);
  }
}

/**
 * A fault exactly like the real one (wsus-m0/000141): HTTP 500, `s:Envelope/s:Body/s:Fault`
 * with faultcode `s:Client`, faultstring `Fault occurred`, and detail children exactly
 * ErrorCode, Message, ID (a fresh GUID), Method (the quoted SOAPAction).
 */
function assertRealFaultShape(real: Exchange, r: Reply, errorCode: string, message: string, soapAction: string, where: string): void {
  assert.equal(r.status, 500, `${where}: HTTP status`);
  assert.equal(r.headers['content-type'], real.responseHeaders.get('content-type'), `${where}: Content-Type`);
  assertTransport(r, where);
  assert.deepEqual(envelopeShape(r.text, r.doc), envelopeShape(real.responseBody, real.doc), `${where}: envelope`);
  assert.equal(skeleton(r.doc!), skeleton(real.doc), `${where}: fault shape`);
  const fault = resultElement(r.doc)!;
  assert.equal(fault.name, 's:Fault');
  assert.equal(child(fault, 'faultcode')!.text, 's:Client', `${where}: faultcode`);
  assert.equal(child(fault, 'faultstring')!.text, 'Fault occurred', `${where}: faultstring`);
  const detail = child(fault, 'detail')!;
  assert.deepEqual(detail.children.map((c) => `${c.name}{${c.ns}}`), ['ErrorCode{}', 'Message{}', 'ID{}', 'Method{}'], `${where}: unqualified detail children`);
  assert.equal(child(detail, 'ErrorCode')!.text, errorCode, `${where}: ErrorCode`);
  assert.equal(child(detail, 'Message')!.text, message, `${where}: Message`);
  assert.match(child(detail, 'ID')!.text, GUID, `${where}: ID`);
  assert.equal(child(detail, 'Method')!.text, soapAction, `${where}: Method`);
}

test('plain SOAP driver run (wsus-m0, protocol 1.8, soap: envelopes, no xpress) replayed against our server', async (t) => {
  if (!capturesPresent) {
    t.skip(SKIP);
    return;
  }
  await withConformanceServer(async (s, get) => {
    const realOf = (id: number): string | undefined => s.ids.realToUpdate.get(id);
    const ourOf = (id: number): string | undefined => s.ids.ourToUpdate.get(id);

    for (const id of ['wsus-m0/000001', 'wsus-m0/000002', 'wsus-m0/000003', 'wsus-m0/000004']) {
      await t.test(`${id} handshake: the real answer, opaque values aside`, async () => {
        const e = get(id);
        const r = await s.run(e);
        assertConforms(e, r);
        assert.equal(normalize(r.text, ourOf), normalize(e.responseBody, realOf));
      });
    }

    await t.test('wsus-m0/000005 first page (empty cache arrays): roots first, same elements', async () => {
      const e = get('wsus-m0/000005');
      const r = await s.run(e);
      assertConforms(e, r);
      // Real WSUS had thousands of prerequisite-free items (its page starts with 5C9376AB, a
      // root category) and sent 30 with Truncated=true; our catalog has six roots: the Microsoft
      // company category and the five stand-ins. Both servers start with roots only.
      const real = updateInfos(e.doc);
      assert.equal(real.size, 30);
      assert.equal(field(e, 'Truncated'), 'true');
      assert.equal(field(r, 'Truncated'), 'false');
      const ours = updateInfos(r.doc);
      assert.deepEqual([...ours.keys()].sort(), ['56309036-4c77-4dd9-951a-99ee9c246a94', ...conformanceCatalog(CAPTURES).standInIds].sort());
      for (const ui of ours.values()) assert.equal(child(child(ui, 'Deployment'), 'Action')!.text, 'Evaluate');
      assert.equal(field(r, 'DriverSyncNotNeeded'), 'false', 'an unfiltered software pass leaves the driver pass to the client');
    });

    for (const id of ['wsus-m0/000070', 'wsus-m0/000140']) {
      await t.test(`${id} later page (translated cache): same elements as real`, async () => {
        const e = get(id);
        const r = await s.run(e);
        // Most cached ids name real catalog content we do not have: dropped from the request.
        assert.ok(s.dropped > 1000, `dropped ${s.dropped}`);
        assertConforms(e, r);
        // Real: a full 30-update page with more to come; ours: the few stand-ins the translated
        // cache does not name, in one page.
        assert.equal(updateInfos(e.doc).size, 30);
        assert.equal(field(r, 'Truncated'), 'false');
        assert.ok(updateInfos(r.doc).size > 0);
      });
    }

    await t.test('wsus-m0/000141: 401 InstalledNonLeafUpdateIDs gives the real InvalidParameters fault', async () => {
      const e = get('wsus-m0/000141');
      // Replayed untranslated: the fault depends on the count (401 > 400), not on which ids.
      assert.equal(intArray(e.requestBody, 'InstalledNonLeafUpdateIDs')!.length, 401);
      const r = await s.run(e, { translate: false });
      assertConforms(e, r);
      assert.equal(normalize(r.text, ourOf), normalize(e.responseBody, realOf), 'byte-identical apart from the fault ID');
      assertRealFaultShape(e, r, 'InvalidParameters', 'parameters.InstalledNonLeafUpdateIDs', e.requestHeaders.get('soapaction')!, e.id);
    });

    await t.test('400 InstalledNonLeafUpdateIDs are still accepted (real WSUS took 398, refused 401)', async () => {
      const e = get('wsus-m0/000141');
      const real = intArray(e.requestBody, 'InstalledNonLeafUpdateIDs')!;
      const r = await s.run(e, { arrays: { InstalledNonLeafUpdateIDs: real.slice(0, 400) }, translate: false });
      assert.equal(r.status, 200, r.text.slice(0, 300));
    });
  });
});

test('faults of our own for the same bad-input categories: the real fault shape, never a 200', async (t) => {
  if (!capturesPresent) {
    t.skip(SKIP);
    return;
  }
  await withConformanceServer(async (s, get, server) => {
    await handshake(s, get);
    const realFault = get('wsus-m0/000141');
    const sync = get('wsus-m0/000005');
    const action = sync.requestHeaders.get('soapaction')!;
    const send = (body: string): Promise<Reply> => post(server.url, sync.path, replayHeaders(sync), body);

    await t.test('tampered cookie -> InvalidCookie', async () => {
      const raw = Buffer.from(s.cookie!.data, 'base64');
      raw[raw.length - 1]! ^= 0x01; // inside the authentication tag: the sealing server is still us
      const r = await send(setText(s.prepare(sync), 'EncryptedData', raw.toString('base64')));
      assertRealFaultShape(realFault, r, 'InvalidCookie', '', action, 'tampered cookie');
    });

    await t.test('a cookie sealed by another server -> ServerChanged', async () => {
      let foreign = '';
      await withConformanceServer(async (other, otherGet) => {
        await handshake(other, otherGet);
        foreign = other.cookie!.data;
      });
      const r = await send(setText(s.prepare(sync), 'EncryptedData', foreign));
      assertRealFaultShape(realFault, r, 'ServerChanged', '', action, 'foreign cookie');
    });

    await t.test('missing parameters -> InvalidParameters "parameters"', async () => {
      const body = s.prepare(sync).replace(/<parameters>[\s\S]*<\/parameters>/, '');
      assert.ok(!body.includes('<parameters>'));
      const r = await send(body);
      assertRealFaultShape(realFault, r, 'InvalidParameters', 'parameters', action, 'missing parameters');
    });

    const junk: Array<[string, string]> = [
      ['truncated XML', s.prepare(sync).slice(0, -60)],
      ['a DTD with an entity', '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>' +
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>' +
        '<GetConfig xmlns="http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService"><protocolVersion>&a;</protocolVersion></GetConfig>' +
        '</soap:Body></soap:Envelope>'],
      ['not XML at all', 'GET / HTTP/1.0\r\n\r\n'],
    ];
    for (const [what, body] of junk) {
      await t.test(`${what} -> a client fault (or 4xx), never 200; the server still answers`, async () => {
        const r = await send(body);
        assert.notEqual(r.status, 200);
        if (r.status === 500) {
          // Real WSUS rejects unparseable requests before any parameter is read; our fault
          // names the whole request as the bad parameter.
          assertRealFaultShape(realFault, r, 'InvalidParameters', 'request', action, what);
        } else {
          assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
        }
        const next = await s.run(get('wsus-m0/000001'));
        assert.equal(next.status, 200);
      });
    }
  });
});

test('transport: explicit Content-Length on every answer, xpress exactly when asked', async (t) => {
  if (!capturesPresent) {
    t.skip(SKIP);
    return;
  }
  await withConformanceServer(async (s, get) => {
    await handshake(s, get);
    // Real WSUS compressed every answer for the native client (which asks) and none for the
    // driver (which does not); the same request must get the same XML either way.
    for (const id of ['wsus-m0/000001', 'wsus-m0/000005', 'wsus-m0/000141', 'wsus-m0-native/scan/000001']) {
      const e = get(id);
      const plain = await s.run(e, { xpress: false, translate: id !== 'wsus-m0/000141' });
      const packed = await s.run(e, { xpress: true, translate: id !== 'wsus-m0/000141' });
      assertTransport(plain, `${id} plain`);
      assertTransport(packed, `${id} xpress`);
      assert.equal(packed.status, plain.status);
      assert.ok(packed.wire.length < packed.text.length || packed.text.length < 600, `${id}: compressed`);
      const mask = (x: string): string => normalize(x, () => 'rev');
      assert.equal(mask(packed.text), mask(plain.text), `${id}: same XML with and without xpress`);
    }
  });
});
