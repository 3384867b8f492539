// Server-to-server sync, end to end on loopback: an upstream of ours (`wsus serve`, a generated
// catalog of ~50,000 revisions) and a downstream running `wsus sync run` in its own process.
// Prints the full-sync rate and the downstream's peak RSS, side by side with a local import of
// the same documents (the floor: parse + store without network or SOAP), then the time of an
// incremental sync after 100 revisions changed upstream. Figures only; no assertions.
//
//   npm run bench:sync [-- --updates 13700 --seed 1]   (13,700 top-level updates: 50,523 current revisions)

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { prepareCatalog } from './support/catalog.js';
import { distRoot, killAll, RssSampler, startServerChild, stopChild } from './support/processes.js';
import { importDocuments } from '../src/services/import.service.js';
import { adminHandle, quietLog, testConfig } from '../test/support/test-server.js';
import { argNumber } from './support/knobs.js';

const updates = argNumber('updates', 13_700);
const seed = argNumber('seed', 1);
const mb = (b: number): string => `${(b / 1048576).toFixed(0)} MB`;

interface Run { seconds: number; peakRss: number; code: number | null; stderr: string }

async function syncOnce(dataDir: string): Promise<Run> {
  const t0 = performance.now();
  const proc = spawn(process.execPath, [join(distRoot, 'src/cli/main.js'), 'sync', 'run', '--local', '--data', dataDir], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WSUS_LOG_LEVEL: 'error' },
  });
  let stderr = '';
  proc.stderr!.on('data', (b: Buffer) => { stderr = (stderr + b.toString()).slice(-4000); });
  const sampler = new RssSampler(proc.pid!, 100);
  sampler.phase('sync');
  sampler.start();
  const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
  sampler.stop();
  return { seconds: (performance.now() - t0) / 1000, peakRss: sampler.overallMax, code, stderr };
}

function countUpdates(dbFile: string): number {
  const db = new Database(dbFile, { readonly: true });
  try {
    return db.prepare('SELECT count(*) FROM updates').pluck().get() as number;
  } finally {
    db.close();
  }
}

function countRevisions(dbFile: string): number {
  const db = new Database(dbFile, { readonly: true });
  try {
    return db.prepare('SELECT count(*) FROM revisions').pluck().get() as number;
  } finally {
    db.close();
  }
}

/** Publishes a new revision of `n` current software updates on the upstream (as Microsoft revises updates). */
function reviseUpstream(dataDir: string, n: number): number {
  const h = adminHandle(testConfig(dataDir));
  try {
    const docs = h.db.prepare(
      // Top-level updates (they carry product and classification): Microsoft revises a bundle
      // together with its payloads, and a payload alone is not listed by product.
      `SELECT r.document FROM revisions r JOIN updates u ON u.current_revision_id = r.id
        WHERE r.update_type = 'Software' AND EXISTS (SELECT 1 FROM revision_categories c WHERE c.revision_id = r.id)
        ORDER BY r.id DESC LIMIT ?`,
    ).pluck().all(n) as string[];
    const revised = docs.map((xml) => xml.replace(/(<upd:UpdateIdentity [^>]*RevisionNumber=")(\d+)"/, (_m, pre: string, rev: string) => `${pre}${Number(rev) + 1000}"`))
      .map((xml, i) => ({ name: `revised-${i}`, read: () => xml }));
    const r = importDocuments({ db: h.db, catalog: h.catalog, log: quietLog, clock: () => new Date() }, revised);
    return r.added;
  } finally {
    h.close();
  }
}

async function main(): Promise<void> {
  console.log(`bench/sync: ${updates} top-level updates (seed ${seed}), 2 processes on loopback`);
  const upstream = prepareCatalog(updates, seed);
  const baselineDir = mkdtempSync(join(tmpdir(), 'wsus-bench-import-'));
  const downDir = mkdtempSync(join(tmpdir(), 'wsus-bench-down-'));
  try {
    console.log(`upstream catalog: ${upstream.revisions} revisions (${upstream.reused ? 'cached' : `built in ${upstream.importSeconds.toFixed(0)} s`})`);

    // 1. The floor: a local import of the same documents in a child process.
    const base = await new Promise<{ revisions: number; seconds: number; peakRss: number }>((resolve, reject) => {
      const p = spawn(process.execPath, [join(distRoot, 'bench/support/import-baseline.js'), join(upstream.dataDir, 'wsus.db'), baselineDir], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      p.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
      p.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`baseline import exited ${code}`))));
    });
    const baseRate = base.revisions / base.seconds;
    console.log(`local import (floor):   ${base.revisions} revisions in ${base.seconds.toFixed(1)} s = ${baseRate.toFixed(0)} revisions/s, peak RSS ${mb(base.peakRss)}`);

    // 2. Full sync from the upstream.
    const server = await startServerChild(upstream.dataDir);
    writeFileSync(join(downDir, 'config.json'), JSON.stringify({
      seedDemoCatalog: false, logLevel: 'error',
      sync: { upstream: server.url, serverName: 'bench-downstream.local', content: 'none' },
    }));
    const full = await syncOnce(downDir);
    if (full.code !== 0) throw new Error(`full sync failed (${full.code}):\n${full.stderr}`);
    const synced = countRevisions(join(downDir, 'wsus.db'));
    const rate = synced / full.seconds;
    console.log(`full sync (end to end): ${synced} revisions in ${full.seconds.toFixed(1)} s = ${rate.toFixed(0)} revisions/s ` +
      `(${(rate / baseRate).toFixed(2)}x the local import), downstream peak RSS ${mb(full.peakRss)}`);
    // GetRevisionIdList lists the newest revision of each update, so older revisions stay upstream.
    const expected = countUpdates(join(upstream.dataDir, 'wsus.db'));
    if (synced !== expected) console.log(`  MISMATCH: the upstream has ${expected} current revisions, the downstream ${synced}`);

    // 3. Nothing changed: the cost of asking.
    const idle = await syncOnce(downDir);
    console.log(`no-change sync:         ${idle.seconds.toFixed(2)} s`);

    // 4. 100 revisions changed upstream.
    const added = reviseUpstream(upstream.dataDir, 100);
    const inc = await syncOnce(downDir);
    if (inc.code !== 0) throw new Error(`incremental sync failed (${inc.code}):\n${inc.stderr}`);
    const after = countRevisions(join(downDir, 'wsus.db'));
    console.log(`incremental sync:       ${after - synced} new revisions (${added} revised upstream) in ${inc.seconds.toFixed(2)} s, peak RSS ${mb(inc.peakRss)}`);
    await stopChild(server.proc);
  } finally {
    killAll();
    upstream.cleanup();
    rmSync(baselineDir, { recursive: true, force: true });
    rmSync(downDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  killAll();
  process.exit(1);
});
