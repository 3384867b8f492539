import { DomainError } from '../errors.js';

// Every refusal of publishing input (manifest, CLI flags, payload facts) is one of these, so the
// CLI maps it to exit 2 and the message can name the exact JSON path that is wrong and what is
// allowed there. `field` is that path, e.g. `applicability.installed.fileVersion.version`.
export class ManifestError extends DomainError {
  constructor(
    readonly field: string,
    /** what is wrong and what is allowed, without the path */
    readonly reason: string,
  ) {
    super('InvalidInput', field, field ? `manifest: ${field}: ${reason}` : `manifest: ${reason}`);
    this.name = 'ManifestError';
  }
}
