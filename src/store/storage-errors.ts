import { DomainError } from '../core/errors.js';
import type Database from 'better-sqlite3';

// Storage failures (disk full, read-only volume, I/O error, a writer holding the database too
// long) as one DomainError, so every adapter's one mapper answers them clearly: a SOAP
// ServerBusy fault (clients and downstream servers back off and retry; nothing they sent was
// half-stored), HTTP 503 on the admin API, exit code 1 with the message on the CLI. Raw
// SqliteErrors and errno errors would otherwise surface as an anonymous InternalServerError
// with a stack trace. Every connection is guarded here (guardConnection), and the content
// store converts its file system errors with storageErrorOf.

export type StorageFailure = 'disk-full' | 'read-only' | 'io-error' | 'busy' | 'cannot-open';

export class StorageError extends DomainError {
  constructor(
    readonly failure: StorageFailure,
    message: string,
    /** the SQLite or errno code it came from, e.g. SQLITE_FULL, ENOSPC */
    readonly sourceCode: string,
    override readonly cause?: unknown,
  ) {
    super('ServerBusy', 'storage', message);
    this.name = 'StorageError';
  }
}

const SQLITE: Array<[RegExp, StorageFailure]> = [
  [/^SQLITE_FULL$/, 'disk-full'],
  [/^SQLITE_READONLY/, 'read-only'],
  [/^SQLITE_IOERR/, 'io-error'],
  [/^SQLITE_(BUSY|LOCKED)/, 'busy'],
  [/^SQLITE_CANTOPEN/, 'cannot-open'],
];
const ERRNO: Record<string, StorageFailure> = { ENOSPC: 'disk-full', EDQUOT: 'disk-full', EROFS: 'read-only', EIO: 'io-error' };

export function storageFailureOf(code: string): StorageFailure | undefined {
  return ERRNO[code] ?? SQLITE.find(([re]) => re.test(code))?.[1];
}

function advice(failure: StorageFailure, where: string): string {
  switch (failure) {
    case 'disk-full': return `disk full: ${where} could not be written; free space on that volume (nothing of this change was stored)`;
    case 'read-only': return `storage is read-only: ${where} cannot be written; remount the volume read-write`;
    case 'io-error': return `storage I/O error on ${where}; check the disk and the system log`;
    case 'busy': return `database busy: another writer held ${where} longer than the busy timeout; try again`;
    case 'cannot-open': return `cannot open ${where}`;
  }
}

/**
 * The StorageError for a storage failure (SQLite or errno code), undefined for anything else.
 * `where` names what was being written, e.g. the database file or a content path.
 */
export function storageErrorOf(e: unknown, where: string): StorageError | undefined {
  if (e instanceof StorageError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  const failure = storageFailureOf(code);
  if (!failure) return undefined;
  return new StorageError(failure, `${advice(failure, where)} [${code}: ${(e as Error).message}]`, code, e);
}

/** Rethrows a storage failure as StorageError, anything else as it is. */
export function rethrowStorage(e: unknown, where: string): never {
  throw storageErrorOf(e, where) ?? e;
}

type Fn = (...args: never[]) => unknown;

function guarded<F extends Fn>(f: F, self: unknown, where: string): F {
  return function (this: unknown, ...args: Parameters<F>) {
    try {
      return Reflect.apply(f, self, args);
    } catch (e) {
      rethrowStorage(e, where);
    }
  } as F;
}

function guardStatement<S extends object>(stmt: S, where: string): S {
  const s = stmt as unknown as Record<string, Fn>;
  for (const name of ['run', 'get', 'all'] as const) s[name] = guarded(s[name]!, stmt, where);
  const iterate = s.iterate!;
  s.iterate = function (...args: never[]) {
    const it = guarded(iterate, stmt, where)(...args) as IterableIterator<unknown>;
    const next = guarded(it.next, it, where);
    return { next, return: it.return?.bind(it), [Symbol.iterator]() { return this; } };
  } as Fn;
  return stmt;
}

/**
 * Makes every statement, exec, pragma and transaction of `db` throw StorageError for storage
 * failures. One closure per prepared statement; statements are prepared once, so the hot path
 * pays one extra call.
 */
export function guardConnection(db: Database.Database): Database.Database {
  const where = `the database ${db.name}`;
  const d = db as unknown as Record<string, Fn>;
  const prepare = db.prepare.bind(db);
  d.prepare = ((sql: string) => guardStatement(rethrowing(() => prepare(sql), where), where)) as unknown as Fn;
  d.exec = guarded(db.exec, db, where);
  d.pragma = guarded(db.pragma, db, where);
  const transaction = db.transaction.bind(db);
  d.transaction = ((fn: Fn) => {
    const tx = transaction(fn as never) as unknown as Record<string, Fn> & Fn;
    const out = guarded(tx, undefined, where) as Record<string, Fn> & Fn;
    for (const k of ['deferred', 'immediate', 'exclusive'] as const) Object.defineProperty(out, k, { value: guarded(tx[k]!, undefined, where) });
    Object.defineProperty(out, 'default', { value: out });
    Object.defineProperty(out, 'database', { value: db });
    return out;
  }) as unknown as Fn;
  return db;
}

function rethrowing<T>(f: () => T, where: string): T {
  try {
    return f();
  } catch (e) {
    rethrowStorage(e, where);
  }
}
