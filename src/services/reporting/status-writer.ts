import {
  applyStatusEvent, packCells, readStatusLists, statusKindOf, unpackCells,
  type ComputerCells, type Failure, type StatusEvent, type StatusLists,
} from '../../core/reporting/status-rules.js';
import { UpdateState } from '../../core/reporting/update-state.js';
import { MAX_LIST_IDS } from '../../core/reporting/report-event.js';
import type { UpdateStatusStore } from '../../store/update-status.store.js';

// From stored or incoming events to computer_status rows: maps update ids to update pks, applies
// the rules of src/core/reporting/status-rules.ts in client time order and writes the cells and
// failure rows that changed. Runs inside the caller's transaction.

const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

/**
 * A status change to apply. `rebooted-all`: a reboot event about no particular update (zero
 * GUID), which completes every install of the computer that was waiting for a reboot.
 */
export type PendingStatus = StatusEvent | { kind: 'rebooted-all'; at: number };

export interface EventForStatus {
  eventId: number;
  namespaceId: number;
  updateId: string;
  win32HResult: number;
  miscData: readonly string[];
}

/** The status meaning of one event with its ids mapped to update pks; null when it has none. Ids the catalog lacks are counted. */
export function toStatusEvent(e: EventForStatus, at: number, pkOf: (updateId: string) => number | undefined, unknown: { ids: number }): PendingStatus | null {
  if (e.namespaceId !== 1) return null;
  const kind = statusKindOf(e.eventId, e.miscData);
  if (kind === null) return null;
  if (kind === 'status') {
    // No list at all is an empty scan result: nothing applicable.
    const lists = readStatusLists(e.miscData, MAX_LIST_IDS);
    const mapped: StatusLists<number> = { installable: [], installed: [], pendingReboot: [], failed: [], downloaded: [] };
    if (lists) {
      for (const k of Object.keys(mapped) as Array<keyof StatusLists<number>>) {
        for (const id of lists[k]) {
          const pk = pkOf(id);
          if (pk === undefined) unknown.ids++;
          else mapped[k].push(pk);
        }
      }
    }
    return { kind, at, lists: mapped };
  }
  if (e.updateId === ZERO_GUID) return kind === 'rebooted' ? { kind: 'rebooted-all', at } : null;
  const pk = pkOf(e.updateId);
  if (pk === undefined) {
    unknown.ids++;
    return null;
  }
  return kind === 'failed' ? { kind, at, updatePk: pk, hresult: e.win32HResult } : { kind, at, updatePk: pk };
}

/** Applies events (any order: sorted here by client time, ties keep the given order); returns whether the row changed. */
export function applyToComputer(status: UpdateStatusStore, clientId: string, events: readonly PendingStatus[], nextSeq: () => number, nowIso: string): boolean {
  const row = status.get(clientId);
  const failures = new Map<number, Failure>();
  for (const [pk, f] of status.failuresOf(clientId)) failures.set(pk, { hresult: f.hresult, at: Date.parse(f.failedAt) });
  const before = new Map(failures);
  const c: ComputerCells = {
    statusAt: row?.statusAt ? Date.parse(row.statusAt) : null,
    cells: row ? unpackCells(row.cells) : new Map(),
    failures,
  };
  let changed = false;
  for (const e of [...events].sort((a, b) => a.at - b.at)) {
    if (e.kind === 'rebooted-all') {
      for (const [pk, s] of [...c.cells]) {
        if (s === UpdateState.InstalledPendingReboot) changed = applyStatusEvent(c, { kind: 'rebooted', at: e.at, updatePk: pk }) || changed;
      }
    } else {
      changed = applyStatusEvent(c, e) || changed;
    }
  }
  if (!changed) return false;
  status.put(clientId, c.statusAt === null ? null : new Date(c.statusAt).toISOString(), packCells(c.cells), nextSeq(), nowIso);
  for (const [pk, f] of c.failures) {
    const b = before.get(pk);
    if (!b || b.hresult !== f.hresult || b.at !== f.at) status.setFailure(clientId, pk, f.hresult, new Date(f.at).toISOString());
  }
  for (const pk of before.keys()) if (!c.failures.has(pk)) status.clearFailure(clientId, pk);
  return true;
}
