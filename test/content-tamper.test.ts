import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, utimesSync, writeSync } from 'node:fs';
import { Readable } from 'node:stream';
import { request } from 'undici';
import type { ServerConfig } from '../src/config/config.js';
import { startServer, type RunningServer } from '../src/app/server.js';
import type { ContentStore } from '../src/services/content-store.service.js';
import { createContentRecords } from '../src/store/content.store.js';
import { adminHandle, importInto, tempDataDir, testConfig } from './support/test-server.js';
import { captureLog, type LogCapture } from './support/log-capture.js';
import { updateDocumentForFiles } from './support/content-fixture.js';

// A stored file changed on disk after it was verified (same size, one byte) is caught before
// it is served: the serve-time fingerprint (inode, size, mtime and ctime in ns) differs, the
// file is hashed again, quarantined, and the request sees 404. An untouched file is served
// without hashing; a touched file whose bytes are intact is hashed once and served.

interface Payload { bytes: Buffer; sha1Hex: string; path: string }

async function withStoredFiles<T>(n: number, body: (ctx: { server: RunningServer; config: ServerConfig; store: ContentStore; files: Payload[]; logs: LogCapture }) => Promise<T>): Promise<T> {
  const tmp = tempDataDir();
  const logs = captureLog('info');
  try {
    const config = testConfig(tmp.dir);
    const server = await startServer(config, logs.log);
    try {
      const files = Array.from({ length: n }, (): Payload => {
        const bytes = randomBytes(300_000);
        return { bytes, sha1Hex: createHash('sha1').update(bytes).digest('hex').toUpperCase(), path: '' };
      });
      importInto(config, [{ name: 'u.xml', read: () => updateDocumentForFiles('7a1c2b3d-1d7a-4c1f-9a51-0c3b1f1e2d3c', 'Tamper test', files) }]);
      const store = server.adminDeps.content as ContentStore;
      for (const f of files) f.path = (await store.ingestStream(Readable.from([f.bytes]), f.sha1Hex)).content.path;
      return await body({ server, config, store, files, logs });
    } finally {
      await server.close();
    }
  } finally {
    tmp.cleanup();
  }
}

const url = (server: RunningServer, f: Payload): string => `${server.url}/Content/${f.sha1Hex.slice(-2)}/${f.sha1Hex}.cab`;

async function get(u: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
  const r = await request(u, { headers });
  return { status: r.statusCode, body: Buffer.from(await r.body.arrayBuffer()) };
}

/** One byte changed in place: same inode, same size. */
function flipByte(path: string, at: number): void {
  const fd = openSync(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, at);
    b[0] = b[0]! ^ 0xff;
    writeSync(fd, b, 0, 1, at);
  } finally {
    closeSync(fd);
  }
}

const rehashed = async (store: ContentStore): Promise<number> => (await store.stats()).serveChecks.rehashed;

test('untouched files are served without re-hashing; one changed byte (same size) is caught on GET and on Range GET', async () => {
  await withStoredFiles(3, async ({ server, config, store, files, logs }) => {
    const [a, b, c] = files as [Payload, Payload, Payload];
    for (let i = 0; i < 3; i++) {
      for (const f of files) assert.equal((await get(url(server, f))).status, 200);
    }
    assert.equal((await get(url(server, a), { range: 'bytes=10-99' })).status, 206);
    assert.equal(await rehashed(store), 0, 'nothing changed: nothing hashed');

    flipByte(a.path, 123_456);
    const mark = logs.mark();
    const tampered = await get(url(server, a));
    assert.equal(tampered.status, 404);
    assert.ok(!tampered.body.includes(a.bytes.subarray(0, 64)), 'no byte of the file is sent');
    flipByte(b.path, 0);
    assert.equal((await get(url(server, b), { range: 'bytes=0-1023' })).status, 404);
    assert.equal((await get(url(server, b))).status, 404, 'and stays unserved');
    assert.deepEqual(await store.stats().then((s) => s.serveChecks), { rehashed: 2, tampered: 2 });

    const warned = logs.find({ message: /changed on disk; quarantined instead of served/ }, mark);
    assert.deepEqual(warned.map((r) => [r.sha1, r.reason]).sort(), [[a.sha1Hex, 'sha1'], [b.sha1Hex, 'sha1']].sort());
    const h = adminHandle(config);
    try {
      const rows = createContentRecords(h.db);
      for (const f of [a, b]) {
        const row = rows.get(f.sha1Hex)!;
        assert.equal(row.state, 'quarantined');
        assert.match(row.error!, /^verify: changed on disk after it was stored: SHA-1 [0-9A-F]{40}, metadata says /);
        assert.ok(row.quarantineFile);
      }
      assert.equal(rows.get(c.sha1Hex)!.state, 'present');
    } finally {
      h.close();
    }
    assert.equal((await get(url(server, c))).status, 200, 'the untouched file is still served');
    assert.equal(await rehashed(store), 2);
  });
});

test('a touched file with intact bytes is hashed once (however many requests wait), then served from its new fingerprint; deep verify records it too', async () => {
  await withStoredFiles(2, async ({ server, store, files }) => {
    const [a, b] = files as [Payload, Payload];
    utimesSync(a.path, new Date(), new Date(Date.now() - 3_600_000));
    const answers = await Promise.all(Array.from({ length: 6 }, () => get(url(server, a))));
    for (const r of answers) {
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(a.bytes));
    }
    assert.equal(await rehashed(store), 1, 'single flight: one hash for six requests');
    assert.equal((await get(url(server, a), { range: 'bytes=5-9' })).status, 206);
    assert.equal(await rehashed(store), 1, 'the refreshed fingerprint is used from then on');

    // A deep verify re-records the fingerprint: serving does not hash again afterwards.
    utimesSync(b.path, new Date(), new Date(Date.now() - 7_200_000));
    const v = await store.verify({});
    assert.equal(v.changedOnDisk, 1);
    await store.verify({ deep: true });
    assert.equal((await get(url(server, b))).status, 200);
    assert.equal(await rehashed(store), 1);
  });
});

test('a changed stored copy does not satisfy a new ingest: verified bytes replace it', async () => {
  await withStoredFiles(1, async ({ server, store, files }) => {
    const [a] = files as [Payload];
    flipByte(a.path, 42);
    const r = await store.ingestStream(Readable.from([a.bytes]), a.sha1Hex);
    assert.equal(r.outcome, 'stored', 'the changed copy is not "already present"');
    const got = await get(url(server, a));
    assert.equal(got.status, 200);
    assert.ok(got.body.equals(a.bytes));
    assert.equal(await rehashed(store), 0, 'the new copy carries a fresh fingerprint');
  });
});
