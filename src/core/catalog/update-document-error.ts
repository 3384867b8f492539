import { DomainError } from '../errors.js';

// Ingest rejects a bad upstream document as a whole: a partially understood revision must never
// reach clients, so every problem surfaces as this one type, naming the offending field when
// there is one so that sync logs say what the upstream sent.
export class UpdateDocumentError extends DomainError {
  constructor(
    message: string,
    /** the document field at fault, e.g. `UpdateIdentity/@UpdateID`; empty for structural problems */
    readonly field: string = '',
  ) {
    super('InvalidInput', field, `update document: ${message}`);
    this.name = 'UpdateDocumentError';
  }
}
