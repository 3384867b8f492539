import Database from 'better-sqlite3';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrations } from './migrations.js';
import { StorageError, guardConnection, storageErrorOf, storageFailureOf } from './storage-errors.js';

export type Db = Database.Database;

/**
 * Opens (creating and migrating when needed) the metadata database. WAL lets the CLI write
 * while the server reads; busy_timeout makes a concurrent CLI wait instead of failing. Storage
 * failures (disk full, read-only volume, I/O errors) come out of every statement of the
 * connection as StorageError (storage-errors.ts); a database that cannot be opened at all
 * names the reason, so `wsus serve` on a read-only volume refuses to start with a clear message.
 */
export function openDatabase(file: string): Db {
  let db: Db | undefined;
  try {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 10000');
    migrate(db);
  } catch (e) {
    try {
      db?.close();
    } catch {
      // the reason below matters, not this
    }
    throw openFailure(e, file);
  }
  return guardConnection(db);
}

/** Why a database could not be opened, in words an admin can act on. */
function openFailure(e: unknown, file: string): unknown {
  const code = String((e as { code?: unknown }).code ?? '');
  if (!storageFailureOf(code)) return e;
  const dir = dirname(file);
  let dirProblem: string | undefined;
  try {
    accessSync(dir, constants.W_OK);
  } catch (d) {
    dirProblem = String((d as { code?: unknown }).code ?? '');
  }
  const cause = `[${code}: ${(e as Error).message}]`;
  if (dirProblem === 'EROFS' || code === 'EROFS' || code.startsWith('SQLITE_READONLY')) {
    return new StorageError('read-only', `cannot open the database ${file}: the data directory ${dir} is on a read-only file system. `
      + `The server writes its database, content and reports there: remount it read-write (or point --data at a writable directory) ${cause}`, code, e);
  }
  if (dirProblem === 'EACCES' || dirProblem === 'EPERM') {
    return new StorageError('cannot-open', `cannot open the database ${file}: no permission to write in ${dir}; run as the owner of the data directory ${cause}`, code, e);
  }
  return storageErrorOf(e, `the database ${file}`)!;
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) {
    throw new Error(`database schema version ${current} is newer than this server (${migrations.length}); upgrade the server`);
  }
  for (let v = current; v < migrations.length; v++) {
    const apply = db.transaction(() => {
      db.exec(migrations[v]!);
      db.pragma(`user_version = ${v + 1}`);
    });
    // IMMEDIATE so two processes starting at once do not both migrate.
    apply.immediate();
  }
}
