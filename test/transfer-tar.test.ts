import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { BLOCK, TarFormatError, checksumOf, encodeHeader, memberNameProblem } from '../src/core/transfer/tar-format.js';
import { hashMember, indexTar, readMember, tarStream, type TarSource } from '../src/services/transfer/tar-file.js';

// The package tar: what the writer produces is what the strict reader accepts, and the reader
// refuses every trick a hostile archive plays (traversal, links, duplicates, lying sizes).

const at = new Date('2026-05-01T00:00:00Z');
const src = (name: string, data: Buffer): TarSource => ({ name, size: data.length, mtime: at, open: () => data });

async function tarOf(sources: TarSource[], last: TarSource): Promise<Buffer> {
  return buffer(tarStream(sources, () => last));
}

function withFile<T>(bytes: Buffer, body: (path: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'wsus-tar-'));
  const path = join(dir, 'p.tar');
  writeFileSync(path, bytes);
  return body(path).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** A header with arbitrary fields (what a hostile tool could write), checksum fixed up. */
function rawHeader(o: { name: string; size?: number; type?: string; link?: string; prefix?: string; magic?: string }): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(o.name, 0, 'latin1');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${(o.size ?? 0).toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write(o.type ?? '0', 156, 'latin1');
  if (o.link) h.write(o.link, 157);
  h.write(o.magic ?? 'ustar\0', 257, 'latin1');
  h.write('00', 263);
  if (o.prefix) h.write(o.prefix, 345);
  h.write(`${checksumOf(h).toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

const pad = (n: number) => Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK);
const END = Buffer.alloc(2 * BLOCK);

test('round trip: members in order, sizes, offsets and SHA-256 as written; the last member sees the digests', async () => {
  const a = Buffer.from('<Update>one</Update>');
  const b = Buffer.alloc(BLOCK * 3 + 7, 0x41);
  const empty = Buffer.alloc(0);
  let seen: Array<{ name: string; sha256: string }> = [];
  const bytes = await buffer(tarStream([src('updates/a.xml', a), src('content/B', b), src('empty', empty)], (written) => {
    seen = written.map((w) => ({ name: w.name, sha256: w.sha256 }));
    return src('manifest.xml', Buffer.from(JSON.stringify(seen)));
  }));
  assert.equal(bytes.length % BLOCK, 0);
  assert.deepEqual(seen.map((s) => s.name), ['updates/a.xml', 'content/B', 'empty']);
  assert.equal(seen[1]!.sha256, createHash('sha256').update(b).digest('hex'));
  await withFile(bytes, async (path) => {
    const entries = await indexTar(path);
    assert.deepEqual(entries.map((e) => [e.name, e.size]), [['updates/a.xml', a.length], ['content/B', b.length], ['empty', 0], ['manifest.xml', Buffer.from(JSON.stringify(seen)).length]]);
    assert.deepEqual(await readMember(path, entries[0]!), a);
    assert.equal(await hashMember(path, entries[1]!), seen[1]!.sha256);
    assert.equal((await readMember(path, entries[2]!)).length, 0);
  });
});

test('streamed sources are checked against their declared size', async () => {
  const lying: TarSource = { name: 'content/X', size: 10, mtime: at, open: () => Readable.from([Buffer.alloc(4)]) };
  await assert.rejects(tarOf([lying], src('manifest.xml', Buffer.from('m'))), /changed while it was written/);
  const growing: TarSource = { name: 'content/Y', size: 2, mtime: at, open: () => Readable.from([Buffer.alloc(4)]) };
  await assert.rejects(tarOf([growing], src('manifest.xml', Buffer.from('m'))), /changed while it was written/);
});

test('member names: only relative, simple, short names', () => {
  for (const ok of ['manifest.xml', 'updates/0a-b.12.xml', 'content/ABCDEF', 'targeting.json']) assert.equal(memberNameProblem(ok), null, ok);
  const bad: Array<[string, RegExp]> = [
    ['/etc/passwd', /absolute/], ['C:/x', /absolute/], ['\\x', /absolute/], ['../x', /climbs out/], ['a/../../x', /climbs out/],
    ['a\\b', /backslash/], ['a//b', /characters or segments/], ['.hidden', /characters or segments/], ['a/./b', /characters or segments/],
    ['a b', /characters or segments/], ['', /empty/], [`${'x'.repeat(100)}`, /longer than/],
  ];
  for (const [name, why] of bad) assert.match(memberNameProblem(name) ?? '', why, name);
  assert.throws(() => encodeHeader('../evil', 1, at), TarFormatError);
});

test('the reader refuses hostile archives', async () => {
  const body = Buffer.from('x');
  const cases: Array<[string, Buffer, RegExp]> = [
    ['absolute path', Buffer.concat([rawHeader({ name: '/etc/cron.d/x', size: 1 }), body, pad(1), END]), /absolute/],
    ['traversal', Buffer.concat([rawHeader({ name: 'updates/../../x', size: 1 }), body, pad(1), END]), /climbs out/],
    ['symlink', Buffer.concat([rawHeader({ name: 'content/L', type: '2', link: '/etc/passwd' }), END]), /symbolic link/],
    ['hard link', Buffer.concat([rawHeader({ name: 'content/H', type: '1', link: 'manifest.xml' }), END]), /hard link/],
    ['directory', Buffer.concat([rawHeader({ name: 'content', type: '5' }), END]), /directory/],
    ['pax header', Buffer.concat([rawHeader({ name: 'PaxHeader', type: 'x', size: 1 }), body, pad(1), END]), /pax/],
    ['GNU long name', Buffer.concat([rawHeader({ name: '././@LongLink', type: 'L', size: 1 }), body, pad(1), END]), /GNU long name/],
    ['prefix field', Buffer.concat([rawHeader({ name: 'x', size: 1, prefix: 'updates' }), body, pad(1), END]), /prefix/],
    ['GNU magic', Buffer.concat([rawHeader({ name: 'x', size: 1, magic: 'ustar ' }), body, pad(1), END]), /ustar/],
    ['duplicate', Buffer.concat([rawHeader({ name: 'a', size: 1 }), body, pad(1), rawHeader({ name: 'A', size: 1 }), body, pad(1), END]), /more than once/],
    ['size beyond the file', Buffer.concat([rawHeader({ name: 'a', size: 1 << 30 }), body, pad(1), END]), /more than the package holds/],
    ['no end marker', Buffer.concat([rawHeader({ name: 'a', size: 1 }), body, pad(1)]), /without an end-of-archive/],
    ['garbage after the end', Buffer.concat([rawHeader({ name: 'a', size: 1 }), body, pad(1), END, Buffer.alloc(BLOCK, 1)]), /after the end-of-archive/],
    ['not block aligned', Buffer.concat([rawHeader({ name: 'a', size: 1 }), body]), /whole number of tar blocks/],
    ['empty', Buffer.alloc(0), /empty/],
  ];
  for (const [what, bytes, why] of cases) {
    await withFile(bytes, (path) => assert.rejects(indexTar(path), (e: Error) => e instanceof TarFormatError && why.test(e.message), what));
  }
  // an unterminated name field (100 name bytes, no NUL)
  const h = rawHeader({ name: 'n'.repeat(100), size: 0 });
  await withFile(Buffer.concat([h, END]), (path) => assert.rejects(indexTar(path), /not terminated/));
  // a damaged header
  const good = await tarOf([], src('manifest.xml', Buffer.from('m')));
  good[10] = 0x7a;
  await withFile(good, (path) => assert.rejects(indexTar(path), /checksum mismatch/));
});

test('zero padding after the end marker is accepted (record-size padding of other tar tools)', async () => {
  const bytes = Buffer.concat([await tarOf([], src('manifest.xml', Buffer.from('m'))), Buffer.alloc(10 * BLOCK)]);
  await withFile(bytes, async (path) => assert.deepEqual((await indexTar(path)).map((e) => e.name), ['manifest.xml']));
  // and GNU tar can read what we write
  await withFile(await tarOf([src('updates/a.xml', Buffer.from('<a/>'))], src('manifest.xml', Buffer.from('m'))), async (path) => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync('tar', ['-tvf', path], { encoding: 'utf8' });
    if (r.error) return; // no tar binary: nothing to compare with
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /updates\/a\.xml/);
    assert.match(r.stdout, /manifest\.xml/);
    void readFileSync;
  });
});
