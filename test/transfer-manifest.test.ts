import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createSelfSignedCertificate } from '../src/cli/commands/cert.command.js';
import { DomainError } from '../src/core/errors.js';
import {
  ManifestError, compareMembers, manifestXml, memberRole, parseManifest, type TransferManifest,
} from '../src/core/transfer/transfer-manifest.js';
import { readXml } from '../src/protocol/xml/strict-xml-reader.js';
import { signManifest, signingIdentity, verifyManifest } from '../src/services/transfer/manifest-signature.js';
import { createTestPki } from './support/test-ca.js';

// The signed manifest: what is signed is what is read. Tampering, an untrusted or expired
// signer, algorithm downgrades and XML-DSig wrapping are all refused with a reason.

const now = new Date();
const signer = createSelfSignedCertificate({ hosts: ['hq signer'], days: 30, keyBits: 2048, purpose: 'signing' });
const id = signingIdentity(signer.certPem, signer.keyPem, now);
const trusted = [new X509Certificate(signer.certPem)];

const U1 = 'updates/3b5d2ab3-1c5e-4f0b-9a57-1c2d3e4f5a6b.200.xml';
const C1 = 'content/0123456789ABCDEF0123456789ABCDEF01234567';

function manifest(over: Partial<TransferManifest> = {}): TransferManifest {
  return {
    packageId: '11111111-2222-4333-8444-555555555555', kind: 'full', sourceServerId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    createdAt: '2026-05-01T10:00:00.000Z', anchor: 42, sinceAnchor: null, sinceDate: null, approvals: false, content: 'approved',
    counts: { updates: 1, groups: 0, approvals: 0, declined: 0, contentFiles: 1, contentBytes: 3 },
    members: [{ name: U1, size: 10, sha256: 'a'.repeat(64) }, { name: C1, size: 3, sha256: 'b'.repeat(64) }],
    ...over,
  };
}

const signed = signManifest(manifestXml(manifest()), id);
const refused = (xml: string, why: RegExp, certs = trusted, at = now) =>
  assert.throws(() => verifyManifest(xml, certs, at), (e: Error) => e instanceof DomainError && e.code === 'InvalidInput' && why.test(e.message) || assert.fail(e.message));

test('a signed manifest verifies and reads back exactly', () => {
  const v = verifyManifest(signed, trusted, now);
  assert.deepEqual(v.manifest, manifest());
  assert.equal(v.signer.trustedAs, 'pinned');
  assert.match(v.signer.subject, /CN=hq signer/);
  // the shape: enveloped, RSA-SHA256, exclusive c14n, the certificate in KeyInfo
  assert.match(signed, /<Reference URI="">/);
  assert.match(signed, /Algorithm="http:\/\/www\.w3\.org\/2001\/04\/xmldsig-more#rsa-sha256"/);
  assert.match(signed, /<KeyInfo><X509Data><X509Certificate>/);
  assert.match(signed, new RegExp(`<Members Count="2">\n${'a'.repeat(64)} 10 ${U1.replace(/\./g, '\\.')}\n`));
  assert.ok(signed.trimEnd().endsWith('</Signature></TransferPackage>'));
});

test('a certificate issued by a trusted CA is accepted; an unknown signer is refused', () => {
  const pki = createTestPki();
  const byCa = signManifest(manifestXml(manifest()), signingIdentity(pki.certPem, pki.keyPem, now));
  assert.equal(verifyManifest(byCa, [new X509Certificate(pki.caPem)], now).signer.trustedAs, 'issued');
  refused(byCa, /untrusted certificate/);
  const other = createSelfSignedCertificate({ hosts: ['someone else'], days: 30, keyBits: 2048, purpose: 'signing' });
  refused(signManifest(manifestXml(manifest()), signingIdentity(other.certPem, other.keyPem, now)), /untrusted certificate \(CN=someone else/);
  refused(signed, /trusts no signing certificate/, []);
  // a trusted certificate swapped into KeyInfo does not make another key's signature valid
  const swapped = signManifest(manifestXml(manifest()), signingIdentity(other.certPem, other.keyPem, now))
    .replace(/<X509Certificate>[^<]+<\/X509Certificate>/, `<X509Certificate>${trusted[0]!.raw.toString('base64')}</X509Certificate>`);
  refused(swapped, /does not verify/);
});

test('an expired signing certificate is refused', () => {
  const past = new Date(now.getTime() - 10 * 86_400_000);
  const old = createSelfSignedCertificate({ hosts: ['old signer'], days: 2, keyBits: 2048, purpose: 'signing', now: past });
  const xml = signManifest(manifestXml(manifest()), signingIdentity(old.certPem, old.keyPem, past));
  refused(xml, /not valid now/, [new X509Certificate(old.certPem)]);
  assert.throws(() => signingIdentity(old.certPem, old.keyPem, now), /expired/);
});

test('any change after signing is refused', () => {
  refused(signed.replace('Anchor="42"', 'Anchor="43"'), /does not verify/);
  refused(signed.replace('a'.repeat(64), 'c'.repeat(64)), /does not verify/);
  refused(signed.replace(/^[0-9a-f]{64} \d+ content\/.*\n/m, ''), /does not verify/);
  refused(signed.replace('</Members>', `${'d'.repeat(64)} 1 updates/3b5d2ab3-1c5e-4f0b-9a57-1c2d3e4f5a6c.1.xml\n</Members>`), /does not verify/);
  // A different first character, whatever the signature happens to start with.
  refused(signed.replace(/<SignatureValue>([A-Za-z0-9])/, (_, c: string) => `<SignatureValue>${c === 'A' ? 'B' : 'A'}`), /does not verify/);
  refused(manifestXml(manifest()), /exactly one signature/);
});

test('algorithm downgrades and other reference shapes are refused before any crypto', () => {
  refused(signed.replace('xmldsig-more#rsa-sha256', 'xmldsig#rsa-sha1').replace('2001/04/xmldsig-more#rsa-sha1', '2000/09/xmldsig#rsa-sha1'), /signature algorithm must be/);
  refused(signed.replace('xmlenc#sha256', 'xmldsig#sha1'), /digest algorithm must be/);
  refused(signed.replace('<Reference URI="">', '<Reference URI="#m">'), /whole manifest document/);
  refused(signed.replace('<Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>', ''), /transforms/);
});

test('XML-DSig wrapping: the signed content is the document read, nothing beside it', () => {
  const sig = /<Signature [\s\S]*<\/Signature>/.exec(signed)![0];
  const original = signed.slice(signed.indexOf('<TransferPackage'), signed.indexOf('<Signature '));
  const evil = manifestXml(manifest({ anchor: 999, members: [{ name: U1, size: 10, sha256: 'e'.repeat(64) }, { name: C1, size: 3, sha256: 'b'.repeat(64) }] }));
  // 1. the genuine signature appended to an attacker's manifest
  refused(evil.replace('</TransferPackage>', `${sig}</TransferPackage>`), /does not verify/);
  // 2. the genuine signed manifest hidden in the signature's Object, an evil one outside
  const wrapped = evil.replace('</TransferPackage>', sig.replace('</Signature>', `<Object>${original}</TransferPackage></Object></Signature>`) + '</TransferPackage>');
  assert.throws(() => verifyManifest(wrapped, trusted, now), DomainError);
  // 3. the genuine document with an extra element smuggled in before the signature
  refused(signed.replace('</Members>', '</Members><Members/>'), /does not verify/);
  // 4. two signatures
  refused(signed.replace('</TransferPackage>', `${sig}</TransferPackage>`), /exactly one signature/);
  // 5. comments, CDATA, DTDs and entities are never in our manifests
  refused(signed.replace('<Counts', '<!-- x --><Counts'), /comments, CDATA or a DTD/);
  refused(`<!DOCTYPE x [<!ENTITY e "x">]>${signed.replace(/^<\?xml[^>]*>\n/, '')}`, /comments, CDATA or a DTD/);
  // 6. the signature not where an enveloped one belongs
  refused(signed.replace(sig, '').replace('<Counts', `${sig}<Counts`), /last element/);
});

test('parseManifest checks every field; compareMembers finds missing, extra and resized members', () => {
  const root = (m: TransferManifest) => readXml(manifestXml(m), { maxDepth: 8, maxElements: 1000, maxAttributes: 16 });
  assert.throws(() => parseManifest(root(manifest({ counts: { ...manifest().counts, updates: 2 } }))), /Counts Updates/);
  assert.throws(() => parseManifest(root(manifest({ kind: 'delta' }))), /delta names what/);
  assert.throws(() => parseManifest(root(manifest({ approvals: true }))), /targeting\.json/);
  assert.throws(() => parseManifest(root(manifest({ members: [{ name: '../x', size: 1, sha256: 'a'.repeat(64) }] }))), ManifestError);
  assert.throws(() => parseManifest(root(manifest({ members: [{ name: 'other/file', size: 1, sha256: 'a'.repeat(64) }] }))), /not a member this package format holds/);
  const text = (edit: (x: string) => string) => readXml(edit(manifestXml(manifest())), { maxDepth: 8, maxElements: 1000, maxAttributes: 16 });
  assert.throws(() => parseManifest(text((x) => x.replace(' 10 ', '  10 '))), /not "<sha256> <size> <name>"/);
  assert.throws(() => parseManifest(text((x) => x.replace('Count="2"', 'Count="3"'))), /Count disagrees/);
  assert.throws(() => parseManifest(text((x) => x.replace('</Members>', '<Member/></Members>'))), /lines, not elements/);
  assert.throws(() => parseManifest(text((x) => x.replace(`${'a'.repeat(64)} 10 ${U1}`, `${'A'.repeat(64)} 10 ${U1}`))), /not "<sha256>/);
  assert.deepEqual(memberRole(C1), { role: 'content', sha1Hex: '0123456789ABCDEF0123456789ABCDEF01234567' });
  const m = manifest();
  assert.deepEqual(compareMembers(m, [{ name: 'manifest.xml', size: 1 }, { name: U1, size: 10 }, { name: C1, size: 3 }]), []);
  assert.deepEqual(compareMembers(m, [{ name: U1, size: 11 }, { name: 'content/FF', size: 1 }]), [
    `member ${U1} is 11 bytes, the manifest says 10`,
    `member ${C1} is listed in the manifest but missing from the package`,
    'member content/FF is in the package but not in the signed manifest',
  ]);
});
