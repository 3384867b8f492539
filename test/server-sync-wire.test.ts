// The MS-WSUSSS wire layer against the real exchanges of a WSUS upstream
// (../shared/captures/wsus-m0-wsusss): every captured answer goes through the downstream
// parsers, our request bodies are compared with the captured ones, and the request readers
// of the upstream role read what the downstream writes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { readEnvelope } from '../src/protocol/soap/envelope.js';
import { decodeUpdateBlob } from '../src/protocol/cab/index.js';
import { cookieData, identityList, readFilter } from '../src/protocol/server-sync/server-sync-readers.js';
import { blobNeedsCompression, writeUpdateBlob } from '../src/protocol/server-sync/update-blob-writer.js';
import { flattenRecord } from '../src/protocol/server-sync/rollup-wire.js';
import { revisionIdListResponse } from '../src/protocol/server-sync/server-sync-writers.js';
import { parseXml } from './support/captures.js';
import { WSUSSS_DIR, WSUSSS_SKIP, recordedRequest, recordedResponse, wsusssPresent } from './support/recorded-shapes.js';
import { expectResponse, readSoapAnswer } from '../src/upstream/soap-response.js';
import {
  parseAuthConfig, parseAuthorizationCookie, parseConfigData, parseCookie, parseRevisionIdList, parseUpdateData,
} from '../src/upstream/server-sync-parsers.js';
import {
  dssAuthBody, getAuthConfigBody, getConfigDataBody, getCookieBody, getRevisionIdListBody, updateIdsBody, type WireCookie,
} from '../src/upstream/server-sync-requests.js';
import { contentOrigin, contentUrl } from '../src/upstream/content-url.js';
import { openUpstreamSession } from '../src/upstream/upstream-session.js';
import { createUpstreamDispatcher } from '../src/upstream/upstream-dispatcher.js';
import { UpstreamFaultError } from '../src/upstream/server-sync-session.js';
import { quietLog } from './support/test-server.js';
import type { XmlElement } from '../src/protocol/xml/xml-element.js';

const LIMITS = { maxDepth: 64, maxElements: 1_000_000, maxAttributes: 64 };
const response = (n: number, op: string, set = 'exchanges'): XmlElement => {
  const a = readSoapAnswer(recordedResponse(n, set));
  assert.ok(a.op, `exchange ${n} is not a fault`);
  return expectResponse(a, op);
};
const doc = (name: string): string => readFileSync(join(WSUSSS_DIR, 'docs', name), 'utf8');
// The redacted cookie of the probe session (000003), as the downstream echoes it.
const probeCookie = (): WireCookie => parseCookie(response(3, 'GetCookie'));

test('handshake answers parse: DssTargeting auth, authorization cookie, 240-minute cookie', { skip: !wsusssPresent && WSUSSS_SKIP }, () => {
  const ac = parseAuthConfig(response(1, 'GetAuthConfig'));
  assert.equal(ac.lastChange, '2026-10-04T13:16:35.433Z');
  assert.deepEqual(ac.plugIns, [{ id: 'DssTargeting', serviceUrl: 'DssAuthWebService/DssAuthWebService.asmx', parameter: '' }]);
  const auth = parseAuthorizationCookie(response(2, 'GetAuthorizationCookie'));
  assert.equal(auth.plugInId, 'DssTargeting');
  assert.match(auth.cookieData, /^A+$/);
  const c = probeCookie();
  assert.equal(c.expiration, '2026-10-04T20:33:26.65455Z');
  assert.match(c.encryptedData, /^A+=*$/);
});

test('000005 config data: limits, LazySync, 39 languages with English enabled', { skip: !wsusssPresent && WSUSSS_SKIP }, () => {
  const c = parseConfigData(response(5, 'GetConfigData'));
  assert.equal(c.maxNumberOfUpdatesPerRequest, 100);
  assert.equal(c.maxUpdatesPerRequestInGetUpdateDecryptionData, 100);
  assert.equal(c.lazySync, true);
  assert.equal(c.catalogOnlySync, false);
  assert.equal(c.serverHostsPsfFiles, false);
  assert.equal(c.protocolVersion, '1.20');
  assert.equal(c.newConfigAnchor, '9438,2026-10-04 16:33:26.670');
  assert.equal(c.languages.length, 39);
  assert.deepEqual(c.languages[0], { id: 0, short: 'all', long: 'all', enabled: false });
  assert.deepEqual(c.languages.filter((l) => l.enabled), [{ id: 1033, short: 'en', long: 'English', enabled: true }]);
  // 000004 (with a configAnchor): the short answer with `<LanguageUpdateList />`.
  const short = parseConfigData(response(4, 'GetConfigData'));
  assert.deepEqual(short.languages, []);
  assert.equal(short.newConfigAnchor, '9438,2026-10-04 16:33:26.668');
  // the importer's session (exchanges-client 000004) says the same
  assert.equal(parseConfigData(response(4, 'GetConfigData', 'exchanges-client')).languages.length, 39);
});

test('revision lists: 30 identities (trimmed captures), empty lists as <NewRevisions />', { skip: !wsusssPresent && WSUSSS_SKIP }, () => {
  const cats = parseRevisionIdList(response(6, 'GetRevisionIdList'));
  assert.equal(cats.revisions.length, 30);
  assert.deepEqual(cats.revisions[0], { updateId: 'e6cf1350-c01b-414d-a61f-263d14d133b4', revisionNumber: 100 });
  assert.equal(cats.anchor, '9438,2026-10-04 16:33:26.671');
  const all = parseRevisionIdList(response(9, 'GetRevisionIdList'));
  assert.equal(all.revisions.length, 30);
  assert.deepEqual(all.revisions[0], { updateId: '8c55755c-2b9d-48cc-be8b-aedbf20911ec', revisionNumber: 201 });
  assert.deepEqual(all.revisions.at(-1), { updateId: 'a88bc768-7f57-42ba-b9b2-086f5c7c0b8b', revisionNumber: 200 });
  for (const n of [7, 8, 11, 12]) assert.deepEqual(parseRevisionIdList(response(n, 'GetRevisionIdList')).revisions, [], `exchange ${n}`);
  for (const n of [5, 6, 13, 625]) assert.equal(parseRevisionIdList(response(n, 'GetRevisionIdList', 'exchanges-client')).revisions.length, 30);
  for (const n of [624, 1045, 1046]) assert.equal(parseRevisionIdList(response(n, 'GetRevisionIdList', 'exchanges-client')).revisions.length, 0);
});

test('GetUpdateData: compressed blobs decode to the documents in docs/, the plain one unescapes', { skip: !wsusssPresent && WSUSSS_SKIP }, () => {
  const cases: Array<[number, string, boolean]> = [
    [13, 'a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe-r200.xml', true],
    [14, '266f6222-c89d-43f2-9f8a-69340271e677-r200.xml', true],
    [15, 'ccb78947-6453-4ecc-9de8-bc0305c98f2d-r200.xml', false],
    [16, '56309036-4c77-4dd9-951a-99ee9c246a94-r101.xml', true],
  ];
  for (const [n, file, compressed] of cases) {
    assert.equal(recordedResponse(n).includes('<XmlUpdateBlobCompressed>'), compressed, `exchange ${n} blob kind`);
    const d = parseUpdateData(response(n, 'GetUpdateData'), 64 * 1024 * 1024);
    assert.equal(d.updates.length, 1);
    const [id, rev] = /^(.+)-r(\d+)\.xml$/.exec(file)!.slice(1);
    assert.deepEqual(d.updates[0]!.identity, { updateId: id, revisionNumber: Number(rev) });
    assert.equal(d.updates[0]!.xml, doc(file), `exchange ${n} document`);
    // WSUS's rule, which our writer applies: compressed exactly when above 5,120 UTF-16 bytes.
    assert.equal(blobNeedsCompression(doc(file)), compressed, `exchange ${n} threshold`);
  }
  const withFile = parseUpdateData(response(14, 'GetUpdateData'), 1 << 26);
  assert.deepEqual(withFile.updates[0]!.fileDigests, ['h/W9BGlYUAaqXTp30cZi/SiV3c0=']);
  assert.deepEqual(withFile.fileUrls, [{
    digest: 'h/W9BGlYUAaqXTp30cZi/SiV3c0=',
    muUrl: 'http://download.windowsupdate.com/c/msdownload/update/software/defu/2026/10/am_delta_87f5bd0469585006aa5d3a77d1c662fd2895ddcd.exe',
    ussUrl: null,
  }]);
  assert.deepEqual(parseUpdateData(response(15, 'GetUpdateData'), 1 << 26).fileUrls, []);
});

test('faults 000017-000019 read as InternalServerError, InvalidParameters(filter), InvalidCookie', { skip: !wsusssPresent && WSUSSS_SKIP }, () => {
  const f = (n: number) => readSoapAnswer(recordedResponse(n)).fault;
  assert.deepEqual(f(17), { faultcode: 'soap:Server', faultstring: 'Fault occurred', errorCode: 'InternalServerError', message: '' });
  assert.deepEqual(f(18), { faultcode: 'soap:Client', faultstring: 'Fault occurred', errorCode: 'InvalidParameters', message: 'filter' });
  assert.equal(f(19)?.errorCode, 'InvalidCookie');
  // Microsoft Update (WCF) names the code only in the reason text.
  const wcf = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Client</faultcode>' +
    '<faultstring xml:lang="en-US">Fault occurred: InvalidAuthorizationCookie</faultstring></s:Fault></s:Body></s:Envelope>';
  assert.equal(readSoapAnswer(wcf).fault?.errorCode, 'InvalidAuthorizationCookie');
});

test('our request bodies are the captured ones (Get63LanguageOnly added, as Microsoft\'s contract requires it)', { skip: !wsusssPresent && WSUSSS_SKIP }, () => {
  const c = probeCookie();
  assert.equal(getAuthConfigBody(), recordedRequest(1));
  assert.equal(dssAuthBody('probe.lab.invalid', '6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12'), recordedRequest(2));
  const authData = parseAuthorizationCookie(response(2, 'GetAuthorizationCookie')).cookieData;
  assert.equal(getCookieBody(authData, null, '1.20'), recordedRequest(3));
  assert.equal(getConfigDataBody(c, '9438,2026-10-04 16:09:27.167'), recordedRequest(4));
  assert.equal(getConfigDataBody(c, null), recordedRequest(5));
  const filterOf = (n: number) => readFilter(readEnvelope(recordedRequest(n), LIMITS), 1000);
  for (const n of [6, 7, 8, 9, 10, 11, 12]) {
    const ours = getRevisionIdListBody(c, filterOf(n));
    assert.equal(ours.replace('<Get63LanguageOnly>false</Get63LanguageOnly>', ''), recordedRequest(n), `exchange ${n}`);
  }
  for (const n of [13, 14, 15, 16, 17]) {
    const ids = identityList(readEnvelope(recordedRequest(n), LIMITS), 'updateIds', 'updateIds', 100)!;
    assert.equal(updateIdsBody('GetUpdateData', c, ids), recordedRequest(n), `exchange ${n}`);
  }
});

test('the upstream role reads the captured requests', { skip: !wsusssPresent && WSUSSS_SKIP }, () => {
  const op = (n: number) => readEnvelope(recordedRequest(n), LIMITS);
  assert.deepEqual(readFilter(op(10), 1000), {
    anchor: '9438,2026-10-04 16:09:27.371', getConfig: false, get63LanguageOnly: false,
    categories: [{ id: '8c3fcc84-7410-4a95-8b89-a166a0190486', delta: false }],
    classifications: [{ id: 'e0789628-ce08-4437-be74-2495b842f43b', delta: false }],
    languages: null,
  });
  assert.deepEqual(readFilter(op(6), 1000), { anchor: null, getConfig: true, get63LanguageOnly: false, categories: null, classifications: null, languages: null });
  assert.match(cookieData(op(5)) ?? '', /^A+=*$/);
  assert.equal(cookieData(op(19)), null);
  assert.equal(cookieData(op(3), 'oldCookie'), null);
});

test('request readers: bad values are InvalidParameters naming the parameter; nil and absent are the same', () => {
  const env = (inner: string) => readEnvelope('<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
    `xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Body><Op xmlns="http://www.microsoft.com/SoftwareDistribution">${inner}</Op></soap:Body></soap:Envelope>`, LIMITS);
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return `${(e as { code: string }).code}:${(e as { detail: string }).detail}`;
    }
    return 'ok';
  };
  assert.equal(code(() => readFilter(env(''), 10)), 'InvalidParameters:filter');
  assert.equal(code(() => readFilter(env('<filter><GetConfig>yes</GetConfig></filter>'), 10)), 'InvalidParameters:filter');
  assert.equal(code(() => readFilter(env('<filter><Categories><IdAndDelta><Id>nope</Id><Delta>1</Delta></IdAndDelta></Categories></filter>'), 10)), 'InvalidParameters:filter');
  assert.deepEqual(readFilter(env('<filter><Anchor xsi:nil="true"/><GetConfig>1</GetConfig><Categories><IdAndDelta><Id>8C3FCC84-7410-4A95-8B89-A166A0190486</Id><Delta>0</Delta></IdAndDelta></Categories></filter>'), 10),
    { anchor: null, getConfig: true, get63LanguageOnly: false, categories: [{ id: '8c3fcc84-7410-4a95-8b89-a166a0190486', delta: false }], classifications: null, languages: null });
  assert.equal(code(() => identityList(env('<updateIds><UpdateIdentity><UpdateID>x</UpdateID><RevisionNumber>1</RevisionNumber></UpdateIdentity></updateIds>'), 'updateIds', 'updateIds', 10)), 'InvalidParameters:updateIds');
  assert.equal(code(() => identityList(env('<updateIds><UpdateIdentity><UpdateID>8c3fcc84-7410-4a95-8b89-a166a0190486</UpdateID><RevisionNumber>99999999999</RevisionNumber></UpdateIdentity></updateIds>'), 'updateIds', 'updateIds', 10)), 'InvalidParameters:updateIds');
  assert.equal(identityList(env('<updateIds xsi:nil="true"/>'), 'updateIds', 'updateIds', 10), null);
  assert.equal(identityList(env(''), 'updateIds', 'updateIds', 10), null);
  assert.equal(code(() => identityList(env('<updateIds>' + '<UpdateIdentity/>'.repeat(3) + '</updateIds>'), 'updateIds', 'updateIds', 2)), 'InvalidParameters:updateIds');
  assert.equal(cookieData(env('<cookie><Expiration>9999-12-31T23:59:59.9999999</Expiration><EncryptedData /></cookie>')), null);
});

test('writeUpdateBlob: plain below 5,120 UTF-16 bytes, an LZX cabinet (member blob, UTF-16LE) above', () => {
  const small = '<upd:Update a="1">x &amp; y</upd:Update>';
  assert.equal(writeUpdateBlob(small, true), '<XmlUpdateBlob>&lt;upd:Update a="1"&gt;x &amp;amp; y&lt;/upd:Update&gt;</XmlUpdateBlob>');
  const big = `<upd:Update>${'<upd:X n="ü€"/>'.repeat(400)}</upd:Update>`;
  assert.equal(writeUpdateBlob(big, false).startsWith('<XmlUpdateBlob>'), true);
  const packed = writeUpdateBlob(big, true);
  const b64 = /^<XmlUpdateBlobCompressed>([A-Za-z0-9+/=]+)<\/XmlUpdateBlobCompressed>$/.exec(packed)![1]!;
  assert.ok(b64.startsWith('TVNDRg'), 'a cabinet (MSCF)');
  assert.equal(decodeUpdateBlob(b64, 1 << 20), big);
  const cab = Buffer.from(b64, 'base64');
  assert.equal(cab.readUInt16LE(36 + 6), 0x1503, 'LZX, 2 MiB window');
  assert.equal(cab.toString('latin1', 44 + 16, 44 + 20), 'blob');
  assert.equal(blobNeedsCompression('x'.repeat(2560)), false);
  assert.equal(blobNeedsCompression('x'.repeat(2561)), true);
});

test('content URLs: last two hex digits, upper case, extension of FileName; HTTPS N -> HTTP N-1', () => {
  const sha = '87f5bd0469585006aa5d3a77d1c662fd2895ddcd';
  assert.equal(contentUrl('http://uss.example:8530', sha, 'AM_Delta.exe'),
    'http://uss.example:8530/Content/CD/87F5BD0469585006AA5D3A77D1C662FD2895DDCD.exe');
  assert.equal(contentOrigin('https://uss.example:8531'), 'http://uss.example:8530');
  assert.equal(contentOrigin('https://uss.example'), 'http://uss.example');
  assert.equal(contentOrigin('https://uss.example:443/'), 'http://uss.example');
  assert.equal(contentUrl('https://uss.example:8531', sha, 'x.cab').startsWith('http://uss.example:8530/Content/CD/'), true);
  assert.throws(() => contentUrl('http://u', 'abc', 'x.cab'), RangeError);
});

test('rollup records flatten attributes, structures and arrays ([MS-WSUSSS] Sample 3)', () => {
  const el = parseXml('<ComputerRollupInfo ComputerId="d07a4d51-7cb2-46d1-ad86-91195cb4325a" LastSyncResult="1">' +
    '<Details IPAddress="127.0.0.1" OSMajorVersion="5"><TargetGroupIdList><guid>b73ca6ed-5727-47f3-84de-015e03f6a88a</guid></TargetGroupIdList>' +
    '<RequestedTargetGroupNames><string>Windows Server 2003</string><string>Servers</string></RequestedTargetGroupNames></Details></ComputerRollupInfo>');
  assert.deepEqual(flattenRecord(el, 'computers'), {
    ComputerId: 'd07a4d51-7cb2-46d1-ad86-91195cb4325a', LastSyncResult: '1', 'Details.IPAddress': '127.0.0.1', 'Details.OSMajorVersion': '5',
    'Details.TargetGroupIdList.0': 'b73ca6ed-5727-47f3-84de-015e03f6a88a',
    'Details.RequestedTargetGroupNames.0': 'Windows Server 2003', 'Details.RequestedTargetGroupNames.1': 'Servers',
  });
});

test('a full-catalog revision list (60,000 identities, ~3.6 MB) is written and read back', () => {
  const revisions = Array.from({ length: 60_000 }, (_, i) => ({
    updateId: `${i.toString(16).padStart(8, '0')}-0000-4000-8000-${(i * 7919).toString(16).padStart(12, '0')}`, revisionNumber: 200 + (i % 3),
  }));
  const xml = '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>' +
    revisionIdListResponse({ anchor: '9438,2026-10-04 16:33:26.750', revisions }) + '</soap:Body></soap:Envelope>';
  assert.ok(xml.length > 3_000_000);
  const started = Date.now();
  const back = parseRevisionIdList(expectResponse({ op: readSoapAnswer(xml).op! }, 'GetRevisionIdList'));
  assert.deepEqual(back.revisions, revisions);
  assert.ok(Date.now() - started < 10_000, `parsing took ${Date.now() - started} ms`);
});

test('the captured faults reach the sync service as UpstreamFaultError codes (bodies replayed verbatim)', { skip: !wsusssPresent && WSUSSS_SKIP }, async () => {
  // Each operation answered with one real exchange, status included.
  const byOp: Record<string, number> = { GetAuthConfig: 1, GetAuthorizationCookie: 2, GetCookie: 3, GetUpdateData: 17, GetRevisionIdList: 18, GetConfigData: 19 };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const n = byOp[/<soap:Body><(\w+)/.exec(body)![1]!]!;
      const meta = JSON.parse(readFileSync(join(WSUSSS_DIR, 'exchanges', String(n).padStart(6, '0'), 'meta.json'), 'utf8')) as { status: number };
      res.writeHead(meta.status, { 'content-type': 'text/xml; charset=utf-8' }).end(recordedResponse(n));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const dispatcher = createUpstreamDispatcher({ proxy: null, caFile: null, connectTimeoutSeconds: 5, requestTimeoutSeconds: 5 });
  try {
    const s = await openUpstreamSession({
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, serverId: '6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12',
      serverName: 'probe.lab.invalid', dispatcher, requestTimeoutMs: 5000, retries: 2, retryBaseDelayMs: 1, lastCookie: null, log: quietLog,
    });
    const code = (op: string, errorCode: string, message = '') => (e: unknown) =>
      e instanceof UpstreamFaultError && e.operation === op && e.errorCode === errorCode && e.faultMessage === message && e.httpStatus === 500;
    await assert.rejects(s.updateData([{ updateId: '00000000-0000-0000-0000-000000000001', revisionNumber: 1 }]), code('GetUpdateData', 'InternalServerError'));
    await assert.rejects(s.revisionIdList({ anchor: 'garbage', getConfig: false, get63LanguageOnly: false, categories: null, classifications: null, languages: null }),
      code('GetRevisionIdList', 'InvalidParameters', 'filter'));
    // InvalidCookie: one re-authentication, refused again, then reported.
    await assert.rejects(s.configData(null), code('GetConfigData', 'InvalidCookie'));
  } finally {
    await dispatcher.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
