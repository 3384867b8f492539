import type { Db } from './database.js';

// Maintenance history: one row per cleanup or rules run — when, what was asked, counts per
// step, dry run or not, the exact error — and the small key/value state maintenance keeps
// (the after-sync rules watermark).

export type MaintenanceJob = 'cleanup' | 'rules';
export type MaintenanceRunState = 'running' | 'succeeded' | 'failed' | 'interrupted';

export interface MaintenanceRunRow {
  id: number;
  job: MaintenanceJob;
  trigger: string;
  dryRun: boolean;
  steps: string[];
  startedAt: string;
  finishedAt: string | null;
  state: MaintenanceRunState;
  counts: Record<string, unknown>;
  error: string | null;
  actor: string | null;
  pid: number | null;
}

interface Raw {
  id: number; job: MaintenanceJob; trigger: string; dry_run: number; steps: string; started_at: string; finished_at: string | null;
  state: MaintenanceRunState; counts: string; error: string | null; actor: string | null; pid: number | null;
}

const COLUMNS = 'id, job, trigger, dry_run, steps, started_at, finished_at, state, counts, error, actor, pid';

function toRow(r: Raw): MaintenanceRunRow {
  return {
    id: r.id, job: r.job, trigger: r.trigger, dryRun: r.dry_run === 1, steps: JSON.parse(r.steps) as string[], startedAt: r.started_at,
    finishedAt: r.finished_at, state: r.state, counts: JSON.parse(r.counts) as Record<string, unknown>, error: r.error, actor: r.actor, pid: r.pid,
  };
}

export function createMaintenanceRunsStore(db: Db) {
  const startQ = db.prepare(
    "INSERT INTO maintenance_runs (job, trigger, dry_run, steps, started_at, state, actor, pid) VALUES (?, ?, ?, ?, ?, 'running', ?, ?)",
  );
  const progressQ = db.prepare("UPDATE maintenance_runs SET counts = ? WHERE id = ? AND state = 'running'");
  const finishQ = db.prepare('UPDATE maintenance_runs SET state = ?, counts = ?, error = ?, finished_at = ? WHERE id = ?');
  // Called while holding the job's lock: another 'running' row of the same job belongs to a dead process.
  const interruptQ = db.prepare(
    `UPDATE maintenance_runs SET state = 'interrupted', finished_at = @at,
       error = 'interrupted: the process (pid ' || coalesce(pid, '?') || ') stopped; the work done so far is kept, the next run continues'
     WHERE state = 'running' AND job = @job AND id != @keep`,
  );
  const historyQ = db.prepare<[string | null, string | null, number], Raw>(
    `SELECT ${COLUMNS} FROM maintenance_runs WHERE (? IS NULL OR job = ?) ORDER BY id DESC LIMIT ?`,
  );
  const lastQ = db.prepare<[MaintenanceJob], Raw>(`SELECT ${COLUMNS} FROM maintenance_runs WHERE job = ? AND state != 'running' ORDER BY id DESC LIMIT 1`);
  const pruneQ = db.prepare('DELETE FROM maintenance_runs WHERE id <= (SELECT max(id) FROM maintenance_runs) - ? AND state != \'running\'');
  const getStateQ = db.prepare<[string], { value: string }>('SELECT value FROM maintenance_state WHERE key = ?');
  const putStateQ = db.prepare('INSERT INTO maintenance_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');

  return {
    start(o: { job: MaintenanceJob; trigger: string; dryRun: boolean; steps: readonly string[]; at: Date; actor: string | null; pid: number }): number {
      const id = Number(startQ.run(o.job, o.trigger, o.dryRun ? 1 : 0, JSON.stringify(o.steps), o.at.toISOString(), o.actor, o.pid).lastInsertRowid);
      interruptQ.run({ at: o.at.toISOString(), job: o.job, keep: id });
      return id;
    },
    progress(id: number, counts: Record<string, unknown>): void {
      progressQ.run(JSON.stringify(counts), id);
    },
    finish(id: number, o: { state: Exclude<MaintenanceRunState, 'running'>; counts: Record<string, unknown>; error: string | null; at: Date }): void {
      finishQ.run(o.state, JSON.stringify(o.counts), o.error, o.at.toISOString(), id);
    },
    history(limit: number, job?: MaintenanceJob): MaintenanceRunRow[] {
      return historyQ.all(job ?? null, job ?? null, limit).map(toRow);
    },
    last(job: MaintenanceJob): MaintenanceRunRow | undefined {
      const r = lastQ.get(job);
      return r ? toRow(r) : undefined;
    },
    prune(keep: number): number {
      return pruneQ.run(keep).changes;
    },
    state(key: string): string | undefined {
      return getStateQ.get(key)?.value;
    },
    setState(key: string, value: string): void {
      putStateQ.run(key, value);
    },
  };
}

export type MaintenanceRunsStore = ReturnType<typeof createMaintenanceRunsStore>;
