import { DomainError, type ErrorCode } from '../core/errors.js';
import { ConfigError } from '../config/config.js';
import { HttpError } from '../http/read-body.js';

// The admin API's one error mapper: DomainError code → HTTP status and `{ error, code }`.
// Anything else is a 500 with a generic message; the details go to the log only.

const STATUS: Partial<Record<ErrorCode, number>> = {
  NotFound: 404,
  Conflict: 409,
  InvalidInput: 400,
  InvalidParameters: 400,
  Unauthorized: 401,
  Forbidden: 403,
  ServerBusy: 503,
};

export interface MappedError {
  status: number;
  body: { error: string; code: string };
  /** true when the details must be logged (unexpected failures) */
  unexpected: boolean;
}

export function mapAdminError(e: unknown): MappedError {
  if (e instanceof DomainError) {
    const status = STATUS[e.code];
    if (status !== undefined) return { status, body: { error: e.message, code: e.code }, unexpected: false };
    return { status: 500, body: { error: e.message, code: e.code }, unexpected: true };
  }
  if (e instanceof ConfigError) return { status: 400, body: { error: e.message, code: 'InvalidInput' }, unexpected: false };
  if (e instanceof HttpError) {
    return { status: e.status, body: { error: e.message, code: e.status === 413 || e.status === 400 ? 'InvalidInput' : 'InternalServerError' }, unexpected: e.status >= 500 };
  }
  return { status: 500, body: { error: 'internal error (see the server log)', code: 'InternalServerError' }, unexpected: true };
}
