import { checker, section } from './config-checks.js';

// The `contentSignatures` section: what the content store does with an Authenticode signature
// check, per way content arrives. `enforce` refuses (quarantines) a signable file (CAB, PE, MSI)
// whose signature does not verify against the trust store; `warn` stores it and says so (log,
// `wsus health`, `wsus content verify`); `off` does not check. Files of other kinds (EULA text,
// express .psf) are never refused for lacking a signature.

export type ContentSource = 'upstream' | 'import' | 'published';
export type SignatureMode = 'enforce' | 'warn' | 'off';
export type ContentSignaturesConfig = Readonly<Record<ContentSource, SignatureMode>>;

export const CONTENT_SOURCES: readonly ContentSource[] = ['upstream', 'import', 'published'];
const MODES: readonly SignatureMode[] = ['enforce', 'warn', 'off'];

/** Upstream and imported content may carry payloads this server cannot judge (third-party catalogs): warn.
 *  What this server publishes itself it signed itself: anything else is a mistake. */
export const DEFAULT_CONTENT_SIGNATURES: ContentSignaturesConfig = Object.freeze({ upstream: 'warn', import: 'warn', published: 'enforce' });

export function validateContentSignaturesConfig(raw: unknown, problems: string[]): ContentSignaturesConfig {
  const s = section(raw, 'contentSignatures', problems);
  const c = checker(s, 'contentSignatures', problems, CONTENT_SOURCES);
  return Object.freeze({
    upstream: c.oneOf('upstream', DEFAULT_CONTENT_SIGNATURES.upstream, MODES),
    import: c.oneOf('import', DEFAULT_CONTENT_SIGNATURES.import, MODES),
    published: c.oneOf('published', DEFAULT_CONTENT_SIGNATURES.published, MODES),
  });
}
