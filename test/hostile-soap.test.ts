import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { xpressCompress } from '../src/protocol/xpress/index.js';
import { CLIENT_NS, REPORTING_NS, SIMPLE_AUTH_NS } from '../src/protocol/soap/namespaces.js';
import { DSS_AUTH_NS, DSS_AUTH_PATH, REPORTING_PATH, SERVER_SYNC_NS, SERVER_SYNC_PATH } from '../src/protocol/server-sync/namespaces.js';
import { envelope, WuaClient } from './support/wua-client.js';
import { postRaw, soapFault } from './support/fuzz-http.js';
import { startHostileServer, type HostileServer } from './support/fuzz-server.js';
import { CLIENT_PATH, SIMPLE_AUTH_PATH } from './support/fuzz-corpus.js';

// Deterministic hostile XML against every SOAP endpoint: each case gets the answer the code
// promises (the real fault shape with InvalidParameters, or an HTTP status before SOAP), a log
// line saying why, and afterwards nothing is stored, nothing was fetched from outside, and a
// normal scan still works.

interface Endpoint {
  service: string;
  path: string;
  ns: string;
  style: 'client' | 'asmx';
  /** a valid request of this service that needs no cookie */
  valid: string;
  /** the same operation with one parameter of `big` characters, and the fault it must get */
  huge: (big: string) => string;
  hugeFault: [code: string, message: string];
}

const op = (ns: string, name: string, inner: string): string => envelope(`<${name} xmlns="${ns}">${inner}</${name}>`);
const cookie = (data: string): string => `<cookie><Expiration>2030-01-01T00:00:00Z</Expiration><EncryptedData>${data}</EncryptedData></cookie>`;

const ENDPOINTS: Endpoint[] = [
  {
    service: 'ClientWebService', path: CLIENT_PATH, ns: CLIENT_NS, style: 'client',
    valid: op(CLIENT_NS, 'GetConfig', '<protocolVersion>2.90</protocolVersion>'),
    huge: (big) => op(CLIENT_NS, 'GetConfig', `<protocolVersion>${big}</protocolVersion>`), hugeFault: ['InvalidParameters', 'protocolVersion'],
  },
  {
    service: 'SimpleAuthWebService', path: SIMPLE_AUTH_PATH, ns: SIMPLE_AUTH_NS, style: 'asmx',
    valid: op(SIMPLE_AUTH_NS, 'GetAuthorizationCookie', `<clientId>${randomUUID()}</clientId><dnsName>pc.lab.invalid</dnsName>`),
    huge: (big) => op(SIMPLE_AUTH_NS, 'GetAuthorizationCookie', `<clientId>${big}</clientId><dnsName>pc</dnsName>`), hugeFault: ['InvalidParameters', 'clientId'],
  },
  {
    service: 'ReportingWebService', path: REPORTING_PATH, ns: REPORTING_NS, style: 'asmx',
    valid: op(SERVER_SYNC_NS, 'GetRollupConfiguration', ''),
    huge: (big) => op(REPORTING_NS, 'ReportEventBatch', `${cookie(big)}<clientTime>2026-01-01T00:00:00Z</clientTime><eventBatch/>`), hugeFault: ['InvalidCookie', ''],
  },
  {
    service: 'ServerSyncWebService', path: SERVER_SYNC_PATH, ns: SERVER_SYNC_NS, style: 'asmx',
    valid: op(SERVER_SYNC_NS, 'GetAuthConfig', ''),
    huge: (big) => op(SERVER_SYNC_NS, 'GetConfigData', cookie(big)), hugeFault: ['InvalidCookie', ''],
  },
  {
    service: 'DssAuthWebService', path: DSS_AUTH_PATH, ns: DSS_AUTH_NS, style: 'asmx',
    valid: op(DSS_AUTH_NS, 'GetAuthorizationCookie', '<accountName>dss.lab.invalid</accountName><accountGuid>not-a-guid</accountGuid>'),
    huge: (big) => op(DSS_AUTH_NS, 'GetAuthorizationCookie', `<accountName>${big}</accountName><accountGuid>${randomUUID()}</accountGuid>`), hugeFault: ['InvalidParameters', 'machineName'],
  },
];

/** A listener that counts connections: an external entity or DTD the server fetched would show here. */
async function canary(): Promise<{ port: number; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const s: Server = createServer((sock) => {
    hits++;
    sock.destroy();
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { port: (s.address() as { port: number }).port, hits: () => hits, close: () => new Promise((r) => s.close(() => r())) };
}

/** XML that never was a valid request: the strict reader refuses it ("request"). */
function malformed(ep: Endpoint, canaryPort: number): Array<[string, string | Buffer]> {
  const v = ep.valid;
  const inner = v.slice(v.indexOf('<s:Body>') + 8, v.indexOf('</s:Body>'));
  const x = `http://127.0.0.1:${canaryPort}`;
  return [
    ['not XML', 'hello'],
    ['empty body', ''],
    ['truncated at half', v.slice(0, Math.floor(v.length / 2))],
    ['truncated by one byte', v.slice(0, -1)],
    ['mismatched end tag', v.replace('</s:Body>', '</s:Bod>')],
    ['unbound prefix', v.replace('<s:Body>', '<q:Body>').replace('</s:Body>', '</q:Body>')],
    ['two document elements', `${v}${v}`],
    ['10,000 levels of nesting', envelope('<a>'.repeat(10_000) + '</a>'.repeat(10_000))],
    ['200,001 elements', `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>${'<a/>'.repeat(200_001)}</s:Header><s:Body>${inner}</s:Body></s:Envelope>`],
    ['65 attributes on one element', v.replace('<s:Body>', `<s:Body ${Array.from({ length: 65 }, (_, i) => `a${i}="1"`).join(' ')}>`)],
    ['duplicate attribute', v.replace('<s:Body>', '<s:Body a="1" a="2">')],
    ['billion laughs', `<!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">` +
      `<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>${v.replace('</s:Body>', '&d;</s:Body>')}`],
    ['external entity file:///etc/passwd', `<!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]>${v.replace('</s:Body>', '&x;</s:Body>')}`],
    ['external entity http://', `<!DOCTYPE s [<!ENTITY x SYSTEM "${x}/entity">]>${v.replace('</s:Body>', '&x;</s:Body>')}`],
    ['external DTD', `<!DOCTYPE s SYSTEM "${x}/evil.dtd">${v}`],
    ['parameter entity', `<!DOCTYPE s [<!ENTITY % p SYSTEM "${x}/p.dtd"> %p;]>${v}`],
    ['undeclared entity', v.replace('</s:Body>', '&x;</s:Body>')],
    ['character reference to NUL', v.replace('</s:Body>', '&#0;</s:Body>')],
    ['character reference to a control character', v.replace('</s:Body>', '<x>&#1;</x></s:Body>')],
    ['raw control character', v.replace('</s:Body>', '<x>\u0001</x></s:Body>')],
    ['control character in an attribute', v.replace('<s:Body>', '<s:Body a="&#x1b;">')],
    ['U+FFFF in CDATA', v.replace('</s:Body>', '<x><![CDATA[\uffff]]></x></s:Body>')],
    ['processing instruction', v.replace('<s:Body>', '<s:Body><?php system("id"); ?>')],
    ['XML declaration mid-document', v.replace('<s:Body>', '<s:Body><?xml version="1.0"?>')],
    ['unterminated CDATA', v.replace('</s:Body>', '<![CDATA[x</s:Body>')],
    ['invalid UTF-8', Buffer.concat([Buffer.from(v.slice(0, 40)), Buffer.from([0xc0, 0x80, 0xed, 0xa0, 0x80, 0xff]), Buffer.from(v.slice(40))])],
    ['UTF-16LE with BOM, odd length', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(v, 'utf16le'), Buffer.from([0x3c])])],
    ['UTF-16LE with BOM, lone surrogate', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(v, 'utf16le').subarray(0, 40), Buffer.from([0x00, 0xd8]), Buffer.from(v, 'utf16le').subarray(40)])],
    ['UTF-16LE without BOM', Buffer.from(v, 'utf16le')],
    ['UTF-16BE without BOM', Buffer.from(v, 'utf16le').swap16()],
    ['UTF-32 BOM', Buffer.concat([Buffer.from([0x00, 0x00, 0xfe, 0xff]), Buffer.from(v)])],
    ['document element not an Envelope', `<s:Body xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">${inner}</s:Body>`],
    ['no Body', '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header/></s:Envelope>'],
    ['empty Body', envelope('')],
  ];
}

interface Expect { status: number; code?: string; message?: string; faultcode?: string; log: string }

async function expectAnswer(h: HostileServer, ep: Endpoint, name: string, body: string | Buffer, want: Expect, headers: Record<string, string> = {}): Promise<void> {
  const mark = h.logs.mark();
  const r = await postRaw(h.server.url, ep.path, body, { soapaction: `"${ep.ns}/x"`, ...headers });
  const what = `${ep.service}: ${name}`;
  assert.equal(r.status, want.status, `${what}: ${r.text.slice(0, 300)}`);
  if (want.code !== undefined) {
    const f = soapFault(r.text);
    assert.ok(f, `${what}: not the real fault shape: ${r.text.slice(0, 300)}`);
    assert.equal(f.style, ep.style, what);
    assert.equal(f.errorCode, want.code, what);
    assert.equal(f.faultcode, want.faultcode ?? (want.code === 'InternalServerError' || want.code === 'ServerBusy' ? 'Server' : 'Client'), what);
    if (want.message !== undefined) assert.equal(f.message, want.message, what);
  }
  assert.doesNotMatch(r.text, /root:|aaaaaaaaaa/, `${what}: nothing expanded or read from disk`);
  const logged = h.logs.since(mark).filter((l) => l.message === want.log && (l.service === ep.service || l.service === undefined));
  assert.ok(logged.length > 0, `${what}: logged "${want.log}" (got ${JSON.stringify(h.logs.since(mark).map((l) => l.message))})`);
  assert.equal(h.logs.since(mark).filter((l) => l.level === 'error').length, 0, `${what}: no error logged`);
}

const REQUEST: Omit<Expect, 'status'> = { code: 'InvalidParameters', message: 'request', log: 'malformed SOAP request' };

test('hostile XML against every SOAP endpoint: the real fault, a log line, nothing stored, nothing fetched, still serving', async (t) => {
  const h = await startHostileServer();
  const c = await canary();
  t.after(async () => {
    await c.close();
    await h.close();
  });
  // A registered client, so the cookie-bearing cases below meet a live cookie.
  const client = new WuaClient(h.server.url, randomUUID());
  await client.handshake();
  const before = h.counts();

  for (const ep of ENDPOINTS) {
    for (const [name, body] of malformed(ep, c.port)) {
      await expectAnswer(h, ep, name, body, { status: 500, ...REQUEST, faultcode: 'Client' });
    }
    const v = ep.valid;
    const inner = v.slice(v.indexOf('<s:Body>') + 8, v.indexOf('</s:Body>'));
    // An Envelope in any namespace but SOAP 1.1's is a version mismatch (SOAP 1.1 section 4.4).
    for (const [name, body] of [
      ['SOAP 1.2 envelope', `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>${inner}</e:Body></e:Envelope>`],
      ['foreign envelope namespace', `<e:Envelope xmlns:e="urn:evil"><e:Body>${inner}</e:Body></e:Envelope>`],
      ['Envelope without a namespace', `<Envelope><Body>${inner}</Body></Envelope>`],
    ] as const) {
      await expectAnswer(h, ep, name, body, { status: 500, ...REQUEST, faultcode: 'VersionMismatch' });
    }
    await expectAnswer(h, ep, 'operation in a foreign namespace', v.replace(`xmlns="${ep.ns}"`, 'xmlns="urn:evil"').replace(`xmlns="${SERVER_SYNC_NS}"`, 'xmlns="urn:evil"'),
      { status: 500, code: 'InvalidParameters', message: 'operation', log: 'unknown SOAP operation' });
    await expectAnswer(h, ep, 'unknown operation', op(ep.ns, 'Frobnicate', ''), { status: 500, code: 'InvalidParameters', message: 'operation', log: 'unknown SOAP operation' });
    // 3 MB in one parameter: read (it is within maxBodyBytes), refused by that parameter's check.
    await expectAnswer(h, ep, '3 MB parameter', ep.huge('A'.repeat(3 * 1024 * 1024)),
      { status: 500, code: ep.hugeFault[0], message: ep.hugeFault[1], log: 'SOAP fault' });
    // XInclude and schema hints are just unknown markup: nothing is fetched.
    await expectAnswer(h, ep, 'XInclude', envelope(`<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="http://127.0.0.1:${c.port}/xi"/>`),
      { status: 500, code: 'InvalidParameters', message: 'operation', log: 'unknown SOAP operation' });
  }

  const client0 = ENDPOINTS[0]!;
  // Accepted spellings stay accepted: a UTF-8 BOM, UTF-16 with a BOM, a 3 MB attribute (within maxBodyBytes).
  for (const [name, body] of [
    ['UTF-8 BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(client0.valid)])],
    ['UTF-16LE with BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(client0.valid, 'utf16le')])],
    ['UTF-16BE with BOM', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(client0.valid, 'utf16le').swap16()])],
    ['3 MB attribute', client0.valid.replace('<s:Body>', `<s:Body a="${'A'.repeat(3 * 1024 * 1024)}">`)],
  ] as const) {
    const r = await postRaw(h.server.url, CLIENT_PATH, body);
    assert.equal(r.status, 200, name);
    assert.match(r.text, /<GetConfigResult>/, name);
  }

  // 1,000,000-element int arrays. Beyond maxBodyBytes: 413 before anything is parsed.
  const million = `<SyncUpdates xmlns="${CLIENT_NS}">${client.cookieXml()}<parameters><OtherCachedUpdateIDs>${'<int>1</int>'.repeat(1_000_000)}</OtherCachedUpdateIDs></parameters></SyncUpdates>`;
  let mark = h.logs.mark();
  let r = await postRaw(h.server.url, CLIENT_PATH, envelope(million));
  assert.equal(r.status, 413);
  assert.equal(h.logs.find({ message: 'request refused before SOAP', status: 413 }, mark).length, 1);
  // Within maxBodyBytes (xpress: 12 MB expand from a few KB, under maxDecompressedBytes): the reader stops at maxXmlElements.
  const packed = xpressCompress(Buffer.from(envelope(million)), 65535);
  assert.ok(packed.length < 4 * 1024 * 1024);
  await expectAnswer(h, client0, '1,000,000 ints, xpress', packed, { status: 500, ...REQUEST }, { 'content-encoding': 'xpress' });
  // Within every XML limit but over maxArrayItems: the handler names the parameter.
  await expectAnswer(h, client0, '100,000 ints', envelope(million.replace('<int>1</int>'.repeat(1_000_000), '<int>1</int>'.repeat(100_000))),
    { status: 500, code: 'InvalidParameters', message: 'parameters.OtherCachedUpdateIDs', log: 'SOAP fault' });

  // Xpress bombs: a small body declaring more than maxDecompressedBytes is refused before any output is allocated.
  const bomb = xpressCompress(Buffer.alloc(17 * 1024 * 1024, 0x20), 65535);
  assert.ok(bomb.length < 64 * 1024, `the bomb is small (${bomb.length} bytes)`);
  mark = h.logs.mark();
  r = await postRaw(h.server.url, CLIENT_PATH, bomb, { 'content-encoding': 'xpress' });
  assert.equal(r.status, 400);
  assert.match(r.text, /exceeds the limit/);
  assert.equal(h.logs.find({ message: 'request refused before SOAP', status: 400, reason: /exceeds the limit/ }, mark).length, 1);
  // Just under the limit: expands, then the strict reader refuses it (here: too many elements).
  await expectAnswer(h, client0, 'xpress expanding to 15 MB', xpressCompress(Buffer.from(envelope('<a/>'.repeat(15 * 256 * 1024))), 65535),
    { status: 500, ...REQUEST }, { 'content-encoding': 'xpress' });
  // Attributes count as nodes: 16 MB of `aN=""` pairs would otherwise become ~250 MB of heap.
  const attrs = `<a ${Array.from({ length: 64 }, (_, i) => `a${i}=""`).join(' ')}/>`;
  mark = h.logs.mark();
  await expectAnswer(h, client0, 'xpress expanding to 16 MB of attributes', xpressCompress(Buffer.from(envelope(attrs.repeat(Math.floor(15.9 * 1024 * 1024 / attrs.length)))), 65535),
    { status: 500, ...REQUEST }, { 'content-encoding': 'xpress' });
  assert.equal(h.logs.find({ message: 'malformed SOAP request', reason: /too many elements and attributes/ }, mark).length, 1);
  // Malformed xpress: garbage, a cut frame, a match reaching before the output, a block over 64 KB.
  const good = xpressCompress(Buffer.from(client0.valid));
  const backRef = Buffer.from([16, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0x80, 0xf8, 0xff]);
  const oversized = Buffer.from([0, 0, 1, 0, 4, 0, 0, 0, 1, 2, 3, 4]);
  for (const [name, body] of [['garbage', Buffer.from('not xpress at all')], ['cut frame', good.subarray(0, good.length - 3)],
    ['match before the output', backRef], ['65536-byte block', oversized], ['empty frame header', Buffer.from([1, 2, 3])]] as const) {
    mark = h.logs.mark();
    r = await postRaw(h.server.url, CLIENT_PATH, body, { 'content-encoding': 'xpress' });
    assert.equal(r.status, 400, `xpress ${name}`);
    assert.equal(h.logs.find({ message: 'request refused before SOAP', status: 400 }, mark).length, 1, `xpress ${name} logged`);
  }

  assert.equal(c.hits(), 0, 'no external entity, DTD or XInclude was fetched');
  assert.deepEqual(h.counts(), before, 'hostile input stored nothing');
  assert.equal(h.logs.records.filter((l) => l.level === 'error').length, 0, 'no unexpected error logged');
  await h.assertStillServing();
});

test('operation names of Object.prototype are unknown operations, not handlers (constructor, toString, __proto__)', async (t) => {
  const h = await startHostileServer({}, { catalog: false });
  t.after(() => h.close());
  for (const ep of ENDPOINTS) {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', '__defineGetter__']) {
      await expectAnswer(h, ep, `operation ${name}`, op(ep.ns, name, ''), { status: 500, code: 'InvalidParameters', message: 'operation', log: 'unknown SOAP operation' });
    }
  }
});
