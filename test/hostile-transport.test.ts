import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { CLIENT_NS } from '../src/protocol/soap/namespaces.js';
import { envelope } from './support/wua-client.js';
import { head, postRaw, rawExchange, soapFault } from './support/fuzz-http.js';
import { startHostileServer, type HostileServer } from './support/fuzz-server.js';
import { CLIENT_PATH } from './support/fuzz-corpus.js';

// What no well-behaved HTTP client sends: a Content-Length that lies either way, chunked
// bodies over the limit or malformed, foreign content types and encodings, other methods on
// the SOAP paths, oversized heads. Each gets its status, none holds up other clients, none
// stores anything. (Slow senders are the overload tests' business.)

const GET_CONFIG = envelope(`<GetConfig xmlns="${CLIENT_NS}"><protocolVersion>2.90</protocolVersion></GetConfig>`);

async function waitForLog(h: HostileServer, from: number, match: Record<string, unknown>): Promise<void> {
  // Bounded by the test runner's timeout, not by a clock: the line arrives when the server notices the close.
  while (h.logs.find(match, from).length === 0) await new Promise((r) => setTimeout(r, 20));
}

test('lying Content-Length, chunking, content types, encodings and methods: the right status, logged, nothing stored, still serving', async (t) => {
  const h = await startHostileServer({ limits: { maxBodyBytes: 1024 * 1024 } });
  t.after(() => h.close());
  const before = h.counts();

  // Declared longer than sent, connection held open: other clients are served meanwhile; when
  // the peer gives up, the request is refused and logged, and the connection is closed.
  let mark = h.logs.mark();
  const hanging = rawExchange(h.server.port, [head('POST', CLIENT_PATH, { 'Content-Type': 'text/xml', 'Content-Length': 10_000 }), GET_CONFIG.slice(0, 100)],
    { keepOpen: true, waitMs: 500 });
  const during = await postRaw(h.server.url, CLIENT_PATH, GET_CONFIG);
  assert.equal(during.status, 200, 'served while another request waits for its body');
  const gaveUp = await hanging;
  assert.equal(gaveUp.status, null, 'no answer while the body is still expected');
  await waitForLog(h, mark, { message: 'request refused before SOAP', status: 400 });
  // The same, half-closed by the peer after the partial body.
  mark = h.logs.mark();
  const halfClosed = await rawExchange(h.server.port, [head('POST', CLIENT_PATH, { 'Content-Type': 'text/xml', 'Content-Length': 10_000 }), GET_CONFIG.slice(0, 100)]);
  assert.ok(halfClosed.closed, 'the server closes a connection whose body can never complete');
  await waitForLog(h, mark, { message: 'request refused before SOAP', status: 400 });

  // Declared shorter than sent: the declared bytes are the request (a truncated envelope, refused
  // as malformed XML), the rest is not HTTP: Node's parser answers 400 and closes the connection,
  // which may come before the fault for the first part.
  mark = h.logs.mark();
  const short = await rawExchange(h.server.port, [head('POST', CLIENT_PATH, { 'Content-Type': 'text/xml', 'Content-Length': 60 }), GET_CONFIG]);
  assert.ok(short.status === 500 || short.status === 400, short.raw.slice(0, 300));
  if (short.status === 500) {
    const firstBody = short.raw.slice(short.raw.indexOf('\r\n\r\n') + 4, short.raw.indexOf('</s:Envelope>') + '</s:Envelope>'.length);
    assert.equal(soapFault(firstBody)?.errorCode, 'InvalidParameters', short.raw.slice(0, 600));
  }
  assert.match(short.raw, /HTTP\/1\.1 400 Bad Request/, 'the leftover bytes are refused as a request');
  assert.ok(short.closed);
  await waitForLog(h, mark, { message: 'malformed SOAP request' });
  // Declared shorter, and only that much sent: an ordinary truncated request, answered with the fault.
  const cut = await rawExchange(h.server.port, [head('POST', CLIENT_PATH, { 'Content-Type': 'text/xml', 'Content-Length': 60 }), GET_CONFIG.slice(0, 60)], { keepOpen: true, waitMs: 1000 });
  assert.equal(cut.status, 500);
  assert.equal(soapFault(cut.raw.slice(cut.raw.indexOf('\r\n\r\n') + 4))?.message, 'request');

  // Content-Length the parser refuses, and framing ambiguity (request smuggling): 400 from Node's HTTP parser.
  for (const [name, headers] of [
    ['non-numeric Content-Length', { 'Content-Type': 'text/xml', 'Content-Length': 'abc' }],
    ['negative Content-Length', { 'Content-Type': 'text/xml', 'Content-Length': '-1' }],
    ['Content-Length and chunked', { 'Content-Type': 'text/xml', 'Content-Length': 5, 'Transfer-Encoding': 'chunked' }],
    ['two Content-Lengths', { 'Content-Type': 'text/xml', 'Content-Length': '5\r\nContent-Length: 6' }],
  ] as const) {
    const r = await rawExchange(h.server.port, [head('POST', CLIENT_PATH, headers), 'hello0\r\n\r\n']);
    assert.equal(r.status, 400, name);
  }

  // A huge declared length is refused at once, before any body is sent (Expect: 100-continue).
  mark = h.logs.mark();
  const declared = await rawExchange(h.server.port, [head('POST', CLIENT_PATH, { 'Content-Type': 'text/xml', 'Content-Length': 1 << 30, Expect: '100-continue' })], { keepOpen: true, waitMs: 2000 });
  assert.deepEqual(declared.statuses.filter((x) => x !== 100), [413], declared.raw.slice(0, 200));
  assert.equal(h.logs.find({ message: 'request refused before SOAP', status: 413 }, mark).length, 1);

  // Chunked over the limit: refused while streaming, as soon as the limit is passed.
  mark = h.logs.mark();
  const MB = 'x'.repeat(256 * 1024);
  const chunk = `${(MB.length).toString(16)}\r\n${MB}\r\n`;
  const chunked = await rawExchange(h.server.port, [head('POST', CLIENT_PATH, { 'Content-Type': 'text/xml', 'Transfer-Encoding': 'chunked' }), ...Array(6).fill(chunk)],
    { keepOpen: true, waitMs: 5000 });
  assert.equal(chunked.status, 413);
  assert.equal(h.logs.find({ message: 'request refused before SOAP', status: 413 }, mark).length, 1);
  // Chunked within the limit is an ordinary request; malformed chunking is the parser's 400.
  const okChunked = await rawExchange(h.server.port, [head('POST', CLIENT_PATH, { 'Content-Type': 'text/xml', 'Transfer-Encoding': 'chunked' }),
    `${Buffer.byteLength(GET_CONFIG).toString(16)}\r\n${GET_CONFIG}\r\n0\r\n\r\n`]);
  assert.equal(okChunked.status, 200);
  const badChunk = await rawExchange(h.server.port, [head('POST', CLIENT_PATH, { 'Content-Type': 'text/xml', 'Transfer-Encoding': 'chunked' }), 'zz\r\nhello\r\n0\r\n\r\n']);
  assert.equal(badChunk.status, 400);

  // Content types and encodings SOAP 1.1 does not use: 415, logged.
  for (const [name, headers, status] of [
    ['JSON content type', { 'content-type': 'application/json' }, 415],
    ['SOAP 1.2 content type', { 'content-type': 'application/soap+xml; charset=utf-8' }, 415],
    ['no content type', { 'content-type': '' }, 415],
    ['gzip encoding', { 'content-encoding': 'gzip' }, 415],
    ['two encodings', { 'content-encoding': 'xpress, gzip' }, 415],
    ['xpress header on a plain body', { 'content-encoding': 'xpress' }, 400],
  ] as const) {
    mark = h.logs.mark();
    const r = await postRaw(h.server.url, CLIENT_PATH, GET_CONFIG, headers);
    assert.equal(r.status, status, name);
    assert.equal(h.logs.find({ message: 'request refused before SOAP', status, service: 'ClientWebService' }, mark).length, 1, `${name} logged`);
  }

  // Other methods: GET and HEAD describe the service, the rest is 405 with Allow.
  for (const method of ['GET', 'HEAD']) {
    const r = await request(`${h.server.url}${CLIENT_PATH}`, { method: method as 'GET' });
    await r.body.dump();
    assert.equal(r.statusCode, 200, method);
  }
  for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    const r = await request(`${h.server.url}${CLIENT_PATH}`, { method: method as 'PUT', body: method === 'PUT' || method === 'PATCH' ? GET_CONFIG : undefined });
    await r.body.dump();
    assert.equal(r.statusCode, 405, method);
    assert.equal(r.headers.allow, 'GET, HEAD, POST', method);
  }

  // Heads over Node's 16 KB limit, and request lines that are not HTTP.
  const bigHead = await rawExchange(h.server.port, [head('POST', CLIENT_PATH, { 'Content-Type': 'text/xml', 'X-Pad': 'a'.repeat(20_000), 'Content-Length': 0 })]);
  assert.equal(bigHead.status, 431);
  for (const line of ['POST /ClientWebService/client.asmx\0 HTTP/1.1\r\n\r\n', 'GARBAGE\r\n\r\n', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03']) {
    const r = await rawExchange(h.server.port, [line]);
    assert.ok(r.status === 400 || (r.status === null && r.closed), JSON.stringify(r.raw.slice(0, 100)));
  }

  assert.deepEqual(h.counts(), before, 'nothing stored');
  assert.equal(h.logs.records.filter((l) => l.level === 'error').length, 0, 'no unexpected error logged');
  await h.assertStillServing();
});
