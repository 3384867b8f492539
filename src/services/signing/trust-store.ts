import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DomainError } from '../../core/errors.js';
import { MICROSOFT_CODE_SIGNING_ROOTS } from '../../protocol/authenticode/microsoft-roots.js';
import { signingPaths } from './publishing-cert.js';

// The certificates content signatures must chain to: Microsoft's code-signing roots (bundled),
// this server's own publishing certificate (DATA/signing/cert.pem), and publishers an admin
// added with `wsus signing trust add` (DATA/signing/trusted/<THUMBPRINT>.pem, one certificate
// each). Nothing here holds a private key; a file that carries one is refused.

export type TrustOrigin = 'microsoft' | 'publishing' | 'admin';

export interface TrustSource {
  /** the certificate's subject (Microsoft roots: their well-known name) */
  name: string;
  /** upper-case hex SHA-1 of the DER certificate, as Windows shows it */
  thumbprintSha1: string;
  origin: TrustOrigin;
  notAfter: string;
  expired: boolean;
  /** where it is kept; null for the bundled Microsoft roots */
  file: string | null;
}

export interface TrustAnchors {
  anchors: X509Certificate[];
  sources: TrustSource[];
  /** files under DATA/signing that could not be read as certificates (left out, never fatal) */
  problems: string[];
}

export function trustedDir(dataDir: string): string {
  return join(signingPaths(dataDir).dir, 'trusted');
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

function pemBlocks(text: string): { label: string; pem: string }[] {
  return [...text.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1]!, pem: `${m[0].replace(/\r\n/g, '\n')}\n` }));
}

export function thumbprintOf(cert: X509Certificate): string {
  return cert.fingerprint.replace(/:/g, '').toUpperCase();
}

/** "CN=x\nO=y" → "CN=x, O=y" */
export function subjectLine(cert: X509Certificate): string {
  return cert.subject.split('\n').filter(Boolean).join(', ');
}

function describe(cert: X509Certificate, origin: TrustOrigin, file: string | null, now: Date, name?: string): TrustSource {
  const notAfter = new Date(cert.validTo);
  return {
    name: name ?? subjectLine(cert), thumbprintSha1: thumbprintOf(cert), origin,
    notAfter: notAfter.toISOString(), expired: now.getTime() > notAfter.getTime(), file,
  };
}

/** The first certificate of a PEM file; throws when there is none. */
function firstCertificate(file: string): X509Certificate {
  const block = pemBlocks(readFileSync(file, 'utf8')).find((b) => /CERTIFICATE$/.test(b.label));
  if (!block) throw new Error('no certificate in the file');
  return new X509Certificate(block.pem);
}

export function loadTrustAnchors(dataDir: string, now = new Date()): TrustAnchors {
  const anchors: X509Certificate[] = [];
  const sources: TrustSource[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  const add = (cert: X509Certificate, origin: TrustOrigin, file: string | null, name?: string): void => {
    const t = thumbprintOf(cert);
    if (seen.has(t)) return;
    seen.add(t);
    anchors.push(cert);
    sources.push(describe(cert, origin, file, now, name));
  };
  for (const root of MICROSOFT_CODE_SIGNING_ROOTS) add(new X509Certificate(root.pem), 'microsoft', null, root.name);
  // Only the leaf of the publishing certificate: it signs what this server publishes, and is
  // trusted directly (it is usually self-signed).
  const { certFile } = signingPaths(dataDir);
  if (existsSync(certFile)) {
    try {
      add(firstCertificate(certFile), 'publishing', certFile);
    } catch (e) {
      problems.push(`${certFile}: ${(e as Error).message}`);
    }
  }
  const dir = trustedDir(dataDir);
  for (const name of existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.pem')).sort() : []) {
    const file = join(dir, name);
    try {
      add(firstCertificate(file), 'admin', file);
    } catch (e) {
      problems.push(`${file}: ${(e as Error).message}`);
    }
  }
  return { anchors, sources, problems };
}

/**
 * What `loadTrustAnchors` would read changed? Directory and file change times plus the names
 * in the trusted directory: cheap enough to ask before every ingest (never on the serving path).
 */
export function trustStamp(dataDir: string): string {
  const { dir, certFile } = signingPaths(dataDir);
  const t = trustedDir(dataDir);
  const m = (p: string): string => {
    const st = statSync(p, { bigint: true, throwIfNoEntry: false });
    return st ? `${st.mtimeNs}/${st.ctimeNs}/${st.ino}` : '-';
  };
  let names = '';
  try {
    names = readdirSync(t).sort().join(',');
  } catch {
    names = '';
  }
  return [m(dir), m(certFile), m(t), names].join('|');
}

/** Anchors loaded once, reloaded when `wsus signing trust` (or `wsus signing create|import`) changed them. */
export function createTrustAnchorCache(dataDir: string, onReload?: (t: TrustAnchors) => void) {
  let stamp = '';
  let current: TrustAnchors | null = null;
  return {
    current(): TrustAnchors {
      const now = trustStamp(dataDir);
      if (!current || now !== stamp) {
        stamp = now;
        current = loadTrustAnchors(dataDir);
        onReload?.(current);
      }
      return current;
    },
  };
}

export type TrustAnchorCache = ReturnType<typeof createTrustAnchorCache>;

function invalid(message: string): DomainError {
  return new DomainError('InvalidInput', '', message);
}

/** A certificate file an admin offers (PEM or DER); refuses keys, non-certificates and bundles. */
export function parseOfferedCertificate(bytes: Buffer): X509Certificate {
  const text = bytes.subarray(0, 1 << 20).toString('latin1');
  if (text.includes('-----BEGIN ')) {
    const blocks = pemBlocks(bytes.toString('utf8'));
    if (blocks.some((b) => /PRIVATE KEY$/.test(b.label))) {
      throw invalid('the file holds a private key: give only the publisher\'s certificate (the key never leaves the publisher)');
    }
    const certs = blocks.filter((b) => /^(X509 |TRUSTED )?CERTIFICATE$/.test(b.label));
    if (!certs.length) throw invalid(`the file holds no certificate (found: ${blocks.map((b) => b.label).join(', ') || 'no PEM block'})`);
    if (certs.length > 1) throw invalid(`the file holds ${certs.length} certificates: add them one at a time`);
    try {
      return new X509Certificate(certs[0]!.pem);
    } catch {
      throw invalid('the certificate cannot be parsed');
    }
  }
  try {
    return new X509Certificate(bytes);
  } catch {
    throw invalid('the file is not a certificate (PEM or DER X.509 expected)');
  }
}

/** Adds a publisher certificate to DATA/signing/trusted; refuses one that is already trusted. */
export function addTrustedPublisher(dataDir: string, bytes: Buffer, now = new Date()): TrustSource {
  const cert = parseOfferedCertificate(bytes);
  const thumb = thumbprintOf(cert);
  const already = loadTrustAnchors(dataDir, now).sources.find((s) => s.thumbprintSha1 === thumb);
  if (already) throw invalid(`${thumb} (${already.name}) is already trusted (origin ${already.origin})`);
  const dir = trustedDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const file = join(dir, `${thumb}.pem`);
  const tmp = `${file}.${process.pid}.tmp`;
  if (existsSync(tmp)) unlinkSync(tmp);
  writeFileSync(tmp, cert.toString(), { mode: 0o644, flag: 'wx' });
  chmodSync(tmp, 0o644);
  renameSync(tmp, file);
  return describe(cert, 'admin', file, now);
}

/** "AB:CD ..." or "abcd..." → "ABCD..."; InvalidInput for anything that is not a SHA-1 thumbprint. */
export function normalizeThumbprint(raw: string): string {
  const t = raw.replace(/[\s:]/g, '').toUpperCase();
  if (!/^[0-9A-F]{40}$/.test(t)) throw invalid(`not a SHA-1 thumbprint (40 hex digits): ${JSON.stringify(raw.slice(0, 80))}`);
  return t;
}

/** Removes an admin-added publisher; the bundled roots and the publishing certificate are not removable here. */
export function removeTrustedPublisher(dataDir: string, thumbprint: string, now = new Date()): TrustSource {
  const thumb = normalizeThumbprint(thumbprint);
  const found = loadTrustAnchors(dataDir, now).sources.find((s) => s.thumbprintSha1 === thumb);
  if (!found) throw invalid(`no trusted certificate has thumbprint ${thumb} (see wsus signing trust list)`);
  if (found.origin === 'microsoft') throw invalid(`${thumb} is a bundled Microsoft root; it cannot be removed`);
  if (found.origin === 'publishing') {
    throw invalid(`${thumb} is this server's publishing certificate; it is trusted as long as it is the publishing certificate (wsus signing create|import replaces it)`);
  }
  // Any other file in trusted/ holding the same certificate goes too (a hand-copied duplicate).
  const dir = trustedDir(dataDir);
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.pem'))) {
    try {
      if (thumbprintOf(firstCertificate(join(dir, name))) === thumb) unlinkSync(join(dir, name));
    } catch {
      // unreadable files are not ours to judge here
    }
  }
  return found;
}
