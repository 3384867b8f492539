import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { child } from '../src/protocol/xml/xml-element.js';
import { BLOCK, checksumOf } from '../src/core/transfer/tar-format.js';
import { indexTar, readMember, tarStream, type TarSource } from '../src/services/transfer/tar-file.js';
import { createSelfSignedCertificate } from '../src/cli/commands/cert.command.js';
import { cliFor } from './support/admin-cli.js';
import { approveOn, catalog, declinedId, figures, laterApprovedId, scan, seed, startNode, stopNode, summary, type ClientView, type Node } from './support/transfer-env.js';
import { adminHandle } from './support/test-server.js';
import { createTransferStore } from '../src/store/transfer.store.js';

// Export from a connected server X, import into a disconnected server Y: a client scanning Y
// gets exactly what a client scanning X gets, and downloads the same bytes. Tampered, foreign
// or malformed packages are refused with a clear message and change nothing.

function sameView(x: ClientView, y: ClientView, what: string): void {
  assert.ok(x.updates.size > 50, `${what}: the client received ${x.updates.size} updates`);
  assert.deepEqual([...y.updates.keys()].sort(), [...x.updates.keys()].sort(), `${what}: same update ids and revisions`);
  for (const [id, u] of x.updates) assert.deepEqual(y.updates.get(id), u, `${what}: ${id}`);
}

async function fileUrls(view: ClientView): Promise<Map<string, string>> {
  const ids = [...view.client.received.values()].filter((u) => u.action === 'Install' || u.action === 'Bundle').map((u) => u.revisionId).sort((a, b) => a - b);
  const urls = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 50) {
    const r = await view.client.extendedInfo(ids.slice(i, i + 50));
    for (const l of child(child(r.result, 'GetExtendedUpdateInfoResult'), 'FileLocations')?.children ?? []) {
      urls.set(Buffer.from(child(l, 'FileDigest')!.text, 'base64').toString('hex').toUpperCase(), child(l, 'Url')!.text);
    }
  }
  return urls;
}

const pkgDir = mkdtempSync(join(tmpdir(), 'wsus-pkg-'));
process.on('exit', () => rmSync(pkgDir, { recursive: true, force: true }));

test('round trip: export X (catalog, approvals, content) → import Y; clients see the same; deltas follow; re-import is a no-op', async () => {
  const X = await startNode('exporter');
  const Y = await startNode('importer');
  try {
    // X lacks the newest revision of one update at first: it arrives later and travels in a delta.
    const later = summary.interesting.multiRevision!;
    await seed(X, (d) => !(d.updateId === later.updateId && d.revisionNumber === later.revisionNumber));
    approveOn(X);
    const onX = cliFor(X.server);
    const onY = cliFor(Y.server);
    const full = join(pkgDir, 'full.tar');
    const ex = await onX('export', '--out', full, '--approvals', '--content', 'approved');
    assert.equal(ex.status, 0, ex.stderr);
    assert.match(ex.stdout, /full package .*\n .* update documents, 2 groups, 2 approvals, 1 declined, \d+ content files/);
    const anchor = Number(/anchor (\d+)/.exec(ex.stdout)![1]);

    const dry = await onY('import', full, '--dry-run');
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /verified \(dry run, nothing changed\)/);
    assert.match(dry.stdout, /groups: 2 created/);
    assert.equal(figures(Y).revisions, 0, 'a dry run changes nothing');

    const im = await onY('import', full);
    assert.equal(im.status, 0, im.stderr + im.stdout);
    assert.match(im.stdout, /imported\n {2}signed by CN=wsus-hq transfer/);
    assert.match(im.stdout, /update documents: (\d+), \1 added, 0 unchanged, 0 rejected/);
    assert.match(im.stdout, /content files: (\d+), \1 stored/);
    assert.match(im.stdout, /approvals: 2 approved, 0 removed/);
    assert.match(im.stderr, /documents/, 'progress on stderr');

    const client = randomUUID();
    const vx = await scan(X, client);
    const vy = await scan(Y, client);
    sameView(vx, vy, 'full package');
    assert.ok([...vy.updates.values()].some((u) => u.action === 'Install' && u.deadline === '2026-12-24T00:00:00.000Z'), 'the Pilot approval with its deadline');
    assert.ok(![...vy.updates.keys()].some((k) => k.startsWith(declinedId)), 'the declined update is not offered');
    // a client outside the groups sees the same too (no approvals)
    sameView(await scan(X, randomUUID(), 'Elsewhere'), await scan(Y, randomUUID(), 'Elsewhere'), 'unassigned client');

    // the same bytes from Y as from X, for every file of the approved updates (the package
    // carries those: --content approved)
    const ux = await fileUrls(vx);
    const uy = await fileUrls(vy);
    assert.deepEqual([...uy.keys()].sort(), [...ux.keys()].sort(), 'the same file locations');
    const hx = adminHandle(X.config);
    const approved = createTransferStore(hx.db).approvedDigests();
    hx.close();
    assert.ok(approved.length > 0);
    for (const digest of approved) {
      const url = uy.get(digest)!;
      assert.ok(url, `the client is told where ${digest} is`);
      assert.ok(url.startsWith(Y.server.url), url);
      const [a, b] = await Promise.all([fetch(url), fetch(ux.get(digest)!)]);
      assert.equal(a.status, 200, url);
      const bytes = Buffer.from(await a.arrayBuffer());
      assert.deepEqual(bytes, Buffer.from(await b.arrayBuffer()));
      assert.equal(createHash('sha1').update(bytes).digest('hex').toUpperCase(), digest);
    }

    // importing the same package again changes nothing
    const before = figures(Y);
    const again = await onY('import', full, '--json');
    assert.equal(again.status, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { alreadyImported: boolean }).alreadyImported, true);
    assert.deepEqual(figures(Y), before);

    // later on X: the newer revision arrives, the standalone approval is withdrawn, another added
    await seed(X, (d) => d.updateId === later.updateId && d.revisionNumber === later.revisionNumber);
    const h = adminHandle(X.config);
    try {
      h.targeting.unapprove(summary.interesting.standalone!.updateId, 'Ring1', new Date());
      h.targeting.approve(laterApprovedId, 'Ring1', 'Uninstall', null, 'test', new Date());
    } finally {
      h.close();
    }
    const delta = join(pkgDir, 'delta.tar');
    const dx = await onX('export', '--out', delta, '--since', String(anchor), '--approvals', '--content', 'approved', '--json');
    assert.equal(dx.status, 0, dx.stderr);
    const dj = JSON.parse(dx.stdout) as { kind: string; counts: { updates: number } };
    assert.equal(dj.kind, 'delta');
    assert.equal(dj.counts.updates, 1, 'only the new revision');
    const di = await onY('import', delta);
    assert.equal(di.status, 0, di.stderr + di.stdout);
    assert.match(di.stdout, /update documents: 1, 1 added/);
    assert.match(di.stdout, /approvals: 1 approved, 1 removed/);
    const c2 = randomUUID();
    sameView(await scan(X, c2), await scan(Y, c2), 'after the delta');
  } finally {
    await stopNode(X);
    await stopNode(Y);
  }
});

/** Rewrites one byte range of a member in place (its size stays, so the tar stays well-formed). */
async function patchMember(file: string, name: string, edit: (b: Buffer) => Buffer): Promise<void> {
  const e = (await indexTar(file)).find((x) => x.name === name)!;
  const next = edit(await readMember(file, e));
  assert.equal(next.length, e.size);
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, next, 0, next.length, e.offset);
  } finally {
    closeSync(fd);
  }
}

/** A package with other members, the original manifest last. */
async function rebuild(file: string, to: string, change: (members: TarSource[]) => TarSource[]): Promise<void> {
  const entries = await indexTar(file);
  const manifest = entries.find((e) => e.name === 'manifest.xml')!;
  const members: TarSource[] = [];
  for (const e of entries.filter((x) => x.name !== 'manifest.xml')) {
    const bytes = await readMember(file, e);
    members.push({ name: e.name, size: bytes.length, mtime: new Date(), open: () => bytes });
  }
  const mbytes = await readMember(file, manifest);
  writeFileSync(to, await buffer(tarStream(change(members), () => ({ name: 'manifest.xml', size: mbytes.length, mtime: new Date(), open: () => mbytes }))));
}

test('refused packages: tampered manifest or member, untrusted signer, traversal, extra or missing members, a replica with approvals', async () => {
  const X = await startNode('exporter');
  const Y = await startNode('importer');
  const stranger = createSelfSignedCertificate({ hosts: ['someone else'], days: 60, keyBits: 2048, purpose: 'signing' });
  const Z = await startNode('importer', {}, stranger);
  const R = await startNode('importer', { sync: { upstream: 'http://upstream.invalid:8530', mode: 'replica' } });
  try {
    await seed(X);
    approveOn(X);
    const good = join(pkgDir, 'good.tar');
    assert.equal((await cliFor(X.server)('export', '--out', good, '--approvals', '--content', 'approved')).status, 0);
    const entries = await indexTar(good);
    const doc = entries.find((e) => e.name.startsWith('updates/'))!.name;
    const content = entries.find((e) => e.name.startsWith('content/'))!.name;
    const before = figures(Y);
    const onY = cliFor(Y.server);
    const bad = async (file: string, why: RegExp, exit = 2, node = Y, run = onY): Promise<void> => {
      const r = await run('import', file);
      assert.equal(r.status, exit, `${file}: ${r.stderr}${r.stdout}`);
      assert.match(r.stderr, why, file);
      assert.deepEqual(figures(node), node === Y ? before : figures(node));
    };

    const manifestEdited = join(pkgDir, 'manifest-edited.tar');
    writeFileSync(manifestEdited, readFileSync(good));
    await patchMember(manifestEdited, 'manifest.xml', (b) => Buffer.from(b.toString('latin1').replace(/Approvals="true"/, 'Approvals="tru3"'), 'latin1'));
    await bad(manifestEdited, /package refused: the signature does not verify/);

    const memberEdited = join(pkgDir, 'member-edited.tar');
    writeFileSync(memberEdited, readFileSync(good));
    await patchMember(memberEdited, doc, (b) => { const c = Buffer.from(b); c[c.length - 3] = c[c.length - 3]! ^ 0x01; return c; });
    await bad(memberEdited, new RegExp(`package refused: member ${doc.replace(/\./g, '\\.')} does not match its SHA-256`));

    const contentEdited = join(pkgDir, 'content-edited.tar');
    writeFileSync(contentEdited, readFileSync(good));
    await patchMember(contentEdited, content, (b) => { const c = Buffer.from(b); c[0] = c[0]! ^ 0xff; return c; });
    await bad(contentEdited, /does not match its SHA-256/);

    const extra = join(pkgDir, 'extra.tar');
    await rebuild(good, extra, (m) => [...m, { name: 'content/FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF', size: 1, mtime: new Date(), open: () => Buffer.from('x') }]);
    await bad(extra, /is in the package but not in the signed manifest/);

    const missing = join(pkgDir, 'missing.tar');
    await rebuild(good, missing, (m) => m.filter((x) => x.name !== content));
    await bad(missing, /listed in the manifest but missing from the package/);

    // a header naming ../ (checksum fixed up, as a hostile tool would)
    const traversal = join(pkgDir, 'traversal.tar');
    const t = Buffer.from(readFileSync(good));
    const h = t.subarray(0, BLOCK);
    h.fill(0, 0, 100);
    h.write('../../etc/cron.d/wsus', 0, 'latin1');
    h.write(`${checksumOf(h).toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    writeFileSync(traversal, t);
    await bad(traversal, /package refused: member name "\.\.\/\.\.\/etc\/cron\.d\/wsus" climbs out of the package/);

    const notTar = join(pkgDir, 'not.tar');
    writeFileSync(notTar, Buffer.alloc(4096, 0x41));
    await bad(notTar, /package refused: tar header checksum mismatch/);

    // signed by a certificate this server does not trust
    await bad(good, /package refused: signed by an untrusted certificate \(CN=wsus-hq transfer/, 2, Z, cliFor(Z.server));
    // a replica takes approvals from its upstream only
    await bad(good, /this server is a replica of http:\/\/upstream\.invalid:8530/, 4, R, cliFor(R.server));
    // a reporter may not import (nor export)
    const rep = cliFor(Y.server, 'reporter');
    const r1 = await rep('import', good);
    assert.equal(r1.status, 5, r1.stderr);
    const r2 = await rep('export', '--out', join(pkgDir, 'r.tar'));
    assert.equal(r2.status, 5, r2.stderr);
    assert.ok(!existsSync(join(pkgDir, 'r.tar')));
    // the upload landed in DATA/transfer/incoming and was removed after each refusal
    const { readdirSync } = await import('node:fs');
    assert.deepEqual(readdirSync(join(Y.dir, 'transfer', 'incoming')), []);
    // and the good package still imports
    const ok = await onY('import', good);
    assert.equal(ok.status, 0, ok.stderr);
    // an export without a signing key is refused before anything is written
    const nokey = await onY('export', '--out', join(pkgDir, 'nokey.tar'));
    assert.equal(nokey.status, 2);
    assert.match(nokey.stderr, /exports are signed: set transfer\.signingCert/);
    void catalog;
  } finally {
    for (const n of [X, Y, Z, R] as Node[]) await stopNode(n);
  }
});
