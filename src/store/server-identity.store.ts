import { randomBytes, randomUUID } from 'node:crypto';
import type { Db } from './database.js';

export interface ServerIdentity {
  /** a fresh GUID per database: a rebuilt database is a different server to clients */
  serverId: string;
  cookieKey: Buffer;
  /** ISO time the client-visible configuration last changed (GetConfig LastChange) */
  configLastChange: string;
}

/** Reads the identity, creating it on first start. The key never leaves the database. */
export function loadServerIdentity(db: Db, now: Date): ServerIdentity {
  const get = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
  const put = db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)');
  db.transaction(() => {
    put.run('server_id', randomUUID());
    put.run('cookie_key', randomBytes(32).toString('base64'));
    put.run('config_last_change', now.toISOString());
  }).immediate();
  return {
    serverId: get.get('server_id')!.value,
    cookieKey: Buffer.from(get.get('cookie_key')!.value, 'base64'),
    configLastChange: get.get('config_last_change')!.value,
  };
}

/** Makes every client re-handshake (GetConfig → ConfigChanged path). */
export function bumpConfigLastChange(db: Db, now: Date): void {
  db.prepare("UPDATE meta SET value = ? WHERE key = 'config_last_change'").run(now.toISOString());
}

export function readCounter(db: Db, name: string): number {
  const row = db.prepare<[string], { value: number }>('SELECT value FROM counters WHERE name = ?').get(name);
  return row?.value ?? 0;
}

/** Increments and returns a counter; call inside the caller's transaction. */
export function nextCounter(db: Db, name: string): number {
  const row = db
    .prepare<[string], { value: number }>('UPDATE counters SET value = value + 1 WHERE name = ? RETURNING value')
    .get(name);
  if (!row) throw new Error(`unknown counter ${name}`);
  return row.value;
}
