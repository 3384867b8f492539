import { DomainError } from '../../core/errors.js';
import type { MismatchReason } from './content-digest.js';

// The typed failures of the content store. They stay DomainErrors so every adapter's one
// mapper handles them (CLI: exit code; HTTP: status) without knowing the content store.

/** Bytes that are not the file the metadata describes; they were moved to quarantine. */
export class ContentRejectedError extends DomainError {
  constructor(
    readonly sha1Hex: string,
    /** 'signature': the Authenticode check failed under policy enforce */
    readonly reason: MismatchReason | 'signature',
    readonly why: string,
    /** file name under contentDir/.quarantine/ */
    readonly quarantineFile: string | undefined,
  ) {
    super('InvalidInput', `content ${sha1Hex}`, `content ${sha1Hex} rejected: ${why}`);
    this.name = 'ContentRejectedError';
  }
}

/** The digest is referenced by no metadata, and the caller gave no size to check against. */
export class UnknownContentError extends DomainError {
  constructor(readonly sha1Hex: string) {
    super('NotFound', `content ${sha1Hex}`, `no update metadata references content ${sha1Hex}`);
    this.name = 'UnknownContentError';
  }
}

/** The upstream could not deliver (HTTP status, network, timeout); the partial file is kept for a resume. */
export class ContentDownloadError extends DomainError {
  constructor(
    readonly sha1Hex: string,
    why: string,
    /** worth another try (5xx, 408, 429); a 404 or a wrong length is not */
    readonly retryable = false,
    override readonly cause?: unknown,
    /** the upstream's HTTP status when it answered one (404: it does not have the file) */
    readonly httpStatus: number | null = null,
  ) {
    super('InternalServerError', `content ${sha1Hex}`, `download of ${sha1Hex} failed: ${why}`);
    this.name = 'ContentDownloadError';
  }
}
