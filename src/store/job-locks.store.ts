import type { Db } from './database.js';

// One instance of a job at a time across processes (server, CLI): a row per running job with
// its owner, pid and heartbeat. Whether a holder is dead is the caller's judgement (passed in);
// the check and the takeover happen in one IMMEDIATE transaction so two processes cannot both win.

export interface JobLockRow {
  name: string;
  owner: string;
  pid: number;
  acquiredAt: string;
  heartbeatAt: string;
}

export type AcquireOutcome =
  | { acquired: true; tookOverFrom: JobLockRow | null }
  | { acquired: false; holder: JobLockRow };

interface Raw { name: string; owner: string; pid: number; acquired_at: string; heartbeat_at: string }

const toRow = (r: Raw): JobLockRow => ({ name: r.name, owner: r.owner, pid: r.pid, acquiredAt: r.acquired_at, heartbeatAt: r.heartbeat_at });

export function createJobLocksStore(db: Db) {
  const getQ = db.prepare<[string], Raw>('SELECT name, owner, pid, acquired_at, heartbeat_at FROM job_locks WHERE name = ?');
  const putQ = db.prepare(
    `INSERT INTO job_locks (name, owner, pid, acquired_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, pid = excluded.pid, acquired_at = excluded.acquired_at,
       heartbeat_at = excluded.heartbeat_at`,
  );
  const beatQ = db.prepare('UPDATE job_locks SET heartbeat_at = ? WHERE name = ? AND owner = ?');
  const releaseQ = db.prepare('DELETE FROM job_locks WHERE name = ? AND owner = ?');

  return {
    acquire(name: string, owner: string, pid: number, now: Date, isAbandoned: (holder: JobLockRow) => boolean): AcquireOutcome {
      return db.transaction((): AcquireOutcome => {
        const raw = getQ.get(name);
        const holder = raw ? toRow(raw) : null;
        if (holder && !isAbandoned(holder)) return { acquired: false, holder };
        putQ.run(name, owner, pid, now.toISOString(), now.toISOString());
        return { acquired: true, tookOverFrom: holder };
      }).immediate();
    },
    /** false: the lock is no longer ours (taken over after we stalled). */
    heartbeat(name: string, owner: string, now: Date): boolean {
      return beatQ.run(now.toISOString(), name, owner).changes > 0;
    },
    release(name: string, owner: string): void {
      releaseQ.run(name, owner);
    },
    holder(name: string): JobLockRow | undefined {
      const r = getQ.get(name);
      return r ? toRow(r) : undefined;
    },
  };
}

export type JobLocksStore = ReturnType<typeof createJobLocksStore>;
