import type { Db } from './database.js';
import { cellsFromBuffer, cellsToBuffer } from '../core/reporting/status-rules.js';
import { nextCounter, readCounter } from './server-identity.store.js';

// Per computer × update status (see migration "reporting"): one row per computer holding its
// applicable updates as packed cells, plus the failure details. Written by the report ingest in
// its own transactions; read whole by the in-memory status index, which reloads only rows whose
// seq moved and notices deletions through counters.status_deletes.

export interface StatusRow {
  clientId: string;
  /** ISO client time of the status list the cells come from; null: no status list yet */
  statusAt: string | null;
  cells: Uint32Array;
  seq: number;
}

export interface FailureRow {
  clientId: string;
  updatePk: number;
  hresult: number;
  failedAt: string;
}

interface RawRow { client_id: string; status_at: string | null; cells: Buffer; seq: number }
const toRow = (r: RawRow): StatusRow => ({ clientId: r.client_id, statusAt: r.status_at, cells: cellsFromBuffer(r.cells), seq: r.seq });

export function createUpdateStatusStore(db: Db) {
  const getQ = db.prepare<[string], RawRow>('SELECT client_id, status_at, cells, seq FROM computer_status WHERE client_id = ?');
  const upsertQ = db.prepare(
    `INSERT INTO computer_status (client_id, status_at, cells, seq, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (client_id) DO UPDATE SET status_at = excluded.status_at, cells = excluded.cells, seq = excluded.seq,
       updated_at = excluded.updated_at`,
  );
  const allQ = db.prepare<[], RawRow>('SELECT client_id, status_at, cells, seq FROM computer_status');
  const sinceQ = db.prepare<[number], RawRow>('SELECT client_id, status_at, cells, seq FROM computer_status WHERE seq > ?');
  const idsQ = db.prepare<[], { client_id: string }>('SELECT client_id FROM computer_status');
  const versionQ = db.prepare<[], { seq: number | null; n: number }>('SELECT max(seq) AS seq, count(*) AS n FROM computer_status');
  const failuresOfQ = db.prepare<[string], { update_pk: number; hresult: number; failed_at: string }>(
    'SELECT update_pk, hresult, failed_at FROM computer_update_failures WHERE client_id = ?',
  );
  const setFailureQ = db.prepare(
    `INSERT INTO computer_update_failures (client_id, update_pk, hresult, failed_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (client_id, update_pk) DO UPDATE SET hresult = excluded.hresult, failed_at = excluded.failed_at`,
  );
  const clearFailureQ = db.prepare('DELETE FROM computer_update_failures WHERE client_id = ? AND update_pk = ?');
  const failuresSinceQ = db.prepare<[string, number], { client_id: string; update_pk: number; hresult: number; failed_at: string }>(
    'SELECT client_id, update_pk, hresult, failed_at FROM computer_update_failures WHERE failed_at >= ? ORDER BY failed_at DESC LIMIT ?',
  );
  const failuresOfUpdateQ = db.prepare<[number], { client_id: string; hresult: number; failed_at: string }>(
    'SELECT client_id, hresult, failed_at FROM computer_update_failures WHERE update_pk = ? ORDER BY failed_at DESC',
  );

  return {
    get(clientId: string): StatusRow | undefined {
      const r = getQ.get(clientId);
      return r ? toRow(r) : undefined;
    },
    /** Call inside the writer's transaction; `seq` from nextSeq() of the same transaction. */
    put(clientId: string, statusAt: string | null, cells: Uint32Array, seq: number, now: string): void {
      upsertQ.run(clientId, statusAt, cellsToBuffer(cells), seq, now);
    },
    /** A new write sequence number (one per ingest transaction). */
    nextSeq(): number {
      return nextCounter(db, 'status_seq');
    },
    /** Changes when any row is written (seq), added or removed (count, deletes). */
    version(): { seq: number; count: number; deletes: number } {
      const v = versionQ.get()!;
      return { seq: v.seq ?? 0, count: v.n, deletes: readCounter(db, 'status_deletes') };
    },
    *all(): Generator<StatusRow> {
      for (const r of allQ.iterate()) yield toRow(r);
    },
    *changedSince(seq: number): Generator<StatusRow> {
      for (const r of sinceQ.iterate(seq)) yield toRow(r);
    },
    clientIds(): Set<string> {
      return new Set(idsQ.all().map((r) => r.client_id));
    },
    failuresOf(clientId: string): Map<number, { hresult: number; failedAt: string }> {
      return new Map(failuresOfQ.all(clientId).map((r) => [r.update_pk, { hresult: r.hresult, failedAt: r.failed_at }]));
    },
    setFailure(clientId: string, updatePk: number, hresult: number, failedAt: string): void {
      setFailureQ.run(clientId, updatePk, hresult, failedAt);
    },
    clearFailure(clientId: string, updatePk: number): void {
      clearFailureQ.run(clientId, updatePk);
    },
    /** Newest first. */
    failuresSince(iso: string, limit: number): FailureRow[] {
      return failuresSinceQ.all(iso, limit).map((r) => ({ clientId: r.client_id, updatePk: r.update_pk, hresult: r.hresult, failedAt: r.failed_at }));
    },
    failuresOfUpdate(updatePk: number): Array<{ clientId: string; hresult: number; failedAt: string }> {
      return failuresOfUpdateQ.all(updatePk).map((r) => ({ clientId: r.client_id, hresult: r.hresult, failedAt: r.failed_at }));
    },
  };
}

export type UpdateStatusStore = ReturnType<typeof createUpdateStatusStore>;
