import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { startFaultProxy } from './support/fault-proxy.js';
import { tempDataDir } from './support/test-server.js';
import { downstreamSettings, fullState, assertSameCatalog, startNode, startUpstream, writeConfigJson } from './support/sync-loopback.js';
import { startSlowContentUpstream } from './support/crash-upstream.js';
import {
  assertContentOnDisk, assertDatabaseSound, assertSameState, assertServedContent, campaign, canonicalState, killAfter, serve, sleep, wsus, wsusRun,
} from './support/crash-harness.js';

// `kill -9` of `wsus sync run --local` at random points: in the metadata phases (categories,
// updates, deployments: sync-crash.e2e.test.ts kills one chosen point, this spreads them) and in
// the content phase while files arrive slowly. After every kill the database is sound and no
// half-written file is servable (on disk, and through GET /Content of a server started on the
// killed data directory); the next run resumes (partial files continue with a Range request)
// and the downstream ends identical to one that synchronized without interruption.

const CATALOG = generateCatalog({ updates: 40, seed: 53, fileSize: 64 * 1024 });
const DOCS = [...CATALOG.documents];
const FILES = new Map([...CATALOG.contentFiles].map((f) => [f.sha1Hex, f.bytes()]));
const MAX_PER_REQUEST = 15;
/** progress lines of `wsus sync run` on stderr: kill points in every metadata phase */
const MARKERS = ['sync categories: fetch 15/', 'sync categories: merge', 'sync updates: fetch 15/', 'sync updates: fetch \\d+/\\d+ \\(100', 'sync updates: merge'];

function contentRows(file: string): { present: Set<string>; known: string[] } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const present = new Set((db.prepare("SELECT sha1_hex AS h FROM content WHERE state = 'present'").all() as Array<{ h: string }>).map((r) => r.h));
    const known = (db.prepare('SELECT DISTINCT sha1_hex AS h FROM files ORDER BY 1').all() as Array<{ h: string }>).map((r) => r.h);
    return { present, known };
  } finally {
    db.close();
  }
}

test('kill -9 during a metadata sync: sound after every kill, the next run resumes, same catalog as an uninterrupted sync', async (t) => {
  const c = campaign(t, 'sync', 2);
  const A = await startUpstream(DOCS, MAX_PER_REQUEST);
  const proxy = await startFaultProxy(A.url);
  const dirs: Array<{ cleanup(): void }> = [];
  try {
    const ref = await startNode(downstreamSettings(A.url));
    let reference: string[];
    let referenceState: Record<string, string[]>;
    try {
      const r = await ref.server.sync.run({ trigger: 'admin' });
      assert.equal(r.state, 'succeeded', r.error ?? '');
      reference = fullState(ref.server.db);
      await ref.stop();
      referenceState = canonicalState(join(ref.dir, 'wsus.db'));
    } finally {
      await ref.close();
    }
    // every metadata call a little slow: the run lasts long enough to be hit anywhere
    proxy.inject({ operation: 'GetUpdateData', fault: { kind: 'delay', ms: 25 }, times: 1_000_000 });
    proxy.inject({ operation: 'GetRevisionIdList', fault: { kind: 'delay', ms: 25 }, times: 1_000_000 });
    const timing = tempDataDir();
    dirs.push(timing);
    writeConfigJson(timing.dir, downstreamSettings(proxy.url, { concurrency: 1 }));
    const t0 = Date.now();
    const full = await wsusRun(['sync', 'run', '--local', '--data', timing.dir]);
    const duration = Date.now() - t0;
    assert.equal(full.code, 0, full.stderr);
    c.note(`${DOCS.length} documents, uninterrupted sync ${duration} ms`);
    for (const m of MARKERS) assert.match(full.stderr, new RegExp(m), 'the progress lines the kill points wait for');
    assertSameState(canonicalState(join(timing.dir, 'wsus.db')), referenceState, 'the CLI run without a kill');

    for (let round = 1; round <= c.rounds; round++) {
      const B = tempDataDir();
      dirs.push(B);
      writeConfigJson(B.dir, downstreamSettings(proxy.url, { concurrency: 1 }));
      const file = join(B.dir, 'wsus.db');
      const seen: string[] = [];
      for (let k = 1, kills = c.rng.int(1, 2); k <= kills; k++) {
        // the first kill: a progress line of some phase, plus a little; later ones: a random time
        const run = wsus(['sync', 'run', '--local', '--data', B.dir]);
        let at: string;
        let exit;
        if (k === 1) {
          const marker = c.rng.pick(MARKERS);
          const jitter = c.rng.int(0, 50);
          at = `${marker} + ${jitter} ms`;
          await run.waitForStderr(new RegExp(marker));
          exit = await killAfter(run, jitter);
        } else {
          const ms = Math.round(duration * (0.3 + 0.7 * c.rng.next()));
          at = `${ms} ms`;
          exit = await killAfter(run, ms);
        }
        const tag = c.tag(round, `kill ${k} at ${at}`);
        if (exit.signal !== 'SIGKILL') {
          assert.equal(exit.code, 0, `${tag} ${exit.stderr}`);
          seen.push(`${at}: finished first`);
          continue;
        }
        if (!existsSync(file)) {
          seen.push(`${at}: before the database was created`);
          continue;
        }
        assertDatabaseSound(file, tag);
        const db = new Database(file, { readonly: true, fileMustExist: true });
        try {
          const phase = (db.prepare("SELECT phase FROM sync_runs WHERE state = 'running'").get() as { phase: string } | undefined)?.phase ?? 'none running';
          const revs = (db.prepare('SELECT count(*) AS n FROM revisions').get() as { n: number }).n;
          const staged = (db.prepare('SELECT count(*) AS n FROM sync_staging').get() as { n: number }).n;
          seen.push(`${at}: phase ${phase}, ${revs} revisions, ${staged} staged`);
        } finally {
          db.close();
        }
      }
      const tag = c.tag(round, 'resume');
      const again = await wsusRun(['sync', 'run', '--local', '--data', B.dir, '--json']);
      assert.equal(again.code, 0, `${tag} ${again.stderr}`);
      assert.equal((JSON.parse(again.stdout) as { state: string }).state, 'succeeded', tag);
      assertDatabaseSound(file, tag);
      const db = new Database(file, { readonly: true, fileMustExist: true });
      try {
        assertSameCatalog(fullState(db), reference, `${tag} fragments`);
        assert.equal((db.prepare('SELECT count(*) AS n FROM sync_staging').get() as { n: number }).n, 0, `${tag} no staging left`);
        assert.equal((db.prepare('SELECT count(*) AS n FROM job_locks').get() as { n: number }).n, 0, `${tag} lock released`);
      } finally {
        db.close();
      }
      assertSameState(canonicalState(file), referenceState, tag);
      c.note(`round ${round}: ${seen.join('; ')}`);
    }
  } finally {
    await proxy.close();
    await A.close();
    for (const d of dirs) d.cleanup();
  }
});

test('kill -9 during content download: only verified files are ever served, downloads resume with Range, same content as an uninterrupted sync', async (t) => {
  const c = campaign(t, 'content', 2);
  const A = await startUpstream(DOCS, MAX_PER_REQUEST);
  const up = await startSlowContentUpstream(A.url, FILES, { chunkBytes: 8 * 1024, pauseMs: 8 });
  const dirs: Array<{ cleanup(): void }> = [];
  const settings = downstreamSettings(up.url, { content: 'all', concurrency: 2 });
  try {
    const ref = await startNode(settings);
    let reference: Record<string, string[]>;
    let wanted: string[];
    try {
      const r = await ref.server.sync.run({ trigger: 'admin' });
      assert.equal(r.state, 'succeeded', r.error ?? '');
      assert.ok(r.counts.content!.downloaded > 10, 'the reference downloaded the files');
      await ref.stop();
      reference = canonicalState(join(ref.dir, 'wsus.db'));
      wanted = assertContentOnDisk(ref.config.contentDir, 'reference').stored;
    } finally {
      await ref.close();
    }
    up.slow = true;

    c.note(`${FILES.size} files (${[...FILES.values()].reduce((n, b) => n + b.length, 0)} bytes), served slowly`);

    let resumedWithRange = 0;
    for (let round = 1; round <= c.rounds; round++) {
      const B = tempDataDir();
      dirs.push(B);
      writeConfigJson(B.dir, settings);
      const file = join(B.dir, 'wsus.db');
      const contentDir = join(B.dir, 'content');
      const first = up.requests.length;
      const run = wsus(['sync', 'run', '--local', '--data', B.dir]);
      while (up.requests.length === first && run.alive()) await sleep(5);
      // Killed after a random number of file requests (not after a time: a fast run would finish
      // first), so files are still missing, some half-written.
      const k = 1 + Math.floor(c.rng.next() * (FILES.size - 3));
      const tag = c.tag(round, `kill after ${k} of ${FILES.size} file requests`);
      while (up.requests.length - first < k && run.alive()) await sleep(2);
      const exit = await killAfter(run, Math.floor(c.rng.next() * 20));
      assert.equal(exit.signal, 'SIGKILL', `${tag} killed before the end: ${exit.stderr}`);

      assertDatabaseSound(file, tag);
      const disk = assertContentOnDisk(contentDir, tag);
      const rows = contentRows(file);
      for (const h of rows.present) assert.ok(disk.stored.includes(h), `${tag} a 'present' row has its file`);
      const partialDir = join(contentDir, '.partial');
      const partial = new Map(readdirSync(partialDir).map((n) => [n, statSync(join(partialDir, n)).size] as const).filter(([, size]) => size > 0));

      // what a server started on the killed directory serves: verified files only
      const resumeFrom = up.requests.length;
      const server = await serve(B.dir);
      let served: string[];
      try {
        // what the sync wants (asking for other files would make the server fetch them on demand)
        served = await assertServedContent(server.url, wanted, tag);
      } finally {
        await server.kill9();
      }
      for (const h of partial.keys()) assert.ok(!rows.present.has(h), `${tag} a partial file is not a present one`);

      const again = await wsusRun(['sync', 'run', '--local', '--data', B.dir, '--json']);
      assert.equal(again.code, 0, `${tag} resume: ${again.stderr}`);
      const result = JSON.parse(again.stdout) as { state: string; counts: { content?: { failed: number } } };
      assert.equal(result.state, 'succeeded', tag);
      assert.equal(result.counts.content?.failed ?? 0, 0, `${tag} no file failed`);
      // a file cut off by the kill continues where it stopped (or a server started meanwhile already finished it)
      const later = up.requests.slice(resumeFrom);
      for (const [h, size] of partial) {
        const asked = later.filter((r) => r.sha1Hex === h);
        // a partial file holding every byte (killed before its rename) commits without asking again
        if (size === FILES.get(h)!.length && asked.length === 0) continue;
        assert.ok(asked.length > 0, `${tag} ${h}: the cut-off file was fetched again`);
        assert.ok(asked[0]!.range !== null, `${tag} ${h}: resumed with a Range request (had ${size} bytes), got ${JSON.stringify(asked[0])}`);
        resumedWithRange++;
      }
      assertDatabaseSound(file, `${tag} after resume`);
      const end = assertContentOnDisk(contentDir, `${tag} after resume`);
      assert.equal(end.scratch['.partial'] ?? 0, 0, `${tag} no partial files left`);
      assert.equal(end.scratch['.tmp'] ?? 0, 0, `${tag} no temporary files left`);
      assertSameState(canonicalState(file), reference, tag);
      c.note(`round ${round}: killed after ${k} file requests: ${rows.present.size}/${rows.known.length} present, ${partial.size} partial, ${served.length} served after the kill`);
    }
    c.note(`${resumedWithRange} partial file(s) resumed with a Range request`);
  } finally {
    await up.close();
    await A.close();
    for (const d of dirs) d.cleanup();
  }
});
