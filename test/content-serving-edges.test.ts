import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { selfUpdateHealth } from '../src/http/content-routes.js';
import { ContentFixture, get, rawExchange, type TestFile } from './support/content-fixture.js';

// Conditional requests, multipart answers, hostile input and the self-update tree, over real
// HTTP on loopback.

const fx = new ContentFixture();
let file: TestFile;

before(async () => {
  file = fx.addRandom(300_000, 'cab');
  // A short idle timeout, so the client that never reads is cut within the test's time.
  await fx.start(1000);
});
after(() => fx.close());

const fetchIt = async (headers: Record<string, string>, method: 'GET' | 'HEAD' = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> => {
  const r = await request(`${fx.origin}${file.url}`, { method, headers });
  return { status: r.statusCode, headers: r.headers, body: Buffer.from(await r.body.arrayBuffer()) };
};

test('conditional requests: 304, If-Range match and mismatch, 412', async () => {
  const etag = `"${file.sha1}"`;
  const first = await fetchIt({});
  const lastModified = first.headers['last-modified'] as string;
  for (const [h, method] of [[{ 'if-none-match': etag }, 'GET'], [{ 'if-none-match': etag }, 'HEAD'], [{ 'if-modified-since': lastModified }, 'GET'], [{ 'if-none-match': `"x", ${etag}` }, 'GET']] as const) {
    const r = await fetchIt(h, method);
    assert.equal(r.status, 304, JSON.stringify(h));
    assert.equal(r.body.length, 0);
    assert.equal(r.headers.etag, etag);
  }
  assert.equal((await fetchIt({ 'if-none-match': '"other"' })).status, 200);
  assert.equal((await fetchIt({ 'if-modified-since': 'Thu, 01 Jan 2015 00:00:00 GMT' })).status, 200);

  const match = await fetchIt({ range: 'bytes=10-19', 'if-range': etag });
  assert.equal(match.status, 206);
  assert.ok(match.body.equals(file.data!.subarray(10, 20)));
  const byDate = await fetchIt({ range: 'bytes=10-19', 'if-range': lastModified });
  assert.equal(byDate.status, 206);
  for (const ifRange of ['"stale"', 'W/' + etag, 'Thu, 01 Jan 2015 00:00:00 GMT']) {
    const r = await fetchIt({ range: 'bytes=10-19', 'if-range': ifRange });
    assert.equal(r.status, 200, ifRange);
    assert.ok(r.body.equals(file.data!), 'the whole, current file');
  }
  assert.equal((await fetchIt({ 'if-match': '"other"' })).status, 412);
});

test('multiple ranges → multipart/byteranges with exact parts; overlapping ranges coalesced', async () => {
  const r = await fetchIt({ range: 'bytes=0-9,1000-1099,-5' });
  assert.equal(r.status, 206);
  const m = /^multipart\/byteranges; boundary=([0-9a-f]+)$/.exec(r.headers['content-type'] as string);
  assert.ok(m, r.headers['content-type'] as string);
  assert.equal(Number(r.headers['content-length']), r.body.length);
  const text = r.body.toString('latin1');
  const parts = text.split(`--${m[1]}`);
  assert.equal(parts[0], '');
  assert.equal(parts.at(-1), '--\r\n');
  const want = [[0, 9], [1000, 1099], [file.size - 5, file.size - 1]] as const;
  parts.slice(1, -1).forEach((p, i) => {
    const [s, e] = want[i]!;
    const [head, body] = [p.slice(0, p.indexOf('\r\n\r\n')), p.slice(p.indexOf('\r\n\r\n') + 4).replace(/\r\n$/, '')];
    assert.equal(head, `\r\nContent-Type: application/vnd.ms-cab-compressed\r\nContent-Range: bytes ${s}-${e}/${file.size}`);
    assert.ok(Buffer.from(body, 'latin1').equals(file.data!.subarray(s, e + 1)), `part ${i}`);
  });
  const overlapping = await fetchIt({ range: 'bytes=0-99,50-149,150-199' });
  assert.equal(overlapping.status, 206);
  assert.equal(overlapping.headers['content-range'], `bytes 0-199/${file.size}`);
  assert.ok(overlapping.body.equals(file.data!.subarray(0, 200)));
});

test('hostile Range headers: bounded answers and the server keeps serving', async () => {
  const many = (n: number): string => 'bytes=' + Array.from({ length: n }, (_, i) => `${i * 3}-${i * 3}`).join(',');
  const cases: Array<[string, number]> = [
    [many(17), 200],
    [many(1500), 200],
    ['bytes=0-99999999999999999999999999', 206],
    ['bytes=99999999999999999999999999-', 416],
    ['bytes=-99999999999999999999999999', 206],
    ['bytes=-5-10', 200],
    ['bytes=10-5', 200],
    ['bytes=abc', 200],
    ['bytes=0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-', 206],
    ['bytes=' + ','.repeat(8000), 200],
    ['pages=1-2', 200],
  ];
  for (const [range, status] of cases) {
    const r = await fetchIt({ range });
    assert.equal(r.status, status, range.slice(0, 60));
    if (status !== 416) assert.equal(r.body.length, file.size, 'never more than the file');
  }
  assert.equal((await fetchIt({ range: 'bytes=0-0' })).status, 206);
});

test('traversal and odd paths are refused from the path alone', async () => {
  const calls = fx.locator.locateCalls;
  const cases: Array<[string, number[]]> = [
    ['/Content/AB/../../../etc/passwd', [400]],
    ['/Content/../../etc/passwd', [400]],
    ['/Content/AB/%2e%2e%2f%2e%2e%2fetc%2fpasswd', [400]],
    [`/Content/${file.sha1.slice(-2)}%2F${file.sha1}.cab`, [400]],
    [`/Content/${file.sha1.slice(-2)}\\${file.sha1}.cab`, [400]],
    [`/Content/${file.sha1.slice(-2)}/${file.sha1}.cab%00.txt`, [400]],
    [`/Content/${file.sha1.slice(-2)}/${'A'.repeat(4000)}.cab`, [404]],
    [`/Content/${file.sha1.slice(-2)}/${file.sha1}.${'x'.repeat(40)}`, [404]],
    [`/Content/${file.sha1.slice(-2)}/${file.sha1}`, [404]],
    [`/Content/${file.sha1.slice(-2)}/${file.sha1.slice(1)}.cab`, [404]],
    ['/Content/', [404]],
    ['/Content', [404]],
    [`/Content/${file.sha1.slice(-2)}/`, [404]],
    ['/selfupdate/../../../etc/passwd', [400]],
    ['/selfupdate/%2e%2e/%2e%2e/etc/passwd', [400]],
    ['/selfupdate/a%2Fb', [400]],
    ['/selfupdate/a%5Cb', [400]],
    ['/selfupdate/%00', [400]],
    ['/selfupdate/%E0%A4%A', [400]],
    [`/selfupdate/${'a/'.repeat(40)}x`, [400]],
  ];
  for (const [path, statuses] of cases) {
    const r = await rawExchange(fx.port, get(path));
    assert.ok(statuses.includes(Number(r.statusLine.split(' ')[1])), `${path.slice(0, 80)} → ${r.statusLine}`);
    assert.doesNotMatch(r.body.toString(), /root:/);
  }
  assert.equal(fx.locator.locateCalls, calls, 'the store was never asked');
});

test('a client that never reads is cut after the idle timeout; the server keeps serving', async () => {
  const big = fx.addSparse('C'.repeat(40), 64 * 1024 * 1024, 'wim');
  const socket = connect(fx.port, '127.0.0.1');
  socket.pause();
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(get(big.url));
  const t0 = Date.now();
  assert.equal((await fetchIt({ range: 'bytes=0-0' })).status, 206, 'others are served meanwhile');
  // The paused client reads nothing; once the socket buffers are full there is no progress.
  while (!fx.serverClosedAt.has(socket.localPort!) && Date.now() - t0 < 8000) await new Promise((r) => setTimeout(r, 50));
  const cutAfter = (fx.serverClosedAt.get(socket.localPort!) ?? Infinity) - t0;
  assert.ok(cutAfter < 6000, `server side closed after ${cutAfter} ms`);
  const closed = new Promise((resolve) => socket.on('close', resolve));
  socket.resume();
  await closed;
  assert.ok(socket.bytesRead < big.size, `not the whole file (${socket.bytesRead} bytes)`);
});

test('a store file shorter than its recorded size is never passed off as complete', async () => {
  const short = fx.addRandom(10_000, 'cab');
  fx.locator.files.set(short.sha1, { ...fx.locator.files.get(short.sha1)!, size: 20_000 });
  const r = await rawExchange(fx.port, get(short.url), { timeoutMs: 5000 }).catch((e: Error) => e);
  assert.ok(r instanceof Error || r.body.length < 20_000, 'the response is cut, not completed');
  assert.equal((await fetchIt({ range: 'bytes=0-0' })).status, 206);
});

test('a file stored again under the same path is read afresh, not through an old descriptor', async () => {
  const f = fx.addRandom(4096, 'cab');
  const first = await request(`${fx.origin}${f.url}`);
  assert.ok(Buffer.from(await first.body.arrayBuffer()).equals(f.data!));
  // As the store would after a quarantine and a new download: a new inode, a new storedAtMs.
  const again = Buffer.alloc(4096, 7);
  writeFileSync(`${f.path}.new`, again);
  renameSync(`${f.path}.new`, f.path);
  const entry = fx.locator.files.get(f.sha1)!;
  fx.locator.files.set(f.sha1, { ...entry, storedAtMs: entry.storedAtMs + 1000 });
  const second = await request(`${fx.origin}${f.url}`);
  assert.ok(Buffer.from(await second.body.arrayBuffer()).equals(again));
});

test('self-update: absent → a clear 404 and a health warning; present → served case-insensitively, safely', async () => {
  const absent = await request(`${fx.origin}/selfupdate/wuident.cab`);
  assert.equal(absent.statusCode, 404);
  assert.match(await absent.body.text(), /wuident\.cab.*Microsoft-signed/s);
  assert.match(selfUpdateHealth(fx.selfUpdateDir) ?? '', /does not exist.*pre|older clients/s);

  mkdirSync(join(fx.selfUpdateDir, 'WSUS3', 'x86', 'Other'), { recursive: true });
  assert.match(selfUpdateHealth(fx.selfUpdateDir) ?? '', /no wuident\.cab/);
  const wuident = Buffer.from('MSCF fake wuident cabinet for the test');
  writeFileSync(join(fx.selfUpdateDir, 'wuident.cab'), wuident);
  writeFileSync(join(fx.selfUpdateDir, 'WSUS3', 'x86', 'Other', 'wsus3setup.cab'), 'setup');
  writeFileSync(join(fx.dir, 'secret.txt'), 'root:secret');
  symlinkSync(join(fx.dir, 'secret.txt'), join(fx.selfUpdateDir, 'link.txt'));
  assert.equal(selfUpdateHealth(fx.selfUpdateDir), null);

  for (const path of ['/selfupdate/wuident.cab', '/SelfUpdate/WUIDENT.CAB', '/SELFUPDATE//wuident.cab']) {
    const r = await request(`${fx.origin}${path}`);
    assert.equal(r.statusCode, 200, path);
    assert.equal(r.headers['content-type'], 'application/vnd.ms-cab-compressed');
    assert.match(r.headers.etag as string, /^"[0-9a-f]+-[0-9a-f]+"$/);
    assert.ok(Buffer.from(await r.body.arrayBuffer()).equals(wuident));
  }
  const range = await request(`${fx.origin}/selfupdate/wuident.cab`, { headers: { range: 'bytes=0-3' } });
  assert.equal(range.statusCode, 206);
  assert.equal(await range.body.text(), 'MSCF');
  const head = await request(`${fx.origin}/selfupdate/wuident.cab`, { method: 'HEAD' });
  await head.body.dump();
  assert.equal(head.headers['content-length'], String(wuident.length));
  const nested = await request(`${fx.origin}/selfupdate/wsus3/X86/other/WSUS3SETUP.cab`);
  assert.equal(await nested.body.text(), 'setup');
  for (const [path, status] of [['/selfupdate/link.txt', 404], ['/selfupdate/', 404], ['/selfupdate/WSUS3', 404], ['/selfupdate/nothing.cab', 404]] as const) {
    const r = await request(`${fx.origin}${path}`);
    const text = await r.body.text();
    assert.equal(r.statusCode, status, path);
    assert.doesNotMatch(text, /root:secret|wsus3setup/i, 'no listing, no escape');
  }
});
