import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSelfSignedCertificate } from '../src/cli/commands/cert.command.js';
import { MICROSOFT_CODE_SIGNING_ROOTS } from '../src/protocol/authenticode/microsoft-roots.js';
import { savePublishingPair, validatePublishingPair } from '../src/services/signing/publishing-cert.js';
import { createTrustAnchorCache, loadTrustAnchors, trustedDir, type TrustSource } from '../src/services/signing/trust-store.js';
import { runCli } from './support/admin-cli.js';

// `wsus signing trust add|list|remove` as a process: the trust store content signatures are
// checked against. Refusals exit 2 and change nothing.

const tmp = mkdtempSync(join(tmpdir(), 'wsus-trust-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const thumb = (pem: string): string => new X509Certificate(pem).fingerprint.replace(/:/g, '');
const pair = (name: string) => createSelfSignedCertificate({ hosts: [name], days: 30, purpose: 'codeSigning', keyBits: 2048 });

test('list shows the bundled Microsoft roots, the publishing certificate and added publishers with their origin', async () => {
  const data = join(tmp, 'list');
  const empty = await runCli(['signing', 'trust', 'list', '--data', data, '--json']);
  assert.equal(empty.status, 0, empty.stderr);
  const before = JSON.parse(empty.stdout) as { anchors: TrustSource[] };
  assert.deepEqual(before.anchors.map((a) => [a.origin, a.thumbprintSha1]), MICROSOFT_CODE_SIGNING_ROOTS.map((r) => ['microsoft', r.thumbprintSha1]));

  const own = createSelfSignedCertificate({ hosts: ['Own Publisher'], days: 30, purpose: 'codeSigning' });
  savePublishingPair(data, validatePublishingPair(own.certPem, createPrivateKey(own.keyPem)));
  const other = pair('Fabrikam Updates');
  writeFileSync(join(tmp, 'fabrikam.pem'), other.certPem);
  const add = await runCli(['signing', 'trust', 'add', join(tmp, 'fabrikam.pem'), '--data', data]);
  assert.equal(add.status, 0, add.stderr);
  assert.match(add.stdout, /trusted CN=Fabrikam Updates/);
  assert.match(add.stdout, new RegExp(`thumbprint:\\s+${thumb(other.certPem)}`));

  const j = JSON.parse((await runCli(['signing', 'trust', 'list', '--data', data, '--json'])).stdout) as { anchors: TrustSource[] };
  assert.deepEqual(j.anchors.filter((a) => a.origin !== 'microsoft').map((a) => [a.origin, a.thumbprintSha1]),
    [['publishing', thumb(own.certPem)], ['admin', thumb(other.certPem)]]);
  const table = await runCli(['signing', 'trust', 'list', '--data', data]);
  assert.equal(table.status, 0);
  assert.match(table.stdout, /^ORIGIN\s+THUMBPRINT/);
  assert.match(table.stdout, /microsoft\s+8F43288AD272F3103B6FB1428485EA3014C0BCFE\s+\S+\s+Microsoft Root Certificate Authority 2011/);
  assert.match(table.stdout, new RegExp(`publishing\\s+${thumb(own.certPem)}.*CN=Own Publisher`));
  assert.match(table.stdout, new RegExp(`admin\\s+${thumb(other.certPem)}.*CN=Fabrikam Updates`));
});

test('add takes PEM or DER; refuses private keys, non-certificates, bundles and duplicates (exit 2, nothing written)', async () => {
  const data = join(tmp, 'add');
  const a = pair('Publisher A');
  const b = pair('Publisher B');
  const der = join(tmp, 'b.cer');
  writeFileSync(der, new X509Certificate(b.certPem).raw);
  assert.equal((await runCli(['signing', 'trust', 'add', der, '--data', data])).status, 0);
  assert.ok(existsSync(join(trustedDir(data), `${thumb(b.certPem)}.pem`)));

  const files = (): string[] => readdirSync(trustedDir(data)).sort();
  const before = files();
  const cases: Array<[string, string | Buffer, RegExp]> = [
    ['key.pem', a.certPem + a.keyPem, /private key/],
    ['onlykey.pem', a.keyPem, /private key/],
    ['text.txt', 'hello, not a certificate\n', /not a certificate/],
    ['random.bin', Buffer.from([0x30, 0x82, 0x01, 0x00, 1, 2, 3]), /not a certificate/],
    ['bundle.pem', a.certPem + b.certPem, /2 certificates/],
    ['dup.pem', b.certPem, /already trusted \(origin admin\)/],
    ['root.pem', MICROSOFT_CODE_SIGNING_ROOTS[0]!.pem, /already trusted \(origin microsoft\)/],
  ];
  for (const [name, body, why] of cases) {
    writeFileSync(join(tmp, name), body);
    const r = await runCli(['signing', 'trust', 'add', join(tmp, name), '--data', data]);
    assert.equal(r.status, 2, `${name}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, why, name);
    assert.doesNotMatch(r.stderr + r.stdout, /BEGIN PRIVATE KEY|MII/, 'no key material echoed');
  }
  assert.deepEqual(files(), before);
  assert.equal((await runCli(['signing', 'trust', 'add', join(tmp, 'missing.pem'), '--data', data])).status, 2);
  assert.equal((await runCli(['signing', 'trust', 'add', '--data', data])).status, 2);
  assert.equal((await runCli(['signing', 'trust', 'frobnicate', '--data', data])).status, 2);
});

test('remove: admin-added publishers only; unknown or malformed thumbprints are refused', async () => {
  const data = join(tmp, 'remove');
  const a = pair('Removable');
  writeFileSync(join(tmp, 'removable.pem'), a.certPem);
  assert.equal((await runCli(['signing', 'trust', 'add', join(tmp, 'removable.pem'), '--data', data])).status, 0);
  // Colons and lower case as certutil or a browser print them.
  const pretty = thumb(a.certPem).toLowerCase().match(/../g)!.join(':');
  const rm = await runCli(['signing', 'trust', 'remove', pretty, '--data', data]);
  assert.equal(rm.status, 0, rm.stderr);
  assert.match(rm.stdout, /no longer trusted: CN=Removable/);
  assert.deepEqual(readdirSync(trustedDir(data)), []);
  const again = await runCli(['signing', 'trust', 'remove', thumb(a.certPem), '--data', data]);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /no trusted certificate has thumbprint/);
  const root = await runCli(['signing', 'trust', 'remove', MICROSOFT_CODE_SIGNING_ROOTS[1]!.thumbprintSha1, '--data', data]);
  assert.equal(root.status, 2);
  assert.match(root.stderr, /bundled Microsoft root/);
  assert.equal((await runCli(['signing', 'trust', 'remove', 'xyz', '--data', data])).status, 2);
});

test('the anchor cache reloads when the trust store changes, and only then', () => {
  const data = join(tmp, 'cache');
  let loads = 0;
  const cache = createTrustAnchorCache(data, () => { loads++; });
  const first = cache.current();
  assert.equal(cache.current(), first);
  assert.equal(loads, 1);
  const p = pair('Cached');
  const own = createSelfSignedCertificate({ hosts: ['Cache Own'], days: 30, purpose: 'codeSigning' });
  savePublishingPair(data, validatePublishingPair(own.certPem, createPrivateKey(own.keyPem)));
  assert.ok(cache.current().sources.some((s) => s.origin === 'publishing'));
  assert.equal(loads, 2);
  writeFileSync(join(tmp, 'cached.pem'), p.certPem);
  // Through the library (the CLI does the same): the new file is seen on the next call.
  return runCli(['signing', 'trust', 'add', join(tmp, 'cached.pem'), '--data', data]).then((r) => {
    assert.equal(r.status, 0, r.stderr);
    assert.ok(cache.current().anchors.some((c) => c.fingerprint.replace(/:/g, '') === thumb(p.certPem)));
    assert.equal(loads, 3);
    // An unreadable file is left out and reported, never fatal.
    writeFileSync(join(trustedDir(data), 'broken.pem'), 'not a certificate');
    utimesSync(trustedDir(data), new Date(), new Date(Date.now() + 5000));
    const t = cache.current();
    assert.equal(t.problems.length, 1);
    assert.match(t.problems[0]!, /broken\.pem/);
    assert.deepEqual(loadTrustAnchors(data).sources.length, t.sources.length);
  });
});
