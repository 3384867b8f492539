// The bundled Microsoft code-signing roots are the real certificates: each
// PEM's SHA-1 thumbprint and subject match the published values.

import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { MICROSOFT_CODE_SIGNING_ROOTS } from '../src/protocol/authenticode/microsoft-roots.js';

const EXPECTED = [
  { cn: 'Microsoft Root Certificate Authority 2010', sha1: '3B1EFD3A66EA28B16697394703A72CA340A05BD5' },
  {
    cn: 'Microsoft Root Certificate Authority 2011',
    sha1: '8F43288AD272F3103B6FB1428485EA3014C0BCFE',
    sha256: '847DF6A78497943F27FC72EB93F9A637320A02B561D0A91B09E87A7807ED7C61',
  },
  { cn: 'Microsoft Root Certificate Authority', sha1: 'CDD4EEAE6000AC7F40C3802C171E30148030C072' },
];

describe('bundled Microsoft code-signing roots', () => {
  it('holds exactly the three roots, each with its published thumbprint and subject', () => {
    assert.equal(MICROSOFT_CODE_SIGNING_ROOTS.length, EXPECTED.length);
    for (const expected of EXPECTED) {
      const root = MICROSOFT_CODE_SIGNING_ROOTS.find((r) => r.name === expected.cn);
      assert.ok(root, `${expected.cn} is bundled`);
      const cert = new X509Certificate(root.pem);
      const sha1 = createHash('sha1').update(cert.raw).digest('hex').toUpperCase();
      assert.equal(sha1, expected.sha1, `${expected.cn} thumbprint`);
      assert.equal(root.thumbprintSha1, expected.sha1);
      if (expected.sha256) assert.equal(createHash('sha256').update(cert.raw).digest('hex').toUpperCase(), expected.sha256);
      assert.ok(cert.subject.split('\n').includes(`CN=${expected.cn}`), cert.subject);
      assert.equal(cert.subject, cert.issuer, 'self-signed root');
      assert.ok(cert.ca, 'a CA certificate');
      assert.ok(cert.verify(cert.publicKey), 'the self-signature verifies');
    }
  });
});
