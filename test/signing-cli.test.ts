import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { createSelfSignedCertificate, type SelfSignedOptions } from '../src/cli/commands/cert.command.js';
import { loadPublishingSigner } from '../src/services/signing/publishing-cert.js';
import { runCli } from './support/admin-cli.js';

// `wsus signing` as a process: create, show, export-cert, import (PEM and PFX), and every refusal
// with exit 2 and the stored pair untouched.

const tmp = mkdtempSync(join(tmpdir(), 'wsus-signing-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

function snapshot(data: string): string {
  return ['cert.pem', 'key.pem'].map((f) => {
    const p = join(data, 'signing', f);
    return existsSync(p) ? `${f}:${readFileSync(p, 'utf8')}:${statSync(p).mode.toString(8)}` : `${f}:absent`;
  }).join('|');
}

function codeSigning(over: Partial<SelfSignedOptions> = {}) {
  return createSelfSignedCertificate({ hosts: ['Test Publisher'], days: 30, purpose: 'codeSigning', ...over });
}

function pfx(pair: { certPem: string; keyPem: string }, password: string): Buffer {
  const rsa = createPrivateKey(pair.keyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
  const asn1 = forge.pkcs12.toPkcs12Asn1(
    forge.pki.privateKeyFromPem(rsa), [forge.pki.certificateFromPem(pair.certPem)], password, { algorithm: '3des' },
  );
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

test('create, show, export-cert', async () => {
  const data = join(tmp, 'a');
  const c = await runCli(['signing', 'create', '--data', data, '--subject', 'CN=Contoso Publisher, O=Contoso, C=US']);
  assert.equal(c.status, 0, c.stderr);
  assert.doesNotMatch(c.stdout, /PRIVATE KEY/);
  const keyFile = join(data, 'signing', 'key.pem');
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  const cert = new X509Certificate(readFileSync(join(data, 'signing', 'cert.pem')));
  assert.match(cert.subject, /CN=Contoso Publisher/);
  assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.3']);
  assert.equal(cert.ca, false);
  assert.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 3072);
  assert.ok(cert.checkPrivateKey(createPrivateKey(readFileSync(keyFile))));
  const fc = forge.pki.certificateFromPem(readFileSync(join(data, 'signing', 'cert.pem'), 'utf8'));
  assert.equal(fc.siginfo.algorithmOid, forge.pki.oids.sha256WithRSAEncryption);
  assert.equal((fc.getExtension('keyUsage') as { digitalSignature?: boolean }).digitalSignature, true);

  const thumb = cert.fingerprint.replace(/:/g, '');
  const s = await runCli(['signing', 'show', '--data', data]);
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stdout, new RegExp(`thumbprint:\\s+${thumb}`));
  assert.match(s.stdout, /RSA 3072 bits/);
  assert.match(s.stdout, /CN=Contoso Publisher, O=Contoso, C=US/);
  const j = await runCli(['signing', 'show', '--data', data, '--json']);
  const info = JSON.parse(j.stdout) as { thumbprint: string; keyBits: number; selfSigned: boolean; notAfter: string };
  assert.equal(info.thumbprint, thumb);
  assert.equal(info.keyBits, 3072);
  assert.equal(info.selfSigned, true);
  assert.equal(info.notAfter, new Date(cert.validTo).toISOString());

  const out = join(tmp, 'publisher.pem');
  const e = await runCli(['signing', 'export-cert', '--data', data, '--out', out]);
  assert.equal(e.status, 0, e.stderr);
  assert.equal(readFileSync(out, 'utf8'), cert.toString());
  assert.ok(readFileSync(join(tmp, 'publisher.cer')).equals(cert.raw));
  assert.doesNotMatch(e.stdout, /PRIVATE KEY/);
  for (const line of [
    'certutil -addstore TrustedPublisher publisher.cer',
    'certutil -addstore Root publisher.cer',
    'HKLM\\Software\\Policies\\Microsoft\\Windows\\WindowsUpdate',
    'AcceptTrustedPublisherCerts = 1 (REG_DWORD)',
    'reg add "HKLM\\Software\\Policies\\Microsoft\\Windows\\WindowsUpdate" /v AcceptTrustedPublisherCerts /t REG_DWORD /d 1 /f',
    'Trusted Publishers',
    'Trusted Root Certification Authorities',
  ]) assert.ok(e.stdout.includes(line), `missing: ${line}\n${e.stdout}`);

  // The stored pair is usable as an Authenticode signer.
  const signer = loadPublishingSigner(data);
  assert.equal(signer.certificate.subject.getField('CN').value, 'Contoso Publisher');
  assert.equal(signer.privateKey.n.bitLength(), 3072);

  // Replacing needs --force, and --force works.
  const before = snapshot(data);
  const again = await runCli(['signing', 'create', '--data', data]);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /already exists.*--force/);
  assert.equal(snapshot(data), before);
  const forced = await runCli(['signing', 'create', '--data', data, '--force', '--bits', '4096', '--days', '10']);
  assert.equal(forced.status, 0, forced.stderr);
  assert.match(forced.stdout, /RSA 4096 bits/);
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);

  const bad = await runCli(['signing', 'create', '--data', join(tmp, 'z'), '--bits', '2048']);
  assert.equal(bad.status, 2);
  assert.equal(existsSync(join(tmp, 'z', 'signing')), false);
  const noCert = await runCli(['signing', 'show', '--data', join(tmp, 'z')]);
  assert.equal(noCert.status, 3);
});

test('import PEM and PFX; refusals exit 2 and change nothing', async () => {
  const data = join(tmp, 'b');
  const good = codeSigning();
  const pemFile = join(tmp, 'good.pem');
  writeFileSync(pemFile, good.certPem + good.keyPem);
  const i = await runCli(['signing', 'import', pemFile, '--data', data]);
  assert.equal(i.status, 0, i.stderr);
  assert.equal(statSync(join(data, 'signing', 'key.pem')).mode & 0o777, 0o600);
  assert.equal(readFileSync(join(data, 'signing', 'cert.pem'), 'utf8'), good.certPem.replace(/\r\n/g, '\n'));
  const thumb = new X509Certificate(good.certPem).fingerprint.replace(/:/g, '');
  assert.match(i.stdout, new RegExp(thumb));

  // PFX: wrong and missing password refused, right one (flag or environment) accepted with --force.
  const other = codeSigning({ hosts: ['PFX Publisher'] });
  const pfxFile = join(tmp, 'pub.pfx');
  writeFileSync(pfxFile, pfx(other, 's3cret!'));
  const before = snapshot(data);
  const wrong = await runCli(['signing', 'import', pfxFile, '--data', data, '--force', '--password', 'nope']);
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /wrong PFX password/);
  assert.doesNotMatch(wrong.stderr + wrong.stdout, /nope/);
  assert.equal(snapshot(data), before);
  const exists = await runCli(['signing', 'import', pfxFile, '--data', data, '--password', 's3cret!']);
  assert.equal(exists.status, 2);
  assert.match(exists.stderr, /already exists/);
  assert.equal(snapshot(data), before);
  const ok = await runCli(['signing', 'import', pfxFile, '--data', data, '--force'], { WSUS_SIGNING_PASSWORD: 's3cret!' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.doesNotMatch(ok.stdout + ok.stderr, /s3cret/);
  assert.match(ok.stdout, /CN=PFX Publisher/);
  assert.equal(statSync(join(data, 'signing', 'key.pem')).mode & 0o777, 0o600);
  assert.ok(new X509Certificate(readFileSync(join(data, 'signing', 'cert.pem'))).checkPrivateKey(
    createPrivateKey(readFileSync(join(data, 'signing', 'key.pem'))),
  ));

  const past = new Date(Date.now() - 40 * 86_400_000);
  const future = new Date(Date.now() + 2 * 86_400_000);
  const mismatched = { certPem: good.certPem, keyPem: other.keyPem };
  const cases: [string, { certPem: string; keyPem: string }, RegExp][] = [
    ['small key', codeSigning({ keyBits: 2048 }), /2048 bits; at least 3072/],
    ['no code signing EKU', createSelfSignedCertificate({ hosts: ['x'], days: 30, purpose: 'signing' }), /code signing extended key usage/],
    ['TLS certificate', createSelfSignedCertificate({ hosts: ['localhost'], days: 30 }), /code signing extended key usage/],
    ['expired', codeSigning({ now: past }), /expired/],
    ['not yet valid', codeSigning({ now: future }), /not valid yet/],
    ['mismatched key', mismatched, /does not match/],
  ];
  const state = snapshot(data);
  for (const [name, pair, why] of cases) {
    const pem = join(tmp, `bad-${name.replace(/\W+/g, '-')}.pem`);
    writeFileSync(pem, pair.certPem + pair.keyPem);
    const r = await runCli(['signing', 'import', pem, '--data', data, '--force']);
    assert.equal(r.status, 2, `${name}: ${r.stderr}`);
    assert.match(r.stderr, why, name);
    assert.doesNotMatch(r.stderr, /PRIVATE KEY/);
    assert.equal(snapshot(data), state, name);
    const p = join(tmp, `bad-${name.replace(/\W+/g, '-')}.pfx`);
    writeFileSync(p, pfx(pair, 'pw'));
    const rp = await runCli(['signing', 'import', p, '--data', data, '--force', '--password', 'pw']);
    assert.equal(rp.status, 2, `${name} (pfx): ${rp.stderr}`);
    assert.match(rp.stderr, why, `${name} (pfx)`);
    assert.equal(snapshot(data), state, `${name} (pfx)`);
  }
  // Nothing at all written into a fresh data directory by a refusal.
  const fresh = join(tmp, 'c');
  const r = await runCli(['signing', 'import', join(tmp, 'bad-expired.pem'), '--data', fresh]);
  assert.equal(r.status, 2);
  assert.equal(existsSync(join(fresh, 'signing')), false);
  const noKey = join(tmp, 'cert-only.pem');
  writeFileSync(noKey, good.certPem);
  const nk = await runCli(['signing', 'import', noKey, '--data', fresh]);
  assert.equal(nk.status, 2);
  assert.match(nk.stderr, /no private key/);
});
