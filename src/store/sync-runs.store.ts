import type { Db } from './database.js';

// Sync history: one row per run with its phase, counts, duration and the exact error, so an
// admin can answer "why did last night's sync fail" without reading logs.

export type SyncRunState = 'running' | 'succeeded' | 'failed' | 'interrupted';

export interface SyncRunRow {
  id: number;
  trigger: string;
  upstream: string;
  startedAt: string;
  finishedAt: string | null;
  state: SyncRunState;
  phase: string | null;
  counts: Record<string, unknown>;
  error: string | null;
  pid: number | null;
  heartbeatAt: string | null;
}

interface Raw {
  id: number; trigger: string; upstream: string; started_at: string; finished_at: string | null; state: SyncRunState;
  phase: string | null; counts: string; error: string | null; pid: number | null; heartbeat_at: string | null;
}

const COLUMNS = 'id, trigger, upstream, started_at, finished_at, state, phase, counts, error, pid, heartbeat_at';

function toRow(r: Raw): SyncRunRow {
  return {
    id: r.id, trigger: r.trigger, upstream: r.upstream, startedAt: r.started_at, finishedAt: r.finished_at, state: r.state,
    phase: r.phase, counts: JSON.parse(r.counts) as Record<string, unknown>, error: r.error, pid: r.pid, heartbeatAt: r.heartbeat_at,
  };
}

export function createSyncRunsStore(db: Db) {
  const startQ = db.prepare(
    "INSERT INTO sync_runs (trigger, upstream, started_at, state, pid, heartbeat_at) VALUES (?, ?, ?, 'running', ?, ?)",
  );
  const progressQ = db.prepare("UPDATE sync_runs SET phase = ?, counts = ?, heartbeat_at = ? WHERE id = ? AND state = 'running'");
  const heartbeatQ = db.prepare("UPDATE sync_runs SET heartbeat_at = ? WHERE id = ? AND state = 'running'");
  const finishQ = db.prepare('UPDATE sync_runs SET state = ?, phase = ?, counts = ?, error = ?, finished_at = ?, heartbeat_at = ? WHERE id = ?');
  // Only called while holding the sync lock: any other 'running' row belongs to a dead process.
  const interruptQ = db.prepare(
    `UPDATE sync_runs SET state = 'interrupted', finished_at = @at,
       error = 'interrupted: the sync process (pid ' || coalesce(pid, '?') || ') stopped during phase ' || coalesce(phase, 'start')
               || ' (last heartbeat ' || coalesce(heartbeat_at, started_at) || ')'
     WHERE state = 'running' AND id != @keep`,
  );
  const historyQ = db.prepare<[number], Raw>(`SELECT ${COLUMNS} FROM sync_runs ORDER BY id DESC LIMIT ?`);
  const byIdQ = db.prepare<[number], Raw>(`SELECT ${COLUMNS} FROM sync_runs WHERE id = ?`);
  const lastInStateQ = db.prepare<[string], Raw>(`SELECT ${COLUMNS} FROM sync_runs WHERE state = ? ORDER BY id DESC LIMIT 1`);
  const lastFinishedQ = db.prepare<[], Raw>(`SELECT ${COLUMNS} FROM sync_runs WHERE state != 'running' ORDER BY id DESC LIMIT 1`);

  return {
    start(o: { trigger: string; upstream: string; at: Date; pid: number }): number {
      return Number(startQ.run(o.trigger, o.upstream, o.at.toISOString(), o.pid, o.at.toISOString()).lastInsertRowid);
    },
    progress(id: number, phase: string, counts: Record<string, unknown>, at: Date): void {
      progressQ.run(phase, JSON.stringify(counts), at.toISOString(), id);
    },
    heartbeat(id: number, at: Date): void {
      heartbeatQ.run(at.toISOString(), id);
    },
    finish(id: number, o: { state: SyncRunState; phase: string | null; counts: Record<string, unknown>; error: string | null; at: Date }): void {
      finishQ.run(o.state, o.phase, JSON.stringify(o.counts), o.error, o.at.toISOString(), o.at.toISOString(), id);
    },
    /** Marks runs of dead processes interrupted; returns how many. */
    interruptOthers(keepId: number, at: Date): number {
      return interruptQ.run({ at: at.toISOString(), keep: keepId }).changes;
    },
    history(limit: number): SyncRunRow[] {
      return historyQ.all(limit).map(toRow);
    },
    byId(id: number): SyncRunRow | undefined {
      const r = byIdQ.get(id);
      return r ? toRow(r) : undefined;
    },
    lastSucceeded(): SyncRunRow | undefined {
      const r = lastInStateQ.get('succeeded');
      return r ? toRow(r) : undefined;
    },
    lastFinished(): SyncRunRow | undefined {
      const r = lastFinishedQ.get();
      return r ? toRow(r) : undefined;
    },
  };
}

export type SyncRunsStore = ReturnType<typeof createSyncRunsStore>;
