import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { importInto, tempDataDir, testConfig } from './support/test-server.js';
import { DomainError } from '../src/core/errors.js';
import { mapAdminError } from '../src/admin/admin-errors.js';
import { openDatabase } from '../src/store/database.js';
import { StorageError, guardConnection, storageErrorOf } from '../src/store/storage-errors.js';
import { WuaClient, reportingEvent } from './support/wua-client.js';
import { mountSmallDisk } from './support/disk-tmpfs.js';
import {
  adminCall, assertContentOnDisk, assertDatabaseSound, createAdminToken, serve, wsus, wsusRun, writeServerConfig, type ServeChild,
} from './support/crash-harness.js';

// The data directory on a small tmpfs. Disk full: clients get a SOAP ServerBusy fault (they back
// off and retry; nothing half-stored), the admin API 503 with "disk full: …", the CLI exit 1
// with the same words, the log says "disk full"; the server keeps serving reads (scans), the
// database stays sound, a server restarted on the full disk starts, and everything works again
// once space returns. Read-only volume: `wsus serve` (and any command that opens the database)
// refuses to start, naming the read-only file system and what to do.

const CATALOG = generateCatalog({ updates: 30, seed: 97, fileSize: 16 * 1024 });
const MORE = generateCatalog({ updates: 12, seed: 98 });
const FAT = Array.from({ length: 6 }, (_, i) => `Note${i}=${'x'.repeat(400)}`);

function bigBatch(clientId: string): string {
  const at = new Date(Date.now() - 3600_000).toISOString();
  return Array.from({ length: 60 }, () => reportingEvent(clientId, 147, randomUUID(), undefined, FAT, { time: at })).join('');
}

const faultCode = (text: string): string | undefined => /<ErrorCode>(\w+)<\/ErrorCode>/.exec(text)?.[1];

test('disk full: clear ServerBusy / 503 / exit-1 errors saying "disk full", reads keep working, nothing corrupt, recovery when space returns; read-only: refuses to start clearly', async (t) => {
  const disk = mountSmallDisk(24);
  if ('unavailable' in disk) {
    t.skip(`disk-full and read-only cases need a tmpfs: ${disk.unavailable}`);
    return;
  }
  const dir = join(disk.dir, 'data');
  const servers: ServeChild[] = [];
  try {
    mkdirSync(dir);
    const settings = { reporting: { clientEventsPerMinute: 1_000_000, clientEventBurst: 1_000_000 } };
    writeServerConfig(dir, settings);
    assert.equal(importInto(testConfig(dir, settings), [...CATALOG.documents].map((d) => ({ name: d.fileName, read: () => d.xml }))).failed, 0);
    const token = createAdminToken(join(dir, 'wsus.db'));
    const docs = join(disk.dir, 'more-docs');
    mkdirSync(docs);
    for (const d of MORE.documents) writeFileSync(join(docs, d.fileName), d.xml);
    const files = join(disk.dir, 'files');
    mkdirSync(files);
    for (const f of [...CATALOG.contentFiles].slice(0, 8)) writeFileSync(join(files, f.contentFileName), f.bytes());

    const server = await serve(dir);
    servers.push(server);
    const client = new WuaClient(server.url, randomUUID());
    await client.handshake();
    assert.equal((await client.report(bigBatch(client.clientId))).status, 200);
    const filled = disk.fill();
    t.diagnostic(`filled the volume with ${filled} bytes`);

    // reports: accepted while the database still has room in its files, then ServerBusy — never InternalServerError
    const refused: string[] = [];
    let accepted = 0;
    let pending: string | undefined;
    for (let i = 0; i < 120 && !pending; i++) {
      const batch = bigBatch(client.clientId);
      const r = await client.report(batch);
      if (r.status === 200) {
        accepted++;
        continue;
      }
      assert.equal(r.status, 500, r.text);
      refused.push(faultCode(r.text) ?? r.text.slice(0, 200));
      pending = batch;
    }
    assert.ok(pending, `a report was refused once the disk was full (${accepted} accepted)`);
    assert.deepEqual(refused, ['ServerBusy'], 'the fault a client retries later');
    t.diagnostic(`reports: ${accepted} accepted on the full disk, then ServerBusy`);

    // the admin API: 503, code ServerBusy, "disk full" in the message
    const db = new Database(join(dir, 'wsus.db'), { readonly: true });
    const approvable = (db.prepare(`SELECT update_id AS id FROM update_summary WHERE update_type IN ('Software', 'Driver')
      AND explicitly_deployable = 1 AND publication_state <> 'Expired'`).all() as Array<{ id: string }>).map((r) => r.id);
    db.close();
    let admin: { status: number; body: Record<string, unknown> } | undefined;
    for (let i = 0; i < 40; i++) {
      const r = await adminCall(server.adminUrl, token, 'POST', i % 2 ? '/api/updates/unapprove' : '/api/updates/approve', { updates: approvable, groups: ['All Computers'] });
      if (r.status !== 200) {
        admin = r;
        break;
      }
    }
    assert.ok(admin, 'an approval was refused once the disk was full');
    assert.equal(admin.status, 503, JSON.stringify(admin.body));
    assert.equal(admin.body.code, 'ServerBusy');
    assert.match(String(admin.body.error), /^disk full: the database .*wsus\.db could not be written; free space on that volume/);
    t.diagnostic(`admin API: ${admin.status} ${JSON.stringify(admin.body)}`);

    // the CLI beside the server: exit 1, the same words, no stack trace
    const imp = await wsusRun(['import', '--data', dir, docs]);
    assert.equal(imp.code, 1, imp.stdout + imp.stderr);
    assert.match(imp.stderr, /^wsus: disk full: /m);
    assert.doesNotMatch(imp.stderr, /\n\s+at /, 'no stack trace');
    const content = await wsusRun(['content', 'import', '--data', dir, files]);
    assert.equal(content.code, 1, content.stdout + content.stderr);
    assert.match(content.stderr, /^wsus: disk full: the (content store|database)/m);
    t.diagnostic(`CLI: ${imp.stderr.trim()} | ${content.stderr.trim()}`);
    assert.equal(readdirSync(join(dir, 'content', '.tmp')).length, 0, 'no half-written file left in .tmp');
    assertContentOnDisk(join(dir, 'content'), 'disk full');

    // reads keep working: a full scan
    assert.ok(await client.fullScan() >= 1);
    assert.ok(server.alive(), 'the server is still running');
    const logs = server.stderr();
    assert.match(logs, /disk full/, 'the log says disk full');
    assert.doesNotMatch(logs, /"message":"operation failed"/, 'no anonymous InternalServerError');

    // kill -9 on the full disk, restart on the full disk: it starts and serves scans
    await server.kill9();
    assertDatabaseSound(join(dir, 'wsus.db'), 'killed on a full disk');
    const onFull = await serve(dir);
    servers.push(onFull);
    const again = Object.assign(new WuaClient(onFull.url, client.clientId), { cookie: client.cookie, expiration: client.expiration });
    assert.ok(await again.fullScan() >= 1, 'a server started on a full disk serves scans');
    const stillFull = await again.report(pending);
    assert.equal(faultCode(stillFull.text), 'ServerBusy', stillFull.text.slice(0, 300));

    // space returns: the same server accepts the refused batch, approvals, imports
    disk.free();
    const retried = await again.report(pending);
    assert.equal(retried.status, 200, retried.text.slice(0, 300));
    const ok = await adminCall(onFull.adminUrl, token, 'POST', '/api/updates/approve', { updates: approvable, groups: ['All Computers'] });
    assert.equal(ok.status, 200, JSON.stringify(ok.body).slice(0, 300));
    const imp2 = await wsusRun(['import', '--data', dir, docs]);
    assert.equal(imp2.code, 0, imp2.stderr);
    const content2 = await wsusRun(['content', 'import', '--data', dir, files]);
    assert.equal(content2.code, 0, content2.stderr);
    assertContentOnDisk(join(dir, 'content'), 'after space returned');
    await onFull.kill9();
    assertDatabaseSound(join(dir, 'wsus.db'), 'after recovery');

    // read-only volume: refuses to start, saying why and what to do
    disk.remount('ro');
    try {
      const ro = wsus(['serve', '--data', dir], { WSUS_LOG_LEVEL: 'info' });
      const exit = await ro.done;
      assert.equal(exit.code, 1, exit.stderr);
      t.diagnostic(`read-only: ${exit.stderr.trim()}`);
      assert.match(exit.stderr, /^wsus: cannot open the database .*wsus\.db: the data directory .* is on a read-only file system\. .*remount it read-write/m);
      const cli = await wsusRun(['updates', 'list', '--local', '--data', dir]);
      assert.equal(cli.code, 1);
      assert.match(cli.stderr, /read-only file system/);
    } finally {
      disk.remount('rw');
    }
    const back = await serve(dir);
    servers.push(back);
    await back.kill9();
    assertDatabaseSound(join(dir, 'wsus.db'), 'after read-only');
  } finally {
    for (const s of servers) await s.kill9();
    disk.unmount();
  }
});

test('storage failures map to one clear DomainError: SQLite FULL / READONLY / IOERR / BUSY and ENOSPC / EROFS / EIO', async () => {
  const cases: Array<[string, string, RegExp]> = [
    ['SQLITE_FULL', 'disk-full', /^disk full: the database x\.db could not be written/],
    ['SQLITE_READONLY_DBMOVED', 'read-only', /^storage is read-only: the database x\.db cannot be written; remount/],
    ['SQLITE_IOERR_WRITE', 'io-error', /^storage I\/O error on the database x\.db; check the disk/],
    ['SQLITE_BUSY', 'busy', /^database busy: another writer held the database x\.db/],
    ['ENOSPC', 'disk-full', /^disk full: /],
    ['EROFS', 'read-only', /^storage is read-only: /],
    ['EIO', 'io-error', /^storage I\/O error /],
  ];
  for (const [code, failure, message] of cases) {
    const e = storageErrorOf(Object.assign(new Error('boom'), { code }), 'the database x.db');
    assert.ok(e instanceof StorageError && e instanceof DomainError, code);
    assert.equal(e.failure, failure, code);
    assert.equal(e.code, 'ServerBusy', `${code}: clients back off and retry`);
    assert.match(e.message, message, code);
    assert.ok(e.message.endsWith(`[${code}: boom]`), code);
    assert.deepEqual(mapAdminError(e).status, 503);
  }
  assert.equal(storageErrorOf(Object.assign(new Error('x'), { code: 'SQLITE_CONSTRAINT_UNIQUE' }), 'db'), undefined, 'not a storage failure');
  assert.equal(storageErrorOf(new Error('x'), 'db'), undefined);

  // through a real connection: a write on a read-only one is a StorageError, not a raw SqliteError
  const tmp = tempDataDir();
  try {
    const file = join(tmp.dir, 'wsus.db');
    openDatabase(file).close();
    const ro = guardConnection(new Database(file, { readonly: true }));
    try {
      assert.throws(() => ro.prepare("INSERT INTO meta (key, value) VALUES ('k', 'v')").run(), (e: unknown) => e instanceof StorageError && e.failure === 'read-only');
      assert.throws(() => ro.transaction(() => ro.exec("INSERT INTO meta (key, value) VALUES ('k', 'v')")).immediate(), (e: unknown) => e instanceof StorageError);
      assert.equal((ro.prepare('SELECT count(*) AS n FROM meta').get() as { n: number }).n >= 0, true, 'reads work');
      assert.deepEqual([...ro.prepare('SELECT 1 AS one').iterate()], [{ one: 1 }]);
    } finally {
      ro.close();
    }
  } finally {
    tmp.cleanup();
  }
});
