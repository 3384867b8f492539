import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import { DomainError } from '../../core/errors.js';
import { MANIFEST_NS, ManifestError, parseManifest, type TransferManifest } from '../../core/transfer/transfer-manifest.js';
import { readXml } from '../../protocol/xml/strict-xml-reader.js';
import { attr, child, children, type XmlElement } from '../../protocol/xml/xml-element.js';

// XML-DSig over the package manifest: an enveloped signature (RSA-SHA256, exclusive c14n) whose
// one Reference is the whole document (URI=""), with the signing certificate in
// KeyInfo/X509Data. Verification accepts exactly that shape, from a certificate the importing
// server trusts, and hands back the manifest read from the bytes the signature covers — never
// from the document as received — so a wrapped or appended element cannot be what we act on.

export const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
export const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
export const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
export const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
export const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

export interface SigningIdentity {
  certPem: string;
  key: KeyObject;
  cert: X509Certificate;
}

/** Loads and checks a signing pair: an RSA certificate and the private key that belongs to it. */
export function signingIdentity(certPem: string, keyPem: string, now: Date): SigningIdentity {
  let cert: X509Certificate;
  let key: KeyObject;
  try {
    cert = new X509Certificate(certPem);
    key = createPrivateKey(keyPem);
  } catch (e) {
    throw new DomainError('InvalidInput', 'transfer.signingCert', `the signing certificate or key cannot be read: ${(e as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'rsa') throw new DomainError('InvalidInput', 'transfer.signingKey', 'the signing key must be an RSA key');
  if (!cert.checkPrivateKey(key)) throw new DomainError('InvalidInput', 'transfer.signingKey', 'the signing key does not belong to the signing certificate');
  if (Date.parse(cert.validTo) < now.getTime()) throw new DomainError('InvalidInput', 'transfer.signingCert', `the signing certificate expired on ${new Date(cert.validTo).toISOString()}`);
  return { certPem: cert.toString(), key, cert };
}

/** Signs a manifest document (as produced by manifestXml): the signature becomes the root's last child. */
export function signManifest(xml: string, id: SigningIdentity): string {
  const sig = new SignedXml({
    privateKey: id.key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicCert: id.certPem,
    signatureAlgorithm: RSA_SHA256,
    canonicalizationAlgorithm: EXC_C14N,
  });
  sig.addReference({ xpath: '/*', transforms: [ENVELOPED, EXC_C14N], digestAlgorithm: SHA256, uri: '', isEmptyUri: true });
  sig.computeSignature(xml, { location: { reference: '/*', action: 'append' } });
  return sig.getSignedXml();
}

/** Every certificate in a PEM text (a bundle may hold several). */
export function certificatesFromPem(pem: string, source: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (!blocks.length) throw new DomainError('InvalidInput', source, `${source} holds no PEM certificate`);
  return blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw new DomainError('InvalidInput', source, `${source}: ${(e as Error).message}`);
    }
  });
}

export interface VerifiedManifest {
  manifest: TransferManifest;
  signer: { subject: string; fingerprint256: string; validTo: string; trustedAs: 'pinned' | 'issued' };
}

const refuse = (why: string): DomainError => new DomainError('InvalidInput', 'package', `package refused: ${why}`);

function only(el: XmlElement | undefined, local: string, what: string): XmlElement {
  if (!el) throw refuse(`the signature lacks ${what}`);
  const found = children(el, local).filter((c) => c.ns === DSIG_NS);
  if (found.length !== 1) throw refuse(`the signature must have exactly one ${what}`);
  return found[0]!;
}

function algorithm(el: XmlElement, local: string, expected: string, what: string): void {
  const a = attr(only(el, local, local), 'Algorithm');
  if (a !== expected) throw refuse(`${what} must be ${expected} (got ${a ?? 'none'})`);
}

function countByName(el: XmlElement, ns: string, local: string): number {
  let n = el.ns === ns && el.local === local ? 1 : 0;
  for (const c of el.children) n += countByName(c, ns, local);
  return n;
}

/** Where a certificate the package was signed with stands among the trusted ones. */
function trustOf(cert: X509Certificate, trusted: readonly X509Certificate[]): 'pinned' | 'issued' | null {
  if (trusted.some((t) => t.fingerprint256 === cert.fingerprint256)) return 'pinned';
  for (const t of trusted) {
    if (t.ca && cert.checkIssued(t) && cert.verify(t.publicKey)) return 'issued';
  }
  return null;
}

const READ_LIMITS = { maxDepth: 12, maxElements: 5_000_000, maxAttributes: 16 };

/**
 * Verifies a signed manifest against the trusted certificates and returns what it signs.
 * Throws DomainError('InvalidInput') naming the reason for anything else.
 */
export function verifyManifest(xml: string, trusted: readonly X509Certificate[], now: Date): VerifiedManifest {
  if (!trusted.length) throw refuse('this server trusts no signing certificate (set transfer.trustedCerts)');
  // Our writer never emits comments, CDATA or declarations: anything of the kind is not ours.
  if (/<!/.test(xml)) throw refuse('the manifest contains comments, CDATA or a DTD');
  let doc: XmlElement;
  try {
    doc = readXml(xml, READ_LIMITS);
  } catch (e) {
    throw refuse(`the manifest is not well-formed strict XML: ${(e as Error).message}`);
  }
  if (doc.local !== 'TransferPackage' || doc.ns !== MANIFEST_NS) throw refuse('the manifest root is not a TransferPackage');
  // Exactly one signature in the whole document, and it is the root's last child (enveloped).
  if (countByName(doc, DSIG_NS, 'Signature') !== 1) throw refuse('the manifest must carry exactly one signature');
  const sigEl = doc.children[doc.children.length - 1];
  if (!sigEl || sigEl.local !== 'Signature' || sigEl.ns !== DSIG_NS) throw refuse('the signature is not the last element of the manifest root (unsigned manifest?)');
  const signedInfo = only(sigEl, 'SignedInfo', 'SignedInfo');
  algorithm(signedInfo, 'CanonicalizationMethod', EXC_C14N, 'the canonicalization');
  algorithm(signedInfo, 'SignatureMethod', RSA_SHA256, 'the signature algorithm');
  const ref = only(signedInfo, 'Reference', 'Reference');
  if (attr(ref, 'URI') !== '') throw refuse('the signed reference must be the whole manifest document (URI="")');
  const transforms = children(only(ref, 'Transforms', 'Transforms'), 'Transform').map((t) => attr(t, 'Algorithm'));
  if (transforms.length !== 2 || transforms[0] !== ENVELOPED || transforms[1] !== EXC_C14N) {
    throw refuse('the reference transforms must be enveloped-signature then exclusive c14n');
  }
  algorithm(ref, 'DigestMethod', SHA256, 'the digest algorithm');
  const certs = children(only(only(sigEl, 'KeyInfo', 'KeyInfo'), 'X509Data', 'KeyInfo/X509Data'), 'X509Certificate');
  if (certs.length !== 1) throw refuse('KeyInfo/X509Data must hold exactly one X509Certificate');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(certs[0]!.text.replace(/\s+/g, ''), 'base64'));
  } catch (e) {
    throw refuse(`the signing certificate cannot be read: ${(e as Error).message}`);
  }
  const trustedAs = trustOf(cert, trusted);
  if (!trustedAs) throw refuse(`signed by an untrusted certificate (${cert.subject.replace(/\n/g, ', ')}, SHA-256 ${cert.fingerprint256})`);
  if (Date.parse(cert.validTo) < now.getTime() || Date.parse(cert.validFrom) > now.getTime()) {
    throw refuse(`the signing certificate is not valid now (valid ${cert.validFrom} to ${cert.validTo})`);
  }
  if (cert.publicKey.asymmetricKeyType !== 'rsa') throw refuse('the signing key is not RSA');

  // The Signature element's own text, handed to xml-crypto, which finds it again in the document.
  // Without comments or CDATA a '<' starts markup, so the start tag is found exactly once.
  const starts = [...xml.matchAll(new RegExp(`<${sigEl.name.replace(/[.]/g, '\\.')}[\\s/>]`, 'g'))];
  const endTag = `</${sigEl.name}>`;
  const end = xml.lastIndexOf(endTag);
  const start = starts.length === 1 ? starts[0]!.index! : -1;
  if (start < 0 || end < start) throw refuse('the signature element cannot be located');
  const sig = new SignedXml({ publicCert: cert.toString(), getCertFromKeyInfo: () => null });
  let ok: boolean;
  try {
    sig.loadSignature(xml.slice(start, end + endTag.length));
    ok = sig.checkSignature(xml);
  } catch (e) {
    throw refuse(`the signature does not verify: ${(e as Error).message}`);
  }
  if (!ok) throw refuse('the signature does not verify (the manifest was changed after signing)');
  const signed = sig.getSignedReferences();
  if (signed.length !== 1) throw refuse('the signature must cover exactly one reference');
  let manifest: TransferManifest;
  try {
    const signedRoot = readXml(signed[0]!, READ_LIMITS);
    if (child(signedRoot, 'Signature')) throw new ManifestError('the signed bytes still hold a signature');
    manifest = parseManifest(signedRoot);
  } catch (e) {
    throw refuse((e as Error).message);
  }
  return {
    manifest,
    signer: { subject: cert.subject.replace(/\n/g, ', '), fingerprint256: cert.fingerprint256, validTo: new Date(cert.validTo).toISOString(), trustedAs },
  };
}
