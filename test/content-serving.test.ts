import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Pool, request } from 'undici';
import { CAPTURES } from './support/captures.js';
import { ContentFixture, STORED_AT, get, rawExchange, type TestFile } from './support/content-fixture.js';

// /Content served over real HTTP on loopback as Delivery Optimization and BITS use it. More
// cases (conditionals, hostile input, self-update) are in content-serving-edges.test.ts.

const MiB = 1024 * 1024;
const fx = new ContentFixture();
let tiny: TestFile, almostMiB: TestFile, several: TestFile;

before(async () => {
  tiny = fx.addRandom(1);
  almostMiB = fx.addRandom(MiB - 1, 'exe');
  several = fx.addRandom(5 * MiB + 12_345, 'msu');
  await fx.start();
});
after(() => fx.close());

function shuffled<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

test('a Delivery Optimization client (shuffled 1 MiB ranges, 7 keep-alive connections) gets byte-identical files', async () => {
  const pool = new Pool(fx.origin, { connections: 7, pipelining: 1 });
  try {
    for (const f of [tiny, almostMiB, several]) {
      const out = Buffer.alloc(f.size);
      const pieces = shuffled(Array.from({ length: Math.ceil(f.size / MiB) }, (_, i) => i));
      await Promise.all(pieces.map(async (i) => {
        const start = i * MiB;
        const end = Math.min(f.size, start + MiB) - 1;
        const r = await pool.request({
          path: f.url, method: 'GET',
          headers: { connection: 'Keep-Alive', accept: '*/*', range: `bytes=${start}-${end}`, 'user-agent': 'Microsoft-Delivery-Optimization/10.1' },
        });
        const body = Buffer.from(await r.body.arrayBuffer());
        assert.equal(r.statusCode, 206);
        assert.equal(r.headers['content-range'], `bytes ${start}-${end}/${f.size}`);
        assert.equal(r.headers['content-length'], String(end - start + 1));
        assert.equal(r.headers['accept-ranges'], 'bytes');
        assert.equal(r.headers['content-encoding'], undefined);
        body.copy(out, start);
        assert.equal(body.length, end - start + 1);
      }));
      assert.equal(createHash('sha1').update(out).digest('hex').toUpperCase(), f.sha1, `SHA-1 of ${f.size}-byte file`);
      assert.equal(createHash('sha256').update(out).digest('base64'), f.sha256, `SHA-256 of ${f.size}-byte file`);
    }
  } finally {
    await pool.close();
  }
});

const NATIVE = join(CAPTURES, 'wsus-m0-native/content-headers');

test('the real captured Delivery Optimization requests get the headers IIS sent', { skip: existsSync(NATIVE) ? false : `captures not found at ${NATIVE}` }, async () => {
  // Same digests, names and sizes as the capture; sparse files stand in for the payloads.
  fx.addSparse('2F88DF42DA48AA980FB748D13BAA2DE49CD154AB', 204_745_168);
  fx.addSparse('6103D9F6BF95C772C8B7EE89AEE370CDCA4642F8', 918_944);
  for (const exchange of ['whole-file-single-range', 'first-range-by-offset', 'middle-range', 'final-range']) {
    const requestText = readFileSync(join(NATIVE, exchange, 'request.headers'), 'latin1');
    const captured = readFileSync(join(NATIVE, exchange, 'response.headers'), 'latin1').split('\r\n');
    const want = new Map(captured.slice(1).filter(Boolean).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const r = await rawExchange(fx.port, requestText);
    assert.equal(r.statusLine, captured[0], exchange);
    for (const name of ['content-type', 'accept-ranges', 'content-length', 'content-range']) assert.equal(r.header(name), want.get(name), `${exchange}: ${name}`);
    assert.equal(r.body.length, Number(want.get('content-length')));
    assert.match(r.header('etag') ?? '', /^"[0-9A-F]{40}"$/);
    assert.match(r.header('last-modified') ?? '', /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    assert.equal(r.header('content-encoding'), undefined);
    assert.equal(r.header('transfer-encoding'), undefined);
  }
});

test('HEAD, whole-file GET, open and suffix ranges, 416; stable validators', async () => {
  const url = `${fx.origin}${several.url}`;
  const head = await request(url, { method: 'HEAD' });
  await head.body.dump();
  assert.equal(head.statusCode, 200);
  assert.equal(head.headers['content-length'], String(several.size));
  assert.equal(head.headers['accept-ranges'], 'bytes');
  assert.equal(head.headers['etag'], `"${several.sha1}"`);
  assert.equal(head.headers['last-modified'], new Date(STORED_AT).toUTCString());
  assert.equal(head.headers['content-type'], 'application/octet-stream');

  const whole = await request(url);
  const all = Buffer.from(await whole.body.arrayBuffer());
  assert.equal(whole.statusCode, 200);
  assert.ok(all.equals(several.data!));

  const open = await request(url, { headers: { range: `bytes=${several.size - 1000}-` } });
  assert.equal(open.statusCode, 206);
  assert.equal(open.headers['content-range'], `bytes ${several.size - 1000}-${several.size - 1}/${several.size}`);
  assert.ok(Buffer.from(await open.body.arrayBuffer()).equals(several.data!.subarray(several.size - 1000)));

  const suffix = await request(url, { headers: { range: 'bytes=-500' } });
  assert.equal(suffix.statusCode, 206);
  assert.equal(suffix.headers['content-range'], `bytes ${several.size - 500}-${several.size - 1}/${several.size}`);
  assert.ok(Buffer.from(await suffix.body.arrayBuffer()).equals(several.data!.subarray(several.size - 500)));

  const one = await request(`${fx.origin}${tiny.url}`, { headers: { range: 'bytes=0-0' } });
  assert.equal(one.statusCode, 206);
  assert.equal(one.headers['content-range'], 'bytes 0-0/1');
  assert.equal(one.headers['content-type'], 'application/vnd.ms-cab-compressed');
  assert.ok(Buffer.from(await one.body.arrayBuffer()).equals(tiny.data!));

  for (const range of [`bytes=${several.size}-`, `bytes=${several.size}-${several.size + 10}`, 'bytes=-0']) {
    const r = await request(url, { headers: { range } });
    await r.body.dump();
    assert.equal(r.statusCode, 416, range);
    assert.equal(r.headers['content-range'], `bytes */${several.size}`, range);
  }
});

test('never compressed, whatever the client accepts', async () => {
  for (const enc of ['gzip, xpress', 'gzip, deflate, br', 'xpress']) {
    const r = await request(`${fx.origin}${almostMiB.url}`, { headers: { 'accept-encoding': enc } });
    const body = Buffer.from(await r.body.arrayBuffer());
    assert.equal(r.headers['content-encoding'], undefined, enc);
    assert.equal(r.headers['content-length'], String(almostMiB.size));
    assert.ok(body.equals(almostMiB.data!));
  }
});

test('case-insensitive paths and digests; XX must be the digest\'s last two hex digits', async () => {
  const lower = `/content/${tiny.sha1.slice(-2).toLowerCase()}/${tiny.sha1.toLowerCase()}.CAB`;
  const mixed = `/CONTENT/${tiny.sha1.slice(-2)}/${tiny.sha1.slice(0, 20).toLowerCase()}${tiny.sha1.slice(20)}.Cab`;
  for (const path of [lower, mixed, `//Content//${tiny.sha1.slice(-2)}/${tiny.sha1}.cab`]) {
    const r = await request(`${fx.origin}${path}`);
    assert.equal(r.statusCode, 200, path);
    assert.ok(Buffer.from(await r.body.arrayBuffer()).equals(tiny.data!));
  }
  const wrongDir = await request(`${fx.origin}/Content/00/${tiny.sha1}.cab`);
  await wrongDir.body.dump();
  assert.equal(wrongDir.statusCode, tiny.sha1.endsWith('00') ? 200 : 404);
});

test('missing content: known → 404 and a download request; unknown → 404; vanished file → 404 and a download request', async () => {
  const known = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA11';
  fx.locator.known.add(known);
  const before = fx.locator.downloads.length;
  const r1 = await request(`${fx.origin}/Content/11/${known}.cab`);
  assert.equal(r1.statusCode, 404);
  assert.match(await r1.body.text(), /not been downloaded/);
  assert.deepEqual(fx.locator.downloads.slice(before), [known]);

  const r2 = await request(`${fx.origin}/Content/22/BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB22.cab`);
  await r2.body.dump();
  assert.equal(r2.statusCode, 404);
  assert.equal(fx.locator.downloads.length, before + 1);

  const gone = fx.addRandom(100);
  rmSync(gone.path);
  const r3 = await request(`${fx.origin}${gone.url}`);
  await r3.body.dump();
  assert.equal(r3.statusCode, 404);
  assert.deepEqual(fx.locator.downloads.slice(before + 1), [gone.sha1]);
});

test('the anonymous check file and method refusals', async () => {
  for (const path of ['/Content/anonymousCheckFile.txt', '/content/ANONYMOUSCHECKFILE.TXT']) {
    const r = await request(`${fx.origin}${path}`);
    assert.equal(r.statusCode, 200);
    assert.match(r.headers['content-type'] as string, /^text\/plain/);
    assert.ok((await r.body.text()).length > 0);
  }
  for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS'] as const) {
    const r = await request(`${fx.origin}${tiny.url}`, { method, body: method === 'OPTIONS' ? undefined : 'x' });
    await r.body.dump();
    assert.equal(r.statusCode, 405, method);
    assert.equal(r.headers.allow, 'GET, HEAD');
  }
  const other = await request(`${fx.origin}/somewhere/else`);
  await other.body.dump();
  assert.equal(other.statusCode, 404, 'other paths fall through to the app');
});
