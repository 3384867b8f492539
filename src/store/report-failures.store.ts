import type { Db } from './database.js';

// Every failed computer × update (computer_update_failures) in one pass, for the in-memory
// status index; single computers are re-read through update-status.store failuresOf().

export interface StoredFailure {
  clientId: string;
  updatePk: number;
  hresult: number;
  failedAt: string;
}

export function createReportFailuresStore(db: Db) {
  const allQ = db.prepare<[], { client_id: string; update_pk: number; hresult: number; failed_at: string }>(
    'SELECT client_id, update_pk, hresult, failed_at FROM computer_update_failures',
  );
  return {
    *all(): Generator<StoredFailure> {
      for (const r of allQ.iterate()) yield { clientId: r.client_id, updatePk: r.update_pk, hresult: r.hresult, failedAt: r.failed_at };
    },
  };
}

export type ReportFailuresStore = ReturnType<typeof createReportFailuresStore>;
