import { performance } from 'node:perf_hooks';
import type { Db } from '../../store/database.js';
import type { EventsStore } from '../../store/events.store.js';
import type { ReportInboxStore, InboxRow } from '../../store/report-inbox.store.js';
import type { UpdateStatusStore } from '../../store/update-status.store.js';
import type { ComputersStore, ReportedComputer } from '../../store/computers.store.js';
import type { InventoryPatch } from '../../core/reporting/event-inventory.js';
import { compactMisc, isCompacted } from '../../core/reporting/misc-compaction.js';
import type { Logger } from '../../logger.js';
import { decodePayload } from './inbox-payload.js';
import { applyToComputer, toStatusEvent, type PendingStatus } from './status-writer.js';

// Moves accepted batches from the report inbox into events, computer inventory and
// computer_status. Each step is one transaction that takes inbox rows in order, stores their
// events (deduped on EventInstanceID: only new events change status, so a replayed batch
// changes nothing), applies the status rules per computer and deletes the rows it took: after a
// crash every batch has been applied exactly once or not at all. Steps stop after a time budget
// so the caller can yield to the event loop between them and scans never wait long.
//
// Before the first inbox row after the reporting migration, status is rebuilt once from the
// events already stored (their MiscData still has the full lists), computer by computer.

export interface IngestCounts {
  /** inbox rows applied */
  batches: number;
  events: number;
  inserted: number;
  /** events already stored (replays) */
  duplicates: number;
  /** update ids (single events and list entries) the catalog does not have: stored, no status */
  unknownUpdateIds: number;
  /** batches of computers that no longer exist: events stored (pruned later), no status */
  unknownComputers: number;
  /** computer_status rows written */
  statusWrites: number;
  /** unreadable inbox rows dropped */
  corrupt: number;
}

export interface StepResult {
  rows: number;
  events: number;
  /** stopped on the budget: call again */
  more: boolean;
}

interface ClientWork {
  receivedAt: string;
  address: string | null;
  inventory: InventoryPatch | null;
  status: PendingStatus[];
}

// On equal client times (a batch shares one time) the scan result comes before what the install sequence did.
const RANK: Record<number, number> = { 156: 0, 162: 1, 182: 2, 183: 3, 184: 3, 201: 3, 202: 4 };

export function createReportProcessor(deps: {
  db: Db;
  inbox: ReportInboxStore;
  events: EventsStore;
  status: UpdateStatusStore;
  computers: ComputersStore;
  clock: () => Date;
  log: Logger;
}) {
  const { db, inbox, events, status, computers, clock, log } = deps;
  const counts: IngestCounts = { batches: 0, events: 0, inserted: 0, duplicates: 0, unknownUpdateIds: 0, unknownComputers: 0, statusWrites: 0, corrupt: 0 };
  const unknown = { ids: 0 };
  let backfill = decideBackfill();

  function decideBackfill(): { cursor: string; computers: number } | null {
    const state = inbox.backfillState();
    if (state === undefined) {
      if (status.version().count === 0 && events.hasStatusEvents()) {
        inbox.setBackfillState('cursor:');
        return { cursor: '', computers: 0 };
      }
      inbox.setBackfillState(clock().toISOString());
      return null;
    }
    return state.startsWith('cursor:') ? { cursor: state.slice(7), computers: 0 } : null;
  }

  function memoPk(): (id: string) => number | undefined {
    const memo = new Map<string, number | undefined>();
    return (id) => {
      if (memo.has(id)) return memo.get(id);
      const pk = events.updatePkOf(id);
      memo.set(id, pk);
      return pk;
    };
  }

  function ingest(row: InboxRow, work: Map<string, ClientWork>, pkOf: (id: string) => number | undefined): void {
    let payload;
    try {
      payload = decodePayload(row.payload);
    } catch (e) {
      counts.corrupt++;
      log.error('unreadable report inbox row dropped', { id: row.id, clientId: row.clientId, error: (e as Error).message });
      return;
    }
    let w = work.get(row.clientId);
    if (!w) {
      w = { receivedAt: row.receivedAt, address: null, inventory: null, status: [] };
      work.set(row.clientId, w);
    }
    if (row.receivedAt > w.receivedAt) w.receivedAt = row.receivedAt;
    if (row.address) w.address = row.address;
    if (payload.inventory) w.inventory = { ...w.inventory, ...payload.inventory };
    counts.batches++;
    for (const e of payload.events) {
      counts.events++;
      if (!events.insert({ ...e, clientId: row.clientId, miscData: compactMisc(e.miscData) }, row.receivedAt)) {
        counts.duplicates++;
        continue;
      }
      counts.inserted++;
      const s = toStatusEvent(e, Date.parse(e.timeAtTarget), pkOf, unknown);
      if (s) w.status.push(s);
    }
  }

  function merged(cur: ReportedComputer, w: ClientWork): ReportedComputer {
    const next: ReportedComputer = { ...cur };
    const inv = w.inventory ?? {};
    for (const k of Object.keys(inv) as Array<keyof InventoryPatch>) {
      const v = inv[k];
      if (v === undefined) continue;
      // An LCID without a name does not replace the name RegisterComputer gave.
      if (k === 'osLocale' && /^\d+$/.test(String(v)) && cur.osLocale) continue;
      (next as unknown as Record<string, unknown>)[k] = v;
    }
    if (!cur.lastReportAt || w.receivedAt > cur.lastReportAt) next.lastReportAt = w.receivedAt;
    if (w.address) next.lastAddress = w.address;
    return next;
  }

  const same = (a: ReportedComputer, b: ReportedComputer): boolean =>
    (Object.keys(a) as Array<keyof ReportedComputer>).every((k) => a[k] === b[k]);

  function finish(work: Map<string, ClientWork>): void {
    let seq: number | undefined;
    const nextSeq = (): number => (seq ??= status.nextSeq());
    const now = clock().toISOString();
    for (const [clientId, w] of work) {
      const cur = computers.reported(clientId);
      if (!cur) {
        counts.unknownComputers++;
        continue;
      }
      const next = merged(cur, w);
      if (!same(cur, next)) computers.writeReported(clientId, next);
      if (w.status.length && applyToComputer(status, clientId, w.status, nextSeq, now)) counts.statusWrites++;
    }
  }

  /** One transaction of inbox rows, at most `maxRows`, stopping once `budgetMs` is spent. */
  function step(budgetMs: number, maxRows: number): StepResult {
    const r: StepResult = { rows: 0, events: 0, more: false };
    const started = performance.now();
    db.transaction(() => {
      const work = new Map<string, ClientWork>();
      const pkOf = memoPk();
      outer: for (;;) {
        const rows = inbox.next(Math.min(64, maxRows - r.rows));
        if (rows.length === 0) break;
        for (const row of rows) {
          ingest(row, work, pkOf);
          inbox.remove(row.id);
          r.rows++;
          r.events += row.eventCount;
          if (r.rows >= maxRows || performance.now() - started >= budgetMs) {
            r.more = true;
            break outer;
          }
        }
      }
      finish(work);
    }).immediate();
    counts.unknownUpdateIds = unknown.ids;
    return r;
  }

  /** One transaction of the status backfill; false once it is finished. */
  function backfillStep(budgetMs: number): boolean {
    const b = backfill;
    if (!b) return false;
    const started = performance.now();
    let done = false;
    db.transaction(() => {
      const pkOf = memoPk();
      const now = clock().toISOString();
      let seq: number | undefined;
      const nextSeq = (): number => (seq ??= status.nextSeq());
      while (performance.now() - started < budgetMs) {
        const ids = computers.idsAfter(b.cursor, 16);
        if (ids.length === 0) {
          done = true;
          break;
        }
        for (const id of ids) {
          const pending: PendingStatus[] = [];
          const rows = events.statusEventsOf(id).map((e) => ({ e, at: Date.parse(e.timeAtTarget) }))
            .sort((x, y) => x.at - y.at || (RANK[x.e.eventId] ?? 9) - (RANK[y.e.eventId] ?? 9));
          for (const { e, at } of rows) {
            if (Number.isNaN(at) || isCompacted(e.miscData)) continue;
            const s = toStatusEvent(e, at, pkOf, unknown);
            if (s) pending.push(s);
          }
          if (pending.length && applyToComputer(status, id, pending, nextSeq, now)) b.computers++;
          b.cursor = id;
        }
      }
      inbox.setBackfillState(done ? clock().toISOString() : `cursor:${b.cursor}`);
    }).immediate();
    if (done) {
      backfill = null;
      log.info('computer status rebuilt from stored events', { computers: b.computers });
    }
    return !done;
  }

  return {
    step,
    backfillStep,
    backfillPending: (): boolean => backfill !== null,
    counts: (): IngestCounts => ({ ...counts, unknownUpdateIds: unknown.ids }),
  };
}

export type ReportProcessor = ReturnType<typeof createReportProcessor>;
