import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { tempDataDir } from './support/test-server.js';
import {
  assertDatabaseSound, assertSameState, campaign, canonicalState, killAfter, wsus, wsusRun, writeServerConfig,
} from './support/crash-harness.js';

// `kill -9` of `wsus import` at random points (several kills in a row on one data directory):
// every kill leaves a sound database holding whole batches only, running the import again
// finishes it, and the catalog ends exactly as after one uninterrupted import.

const CATALOG = generateCatalog({ updates: 300, seed: 41 });

test('kill -9 during wsus import: sound after every kill, re-running finishes, same catalog as an uninterrupted import', async (t) => {
  const c = campaign(t, 'import', 2);
  const docs = tempDataDir();
  const dirs: Array<{ cleanup(): void }> = [docs];
  try {
    let total = 0;
    for (const d of CATALOG.documents) {
      writeFileSync(join(docs.dir, d.fileName), d.xml);
      total++;
    }
    const revisions = (file: string): number => {
      const db = new Database(file, { readonly: true, fileMustExist: true });
      try {
        return (db.prepare('SELECT count(*) AS n FROM revisions').get() as { n: number }).n;
      } catch {
        return 0; // killed before the schema was made
      } finally {
        db.close();
      }
    };

    // the reference: one uninterrupted import, timed so kill points fall inside the work
    const ref = tempDataDir();
    dirs.push(ref);
    writeServerConfig(ref.dir);
    const t0 = Date.now();
    const r0 = await wsusRun(['import', '--data', ref.dir, docs.dir]);
    const duration = Date.now() - t0;
    assert.equal(r0.code, 0, r0.stderr);
    assert.match(r0.stdout, new RegExp(`imported ${total} documents: ${total} added, 0 unchanged, 0 rejected`));
    const reference = canonicalState(join(ref.dir, 'wsus.db'));
    c.note(`${total} documents, uninterrupted import ${duration} ms`);

    let midWork = 0;
    for (let round = 1; round <= c.rounds; round++) {
      const dir = tempDataDir();
      dirs.push(dir);
      writeServerConfig(dir.dir);
      const file = join(dir.dir, 'wsus.db');
      const kills = 2;
      const seen: string[] = [];
      for (let k = 1; k <= kills; k++) {
        // The first kill: right after a batch committed (its progress line), plus a little. The
        // others: a random time from the end of node's own start (about a third of the run) on.
        const run = wsus(['import', '--data', dir.dir, docs.dir]);
        let at: string;
        let exit;
        if (k > 1) {
          const ms = Math.round(duration * (0.3 + 0.7 * c.rng.next()));
          at = `${ms} ms`;
          exit = await killAfter(run, ms);
        } else {
          const batch = c.rng.int(1, Math.max(1, Math.floor((total - 1) / 500)));
          const jitter = c.rng.int(0, 60);
          at = `batch ${batch} + ${jitter} ms`;
          await run.waitForStderr(new RegExp(` ${batch * 500}/${total} `));
          exit = await killAfter(run, jitter);
        }
        const tag = c.tag(round, `kill ${k}/${kills} at ${at}`);
        if (exit.signal === 'SIGKILL' && !existsSync(file)) {
          seen.push(`${at}: before the database was created`);
          continue;
        }
        if (exit.signal !== 'SIGKILL') {
          assert.equal(exit.code, 0, `${tag} ${exit.stderr}`);
          seen.push(`${at}: finished first`);
          continue;
        }
        assertDatabaseSound(file, tag);
        const n = revisions(file);
        seen.push(`${at}: ${n} revisions`);
        if (n > 0 && n < total) midWork++;
      }
      const tag = c.tag(round, 'rerun');
      const again = await wsusRun(['import', '--data', dir.dir, docs.dir]);
      assert.equal(again.code, 0, `${tag} ${again.stderr}`);
      const m = /imported (\d+) documents: (\d+) added, (\d+) unchanged, 0 rejected/.exec(again.stdout);
      assert.ok(m, `${tag} ${again.stdout}`);
      assert.equal(Number(m[2]) + Number(m[3]), total, `${tag} every document either added now or found unchanged`);
      assertDatabaseSound(file, tag);
      assertSameState(canonicalState(file), reference, tag);
      c.note(`round ${round}: ${seen.join('; ')}; rerun added ${m[2]}, unchanged ${m[3]}`);
    }
    c.note(`${midWork} kill(s) landed between the first and the last commit`);
    assert.ok(midWork >= 1, `${c.tag(0)} at least one kill landed mid-import`);
  } finally {
    for (const d of dirs) d.cleanup();
  }
});
