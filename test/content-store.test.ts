import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateCatalog, type GeneratedContentFile } from '../src/fixtures/catalog-generator.js';
import { openDatabase, type Db } from '../src/store/database.js';
import {
  createContentStore, ContentRejectedError, ContentDownloadError, UnknownContentError,
  type ContentStore, type ContentStoreOptions,
} from '../src/services/content-store.service.js';
import { contentCommand } from '../src/cli/commands/content.command.js';
import { quietLog, tempDataDir, testConfig, importInto } from './support/test-server.js';

// Store and service tests of the verified content store on real SQLite and a real disk, with
// loopback HTTP upstreams that misbehave the way real ones do.

const catalog = generateCatalog({ updates: 4, seed: 11, fileSize: 256 * 1024 });
const sources = [...catalog.documents].map((d) => ({ name: d.fileName, read: () => d.xml }));
const files = [...catalog.contentFiles];
const largest = files.reduce((a, b) => (b.size > a.size ? b : a));
const HOUR = 3600 * 1000;

interface Env {
  dir: string;
  contentDir: string;
  db: Db;
  store: ContentStore;
  clock: { ms: number };
}

async function withStore(opts: Partial<ContentStoreOptions>, body: (env: Env) => Promise<void>): Promise<void> {
  const tmp = tempDataDir();
  const config = testConfig(tmp.dir);
  importInto(config, sources);
  const db = openDatabase(config.databaseFile);
  const clock = { ms: Date.now() };
  const store = createContentStore({
    db, dir: config.contentDir, log: quietLog, clock: () => new Date(clock.ms), retryDelayMs: 10, ...opts,
  });
  const env: Env = { dir: tmp.dir, contentDir: config.contentDir, db, store, clock };
  try {
    await body(env);
  } finally {
    await store.close();
    db.close();
    tmp.cleanup();
  }
}

const flipped = (b: Buffer, at = 100): Buffer => {
  const c = Buffer.from(b);
  c[at] = c[at]! ^ 0xff;
  return c;
};

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/file.cab`,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** Answers ranges like a normal HTTP server. */
function rangeServing(bytes: Buffer, req: IncomingMessage, res: ServerResponse): void {
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const start = m ? Number(m[1]) : 0;
  const headers: Record<string, string | number> = { 'content-length': bytes.length - start };
  if (m) headers['content-range'] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
  res.writeHead(m ? 206 : 200, headers);
  res.end(bytes.subarray(start));
}

test('a verified file becomes locatable at contentDir/<last two>/<SHA1>; a second copy changes nothing', async () => {
  await withStore({}, async ({ store, contentDir }) => {
    const f = files[0]!;
    const r = await store.ingestStream(Readable.from([f.bytes()]), f.sha1Hex);
    assert.equal(r.outcome, 'stored');
    const found = store.locate(f.sha1Hex.toLowerCase());
    assert.ok(found);
    assert.equal(found.path, join(contentDir, f.sha1Hex.slice(38), f.sha1Hex));
    assert.equal(found.size, f.size);
    assert.equal(found.sha256, f.sha256Base64);
    assert.deepEqual(readFileSync(found.path), f.bytes());
    assert.ok(store.isKnown(f.sha1Hex) && !store.isKnown('0'.repeat(40)));
    assert.equal(store.locate('../../etc/passwd'), undefined);
    assert.equal(store.isKnown(`${f.sha1Hex}/..`), false);

    const again = await store.ingestStream(Readable.from([f.bytes()]), f.sha1Hex);
    assert.equal(again.outcome, 'already-present');
    assert.equal(again.content.storedAtMs, found.storedAtMs, 'the first copy and its Last-Modified stay');

    // from a local path, matched by the SHA-1 of its bytes whatever its name
    const local = join(contentDir, '..', 'somename.bin');
    writeFileSync(local, files[1]!.bytes());
    assert.equal((await store.ingestFile(local)).outcome, 'stored');
    assert.ok(store.locate(files[1]!.sha1Hex));
    assert.deepEqual(readdirSync(join(contentDir, '.tmp')), [], 'no temporary file left');
  });
});

test('wrong SHA-1, wrong SHA-256, wrong size: quarantined with the reason, never locatable', async () => {
  await withStore({}, async ({ store, contentDir, db }) => {
    const [a, b, c] = files as [GeneratedContentFile, GeneratedContentFile, GeneratedContentFile];
    await assert.rejects(store.ingestStream(Readable.from([flipped(a.bytes())]), a.sha1Hex),
      (e: unknown) => e instanceof ContentRejectedError && e.reason === 'sha1' && e.code === 'InvalidInput');
    await assert.rejects(store.ingestStream(Readable.from([b.bytes(), Buffer.from('x')]), b.sha1Hex),
      (e: unknown) => e instanceof ContentRejectedError && e.reason === 'size');
    await assert.rejects(store.ingestStream(Readable.from([c.bytes().subarray(1)]), c.sha1Hex),
      (e: unknown) => e instanceof ContentRejectedError && e.reason === 'size');
    // metadata whose SHA-256 disagrees with bytes of the right SHA-1 and size
    const d = files[3]!;
    db.prepare('UPDATE files SET sha256 = ? WHERE sha1_hex = ?').run(createHash('sha256').update('other').digest('base64'), d.sha1Hex);
    await assert.rejects(store.ingestStream(Readable.from([d.bytes()]), d.sha1Hex),
      (e: unknown) => e instanceof ContentRejectedError && e.reason === 'sha256');

    for (const f of [a, b, c, d]) assert.equal(store.locate(f.sha1Hex), undefined);
    for (const f of [a, b, c, d]) assert.equal(existsSync(join(contentDir, f.sha1Hex.slice(38), f.sha1Hex)), false);
    const s = await store.stats();
    assert.equal(s.quarantined, 4);
    assert.equal(s.quarantineFiles, 4);
    assert.equal(s.present, 0);
    const row = db.prepare<[string], { state: string; error: string }>('SELECT state, error FROM content WHERE sha1_hex = ?').get(a.sha1Hex)!;
    assert.equal(row.state, 'quarantined');
    assert.match(row.error, /SHA-1/);

    // unknown bytes are refused without being kept; the good copy later replaces the quarantine record
    await assert.rejects(store.ingestStream(Readable.from([Buffer.from('hi')]), '1'.repeat(40)), UnknownContentError);
    await store.ingestStream(Readable.from([a.bytes()]), a.sha1Hex);
    assert.ok(store.locate(a.sha1Hex));
    assert.equal((await store.stats()).quarantineFiles, 3, 'the superseded quarantined copy is dropped');
  });
});

test('symlinks are neither ingested nor served', async () => {
  await withStore({}, async ({ store, contentDir }) => {
    const f = files[0]!;
    const real = join(contentDir, '..', 'real.bin');
    writeFileSync(real, f.bytes());
    const link = join(contentDir, '..', 'link.bin');
    symlinkSync(real, link);
    await assert.rejects(store.ingestFile(link), /symbolic links are not followed/);
    await store.ingestFile(real);
    const path = store.locate(f.sha1Hex)!.path;
    const { rmSync } = await import('node:fs');
    rmSync(path);
    symlinkSync(real, path);
    assert.equal(store.locate(f.sha1Hex), undefined, 'a symlink in the store is not served');
    const v = await store.verify({});
    assert.deepEqual(v.problems.map((p) => p.problem), ['not-a-file']);
  });
});

test('crash leftovers (.tmp, .partial, a file renamed but never recorded) are invisible and cleaned', async () => {
  await withStore({}, async ({ store, contentDir, clock }) => {
    const [known, stray, adopted] = files as [GeneratedContentFile, GeneratedContentFile, GeneratedContentFile];
    writeFileSync(join(contentDir, '.tmp', 'deadbeef'), known.bytes());
    writeFileSync(join(contentDir, '.partial', known.sha1Hex), known.bytes().subarray(0, 1000));
    writeFileSync(join(contentDir, '.partial', 'F'.repeat(40)), Buffer.alloc(10));
    mkdirSync(join(contentDir, adopted.sha1Hex.slice(38)), { recursive: true });
    writeFileSync(join(contentDir, adopted.sha1Hex.slice(38), adopted.sha1Hex), adopted.bytes());
    for (const f of [known, stray, adopted]) assert.equal(store.locate(f.sha1Hex), undefined);

    const soon = await store.cleanup({ now: new Date(clock.ms + 10 * 60 * 1000) });
    assert.deepEqual([soon.tmpRemoved, soon.partialRemoved], [[], []], 'a writer idle for minutes may still be alive');
    const dry = await store.cleanup({ now: new Date(clock.ms + 2 * HOUR), dryRun: true });
    assert.deepEqual(dry.tmpRemoved, ['deadbeef']);
    assert.ok(existsSync(join(contentDir, '.tmp', 'deadbeef')), 'dry run deletes nothing');
    const later = await store.cleanup({ now: new Date(clock.ms + 2 * HOUR) });
    assert.deepEqual(later.tmpRemoved, ['deadbeef']);
    assert.deepEqual(later.partialRemoved, ['F'.repeat(40)], 'the partial of a wanted digest stays as a resume point');
    const afterGrace = await store.cleanup({ now: new Date(clock.ms + 25 * HOUR) });
    assert.deepEqual(afterGrace.partialRemoved, [known.sha1Hex]);

    const shallow = await store.verify({});
    assert.equal(shallow.untracked, 1);
    const deep = await store.verify({ deep: true });
    assert.deepEqual(deep.problems.map((p) => p.action), ['adopted']);
    assert.ok(store.locate(adopted.sha1Hex), 'a file that verifies against its metadata is adopted');
  });
});

test('an interrupted download resumes with a Range request and verifies', async () => {
  const bytes = largest.bytes();
  const seen: Array<string | undefined> = [];
  const upstream = await serve((req, res) => {
    seen.push(req.headers.range);
    if (seen.length === 1) {
      res.writeHead(200, { 'content-length': bytes.length });
      res.write(bytes.subarray(0, bytes.length >> 1), () => setTimeout(() => res.socket?.destroy(), 30));
      return;
    }
    rangeServing(bytes, req, res);
  });
  try {
    await withStore({}, async ({ store, contentDir }) => {
      const r = await store.downloadToStore(upstream.url, largest.sha1Hex);
      assert.equal(r.outcome, 'stored');
      assert.equal(seen.length, 2);
      assert.equal(seen[0], undefined);
      const offset = Number(/^bytes=(\d+)-$/.exec(seen[1] ?? '')?.[1]);
      assert.ok(offset > 0 && offset <= bytes.length >> 1, `resumed from ${seen[1]}`);
      assert.deepEqual(readFileSync(store.locate(largest.sha1Hex)!.path), bytes);
      assert.deepEqual(readdirSync(join(contentDir, '.partial')), []);
    });
  } finally {
    await upstream.close();
  }
});

test('a partial file survives a restart; an upstream that ignores Range (200) makes the download start over', async () => {
  const bytes = largest.bytes();
  const seen: Array<string | undefined> = [];
  const upstream = await serve((req, res) => {
    seen.push(req.headers.range);
    res.writeHead(200, { 'content-length': bytes.length });
    res.end(bytes);
  });
  try {
    await withStore({}, async ({ store, contentDir }) => {
      // garbage from an earlier run: only a restart from zero can produce verified bytes
      writeFileSync(join(contentDir, '.partial', largest.sha1Hex), randomBytes(5000));
      const r = await store.downloadToStore(upstream.url, largest.sha1Hex);
      assert.equal(r.outcome, 'stored');
      assert.deepEqual(seen, ['bytes=5000-']);
      assert.deepEqual(readFileSync(r.content.path), bytes);
    });
  } finally {
    await upstream.close();
  }
});

test('an aborted download keeps its partial file, and the next call resumes from it', async () => {
  const bytes = largest.bytes();
  const seen: Array<string | undefined> = [];
  const upstream = await serve((req, res) => {
    seen.push(req.headers.range);
    if (seen.length === 1) {
      res.writeHead(200, { 'content-length': bytes.length });
      res.write(bytes.subarray(0, 50_000)); // then stalls, like a client-side network that went away
      return;
    }
    rangeServing(bytes, req, res);
  });
  try {
    await withStore({}, async ({ store, contentDir }) => {
      const ac = new AbortController();
      const pending = store.downloadToStore(upstream.url, largest.sha1Hex, { signal: ac.signal });
      const partial = join(contentDir, '.partial', largest.sha1Hex);
      for (let i = 0; i < 200 && !(existsSync(partial) && readFileSync(partial).length > 0); i++) await new Promise((r) => setTimeout(r, 10));
      ac.abort();
      await assert.rejects(pending);
      // asked again at once: waits for the abandoned transfer to let go, then resumes
      const r = await store.downloadToStore(upstream.url, largest.sha1Hex);
      assert.equal(r.outcome, 'stored');
      assert.match(seen[1] ?? '', /^bytes=[1-9]\d*-$/);
    });
  } finally {
    await upstream.close();
  }
});

test('concurrent downloads of one digest share one transfer; HTTP errors are typed and not retried when final', async () => {
  const f = files[2]!;
  let transfers = 0;
  const upstream = await serve((req, res) => {
    if (req.url?.includes('missing')) {
      res.writeHead(404).end();
      transfers++;
      return;
    }
    transfers++;
    setTimeout(() => rangeServing(f.bytes(), req, res), 100);
  });
  try {
    await withStore({}, async ({ store }) => {
      const all = await Promise.all([1, 2, 3].map(() => store.downloadToStore(upstream.url, f.sha1Hex)));
      assert.equal(transfers, 1);
      assert.ok(all.every((r) => r.content.sha1Hex === f.sha1Hex));
      assert.equal((await store.downloadToStore(upstream.url, f.sha1Hex)).outcome, 'already-present');
      assert.equal(transfers, 1, 'a present file is not fetched again');

      const g = files[3]!;
      await assert.rejects(store.downloadToStore(`${upstream.url}?missing`, g.sha1Hex),
        (e: unknown) => e instanceof ContentDownloadError && /HTTP 404/.test(e.message) && !e.retryable);
      assert.equal(transfers, 2);
    });
  } finally {
    await upstream.close();
  }
});

test('requestDownload fetches from the injected source, and is a no-op without one', async () => {
  const f = files[1]!;
  const upstream = await serve((req, res) => rangeServing(f.bytes(), req, res));
  try {
    await withStore({ fetchFile: (hex) => (hex === f.sha1Hex ? { url: upstream.url } : undefined) }, async ({ store }) => {
      store.requestDownload(f.sha1Hex.toLowerCase());
      store.requestDownload('not a digest');
      for (let i = 0; i < 200 && !store.locate(f.sha1Hex); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(store.locate(f.sha1Hex), 'downloaded in the background');
    });
    await withStore({}, async ({ store }) => {
      store.requestDownload(f.sha1Hex);
      assert.equal((await store.stats()).downloads.running, 0);
    });
  } finally {
    await upstream.close();
  }
});

test('verify --deep catches a byte flipped on disk and quarantines the file; a shallow verify catches truncation', async () => {
  await withStore({}, async ({ store }) => {
    const [a, b] = files as [GeneratedContentFile, GeneratedContentFile];
    await store.ingestStream(Readable.from([a.bytes()]), a.sha1Hex);
    await store.ingestStream(Readable.from([b.bytes()]), b.sha1Hex);
    const path = store.locate(a.sha1Hex)!.path;
    writeFileSync(path, flipped(a.bytes(), 2000));
    const shallow = await store.verify({});
    assert.deepEqual([shallow.checked, shallow.ok, shallow.problems.length], [2, 2, 0], 'same size: only a deep verify can tell');
    const deep = await store.verify({ deep: true });
    assert.deepEqual(deep.problems.map((p) => [p.sha1Hex, p.problem, p.action]), [[a.sha1Hex, 'sha1', 'quarantined']]);
    assert.equal(store.locate(a.sha1Hex), undefined);
    assert.equal(existsSync(path), false);

    const pathB = store.locate(b.sha1Hex)!.path;
    writeFileSync(pathB, b.bytes().subarray(0, 10));
    assert.equal(store.locate(b.sha1Hex), undefined, 'a truncated file is never served');
    const again = await store.verify({});
    assert.deepEqual(again.problems.map((p) => p.problem), ['size']);
  });
});

test('cleanup deletes unreferenced content only after the grace period, and a dry run only reports', async () => {
  await withStore({ orphanGraceHours: 24 }, async ({ store, clock }) => {
    const stray = randomBytes(3000);
    const strayHex = createHash('sha1').update(stray).digest('hex').toUpperCase();
    await store.ingestStream(Readable.from([stray]), { sha1Hex: strayHex, size: stray.length });
    const kept = files[0]!;
    await store.ingestStream(Readable.from([kept.bytes()]), kept.sha1Hex);

    const first = await store.cleanup({ now: new Date(clock.ms) });
    assert.deepEqual(first.markedOrphaned, [strayHex]);
    assert.deepEqual(first.deleted, []);
    assert.deepEqual((await store.cleanup({ now: new Date(clock.ms + 23 * HOUR) })).deleted, []);
    const dry = await store.cleanup({ now: new Date(clock.ms + 25 * HOUR), dryRun: true });
    assert.deepEqual(dry.deleted.map((d) => d.sha1Hex), [strayHex]);
    assert.equal(dry.reclaimedBytes, stray.length);
    assert.ok(store.locate(strayHex), 'dry run deletes nothing');
    const real = await store.cleanup({ now: new Date(clock.ms + 25 * HOUR) });
    assert.deepEqual(real.deleted.map((d) => d.sha1Hex), [strayHex]);
    assert.equal(store.locate(strayHex), undefined);
    assert.ok(store.locate(kept.sha1Hex), 'referenced content stays');
  });
});

test('wsus content import / verify / stats end to end', async () => {
  const tmp = tempDataDir();
  try {
    const config = testConfig(tmp.dir);
    importInto(config, sources);
    const share = join(tmp.dir, 'share');
    mkdirSync(join(share, 'nested'), { recursive: true });
    for (const f of files) writeFileSync(join(share, 'nested', f.contentFileName), f.bytes());
    const damaged = files[0]!;
    writeFileSync(join(share, 'nested', damaged.contentFileName), flipped(damaged.bytes()));
    writeFileSync(join(share, 'readme.txt'), 'not an update');
    symlinkSync(join(share, 'readme.txt'), join(share, 'link.txt'));

    const run = async (...argv: string[]): Promise<{ code: number; out: string }> => {
      let out = '';
      const sink = new Writable({ write: (chunk, _enc, cb) => { out += String(chunk); cb(); } });
      const code = await contentCommand(argv, { out: sink, err: new Writable({ write: (_c, _e, cb) => cb() }) });
      return { code, out };
    };
    const imp = await run('import', '--data', tmp.dir, '--json', share);
    const r = JSON.parse(imp.out) as { total: number; stored: number; unknown: number; mismatched: number; skipped: number };
    assert.deepEqual([r.total, r.stored, r.unknown, r.mismatched, r.skipped], [files.length + 1, files.length - 1, 1, 1, 1]);
    assert.equal(imp.code, 1, 'a mismatched file fails the import');

    const again = await run('import', '--data', tmp.dir, join(share, 'nested', files[1]!.contentFileName));
    assert.equal(again.code, 0);
    assert.match(again.out, /1 already present/);

    const verify = await run('verify', '--deep', '--local', '--data', tmp.dir, '--json');
    assert.equal(verify.code, 0);
    assert.equal((JSON.parse(verify.out) as { ok: number }).ok, files.length - 1);

    const stats = JSON.parse((await run('stats', '--local', '--data', tmp.dir, '--json')).out) as { present: number; quarantined: number; missing: number };
    assert.deepEqual([stats.present, stats.quarantined, stats.missing], [files.length - 1, 1, 1]);

    const cleanup = await run('cleanup', '--dry-run', '--local', '--data', tmp.dir);
    assert.equal(cleanup.code, 0);
    assert.match(cleanup.out, /dry run/);
  } finally {
    tmp.cleanup();
  }
});

const cliMain = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const cliWired = existsSync(cliMain) && readFileSync(cliMain, 'utf8').includes('contentCommand');

test('the wsus binary imports and verifies content', { skip: !cliWired && 'wsus content is not wired into src/cli/main.ts yet' }, () => {
  const tmp = tempDataDir();
  try {
    importInto(testConfig(tmp.dir), sources);
    const share = join(tmp.dir, 'share');
    mkdirSync(share);
    for (const f of files) writeFileSync(join(share, f.contentFileName), f.bytes());
    const wsus = (...argv: string[]) => spawnSync(process.execPath, [cliMain, ...argv], { encoding: 'utf8' });
    const imp = wsus('content', 'import', '--data', tmp.dir, share);
    assert.equal(imp.status, 0, imp.stderr);
    assert.match(imp.stdout, new RegExp(`${files.length} stored`));
    const verify = wsus('content', 'verify', '--deep', '--json', '--local', '--data', tmp.dir);
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal((JSON.parse(verify.stdout) as { ok: number }).ok, files.length);
  } finally {
    tmp.cleanup();
  }
});

test('a store file past its mtime is still served: freshness comes from stored_at, not the disk', async () => {
  await withStore({}, async ({ store }) => {
    const f = files[0]!;
    const r = await store.ingestStream(Readable.from([f.bytes()]), f.sha1Hex);
    utimesSync(r.content.path, new Date(0), new Date(0));
    assert.equal(store.locate(f.sha1Hex)!.storedAtMs, r.content.storedAtMs);
  });
});
