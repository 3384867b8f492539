import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { openSync, writeSync, closeSync, truncateSync, statSync } from 'node:fs';
import { Pool } from 'undici';
import { writeCatalog } from '../src/fixtures/catalog-generator.js';
import { documentSources } from '../src/services/import.service.js';
import { createContentStore } from '../src/services/content-store.service.js';
import { child } from '../src/protocol/xml/xml-element.js';
import { withServer, importInto, adminHandle, quietLog, tempDataDir } from './support/test-server.js';
import { WuaClient } from './support/wua-client.js';

// What issue 3 promises a Windows client: every file announced after a scan downloads with
// Delivery-Optimization-style shuffled 1 MiB ranges over 7 connections, byte-identical to the
// metadata's SHA-1 and SHA-256; store files that were truncated or tampered with are not served.

const MiB = 1024 * 1024;

async function prepare(config: { dataDir: string }, catalogDir: string): Promise<void> {
  importInto(config as never, documentSources([join(catalogDir, 'updates')]));
  const admin = adminHandle(config as never);
  const store = createContentStore({ db: admin.db, dir: join(config.dataDir, 'content'), log: quietLog, clock: () => new Date() });
  try {
    const report = await store.importFiles([join(catalogDir, 'content')]);
    assert.ok(JSON.stringify(report).length > 0);
  } finally {
    await store.close();
    admin.close();
  }
}

async function download(pool: Pool, path: string, size: number): Promise<Buffer> {
  const pieces = Math.max(1, Math.ceil(size / MiB));
  const order = [...Array(pieces).keys()].sort(() => Math.random() - 0.5);
  const out = Buffer.alloc(size);
  await Promise.all(order.map(async (k) => {
    const start = k * MiB;
    const end = Math.min(size, start + MiB) - 1;
    const r = await pool.request({ path, method: 'GET', headers: { range: `bytes=${start}-${end}`, 'user-agent': 'Microsoft-Delivery-Optimization/10.1' } });
    assert.equal(r.statusCode, 206, path);
    assert.equal(r.headers['content-range'], `bytes ${start}-${end}/${size}`);
    assert.equal(r.headers['accept-ranges'], 'bytes');
    assert.equal(r.headers['content-encoding'], undefined);
    Buffer.from(await r.body.arrayBuffer()).copy(out, start);
  }));
  return out;
}

test('a simulated client downloads every announced file with shuffled 1 MiB ranges and gets the metadata digests', async () => {
  const cat = tempDataDir();
  try {
    await writeCatalog(cat.dir, { updates: 12, seed: 9, fileSize: 3 * MiB });
    await withServer({}, (config) => prepare(config, cat.dir), async (server, config) => {
      const c = new WuaClient(server.url, randomUUID());
      await c.handshake();
      await c.fullScan();
      const leaves = [...c.received.values()].filter((u) => u.isLeaf).map((u) => u.revisionId).sort((a, b) => a - b);
      const locations = new Map<string, string>();
      const digests = new Map<string, { sha256?: string; size: number }>();
      for (let i = 0; i < leaves.length; i += 50) {
        const r = await c.extendedInfo(leaves.slice(i, i + 50));
        const result = child(r.result, 'GetExtendedUpdateInfoResult')!;
        for (const l of child(result, 'FileLocations')?.children ?? []) locations.set(child(l, 'FileDigest')!.text, child(l, 'Url')!.text);
      }
      // The digests the metadata promises (files and EULAs alike), read as the import stored them.
      const admin = adminHandle(config);
      for (const f of admin.db.prepare('SELECT sha1, sha256, size FROM files').all() as Array<{ sha1: string; sha256: string | null; size: number }>) {
        digests.set(f.sha1, { size: f.size, sha256: f.sha256 ?? undefined });
      }
      admin.close();
      assert.ok(locations.size >= 5, `${locations.size} files announced`);
      const pool = new Pool(server.url, { connections: 7, pipelining: 1 });
      try {
        for (const [sha1, url] of locations) {
          const meta = digests.get(sha1);
          assert.ok(meta, `metadata for ${sha1}`);
          const bytes = await download(pool, new URL(url).pathname, meta.size);
          assert.equal(createHash('sha1').update(bytes).digest('base64'), sha1);
          if (meta.sha256) assert.equal(createHash('sha256').update(bytes).digest('base64'), meta.sha256);
        }
      } finally {
        await pool.close();
      }
    });
  } finally {
    cat.cleanup();
  }
});

test('a truncated store file is never served, and deep verification quarantines a tampered one', async () => {
  const cat = tempDataDir();
  try {
    const summary = await writeCatalog(cat.dir, { updates: 12, seed: 9, fileSize: 64 * 1024 });
    await withServer({}, (config) => prepare(config, cat.dir), async (server, config) => {
      const admin = adminHandle(config);
      const rows = admin.db.prepare("SELECT sha1_hex, size FROM content WHERE state = 'present' ORDER BY sha1_hex LIMIT 2").all() as Array<{ sha1_hex: string; size: number }>;
      admin.close();
      assert.equal(rows.length, 2, JSON.stringify(summary.counts));
      const [truncated, tampered] = rows as [{ sha1_hex: string; size: number }, { sha1_hex: string; size: number }];
      const pathOf = (h: string): string => join(config.contentDir, h.slice(-2), h);
      const url = (h: string): string => `${server.url}/Content/${h.slice(-2)}/${h}.cab`;
      assert.equal((await fetch(url(truncated.sha1_hex))).status, 200);
      truncateSync(pathOf(truncated.sha1_hex), truncated.size - 1);
      assert.equal((await fetch(url(truncated.sha1_hex))).status, 404, 'a short file is not served');

      const fd = openSync(pathOf(tampered.sha1_hex), 'r+');
      writeSync(fd, Buffer.from([0x42]), 0, 1, Math.floor(statSync(pathOf(tampered.sha1_hex)).size / 2));
      closeSync(fd);
      const h2 = adminHandle(config);
      const store = createContentStore({ db: h2.db, dir: config.contentDir, log: quietLog, clock: () => new Date() });
      try {
        const report = await store.verify({ deep: true });
        assert.ok(JSON.stringify(report).includes(tampered.sha1_hex), 'deep verify names the tampered file');
      } finally {
        await store.close();
        h2.close();
      }
      assert.equal((await fetch(url(tampered.sha1_hex))).status, 404, 'a quarantined file is not served');
    });
  } finally {
    cat.cleanup();
  }
});
