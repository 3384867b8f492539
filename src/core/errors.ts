// One error model for the whole server. Services throw DomainError with a stable code; each
// adapter owns exactly one mapper (SOAP fault, HTTP status, CLI exit code) from these codes.

export type ErrorCode =
  | 'InvalidCookie'
  | 'CookieExpired'
  | 'ConfigChanged'
  | 'ServerChanged'
  | 'RegistrationRequired'
  | 'RegistrationNotRequired'
  | 'InvalidParameters'
  | 'InvalidAuthorizationCookie'
  | 'InternalServerError'
  | 'ServerBusy'
  | 'FileLocationChanged'
  | 'IncompatibleProtocolVersion'
  | 'FileDigestsMissing'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'Conflict'
  | 'InvalidInput';

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    /** for InvalidParameters: the parameter path the real server names, e.g. `parameters.InstalledNonLeafUpdateIDs` */
    readonly detail: string = '',
    message?: string,
  ) {
    super(message ?? (detail ? `${code}: ${detail}` : code));
    this.name = 'DomainError';
  }
}

export function invalidParameters(path: string, why?: string): DomainError {
  return new DomainError('InvalidParameters', path, why ? `InvalidParameters: ${path}: ${why}` : undefined);
}

export function notFound(what: string): DomainError {
  return new DomainError('NotFound', what, `${what} not found`);
}
