import type { X509Certificate } from 'node:crypto';
import type { ContentSignaturesConfig, ContentSource, SignatureMode } from '../../config/content-signatures-config.js';
import type { Logger } from '../../logger.js';
import { verifyFileSignature, type FileSignatureCheck, type SignatureFailure } from '../../protocol/authenticode/verify-file.js';
import { createTrustAnchorCache, type TrustAnchorCache } from './trust-store.js';

// The content store's signature gate: which check a file gets (by the policy for the way it
// arrived), what the outcome is worth (pass, warn, reject), and the record kept per file.

export type { ContentSource, SignatureMode };

/**
 * Per stored file: `ok` (verified against the trust store), a failure reason, `not-signable`
 * (not a CAB, PE or MSI: nothing to check), `unchecked` (policy off, or stored before checks existed).
 */
export type SignatureStatus = 'ok' | SignatureFailure | 'not-signable' | 'unchecked';

export const SIGNATURE_FAILURES: readonly SignatureFailure[] = [
  'unsigned', 'malformed', 'digest-mismatch', 'bad-signature', 'untrusted', 'expired', 'not-code-signing',
];

export function isSignatureFailure(status: string | null | undefined): status is SignatureFailure {
  return (SIGNATURE_FAILURES as readonly string[]).includes(status ?? '');
}

export interface SignatureRecord {
  status: SignatureStatus;
  /** the signer's subject and SHA-1 thumbprint when the signature verified */
  signer: string | null;
  thumbprint: string | null;
  /** why it failed */
  detail: string | null;
  /** null when nothing was checked */
  checkedAt: string | null;
  /** the way the file arrived; decides which policy applies when it is checked again */
  source: ContentSource;
}

export type SignatureVerdict = 'pass' | 'warn' | 'reject';

export interface SignatureOutcome {
  record: SignatureRecord;
  verdict: SignatureVerdict;
  mode: SignatureMode;
}

export type FileSignatureVerifier = (path: string, trust: readonly X509Certificate[], at: Date) => Promise<FileSignatureCheck | null>;

export interface SignatureGate {
  readonly policy: ContentSignaturesConfig;
  /** Checks the file at `path` as content from `source`; never throws for bad file content. */
  check(path: string, source: ContentSource, at: Date, opts?: { force?: boolean }): Promise<SignatureOutcome>;
}

export interface SignatureGateOptions {
  policy: ContentSignaturesConfig;
  /** DATA: the trust store lives under DATA/signing */
  dataDir: string;
  log: Logger;
  /** tests inject one; the default reads PE, CAB and MSI signatures (src/protocol/authenticode/verify-file.ts) */
  verify?: FileSignatureVerifier;
  trust?: TrustAnchorCache;
}

/** A failure's quarantine reason: `signature untrusted: <detail>`. */
export function signatureReason(record: Pick<SignatureRecord, 'status' | 'detail'>): string {
  return `signature ${record.status}: ${record.detail ?? ''}`.trimEnd();
}

export function unchecked(source: ContentSource): SignatureRecord {
  return { status: 'unchecked', signer: null, thumbprint: null, detail: null, checkedAt: null, source };
}

export function createSignatureGate(o: SignatureGateOptions): SignatureGate {
  const verify = o.verify ?? verifyFileSignature;
  const trust = o.trust ?? createTrustAnchorCache(o.dataDir, (t) => {
    for (const p of t.problems) o.log.warn('trust store: certificate file left out', { problem: p });
  });
  return {
    policy: o.policy,
    async check(path, source, at, opts) {
      const mode = o.policy[source];
      if (mode === 'off' && !opts?.force) return { record: unchecked(source), verdict: 'pass', mode };
      const checkedAt = at.toISOString();
      const result = await verify(path, trust.current().anchors, at);
      if (result === null) {
        return { record: { status: 'not-signable', signer: null, thumbprint: null, detail: null, checkedAt, source }, verdict: 'pass', mode };
      }
      if (result.ok) {
        return {
          record: { status: 'ok', signer: result.signer.subject, thumbprint: result.signer.thumbprintSha1, detail: null, checkedAt, source },
          verdict: 'pass', mode,
        };
      }
      const record: SignatureRecord = { status: result.reason, signer: null, thumbprint: null, detail: result.detail, checkedAt, source };
      return { record, verdict: mode === 'enforce' ? 'reject' : mode === 'warn' ? 'warn' : 'pass', mode };
    },
  };
}
