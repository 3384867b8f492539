import { UpdateState } from './update-state.js';

// How reporting events change what a computer's updates are, following REAL-CLIENTS.md
// "Reporting": after each scan the agent sends a status event (156) whose MiscData lists, as
// `;`-joined update ids, what is installable (U=), installed (V=), installed pending a reboot
// (W=), failed (g=) and downloaded (h=). That list is the whole truth about Installed / Not
// installed: an update in none of the lists is not applicable. Between scans the install
// sequence refines single updates: 162 downloaded, 182 failed (with its HRESULT), 183 installed,
// 184 (or 201 with D=1) installed but waiting for a reboot, 202 rebooted.
//
// Events are applied in client time order (a batch's events share one time, so ties keep batch
// order). A status list older than the one already applied is ignored (a replayed or late batch
// must not roll a computer back); a single-update event older than the last status list only
// adds failure detail, because the newer scan already said what is installed.

export type StatusEvent =
  | { kind: 'status'; at: number; lists: StatusLists<number> }
  | { kind: 'downloaded' | 'installed' | 'pending-reboot' | 'rebooted'; at: number; updatePk: number }
  | { kind: 'failed'; at: number; updatePk: number; hresult: number };

export interface StatusLists<T> {
  installable: T[];
  installed: T[];
  pendingReboot: T[];
  failed: T[];
  downloaded: T[];
}

export interface Failure {
  hresult: number;
  /** epoch ms, client time */
  at: number;
}

/** One computer's applicable updates: update pk → state (2..6). */
export interface ComputerCells {
  /** epoch ms of the status list the cells come from; null: never reported status */
  statusAt: number | null;
  cells: Map<number, UpdateState>;
  failures: Map<number, Failure>;
}

const TAGS: Record<string, keyof StatusLists<string>> = { U: 'installable', V: 'installed', W: 'pendingReboot', g: 'failed', h: 'downloaded' };
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Reads the update lists of a MiscData array ("Key=Value"); null when it carries none. Ids come back lower-case; junk is skipped. */
export function readStatusLists(misc: readonly string[], maxIds = 20_000): StatusLists<string> | null {
  const lists: StatusLists<string> = { installable: [], installed: [], pendingReboot: [], failed: [], downloaded: [] };
  let any = false;
  let n = 0;
  for (const entry of misc) {
    if (entry.length < 2 || entry[1] !== '=') continue;
    const name = TAGS[entry[0]!];
    if (!name) continue;
    any = true;
    for (const raw of entry.slice(2).split(';')) {
      const id = raw.trim().toLowerCase();
      if (!GUID_RE.test(id)) continue;
      if (++n > maxIds) return lists;
      lists[name].push(id);
    }
  }
  return any ? lists : null;
}

/** The status meaning of one event (by EventID and MiscData), or null when it changes no status. */
export function statusKindOf(eventId: number, misc: readonly string[]): StatusEvent['kind'] | null {
  switch (eventId) {
    case 156: return 'status';
    case 162: return 'downloaded';
    case 182: return 'failed';
    case 183: return 'installed';
    case 184: return 'pending-reboot';
    case 201: return misc.includes('D=1') ? 'pending-reboot' : null;
    case 202: return 'rebooted';
    default: return null;
  }
}

function set(c: ComputerCells, pk: number, s: UpdateState): boolean {
  if (c.cells.get(pk) === s) return false;
  c.cells.set(pk, s);
  if (s !== UpdateState.Failed) c.failures.delete(pk);
  return true;
}

/** Applies one event; returns whether anything changed. */
export function applyStatusEvent(c: ComputerCells, e: StatusEvent): boolean {
  if (e.kind === 'status') {
    if (c.statusAt !== null && e.at < c.statusAt) return false;
    const next = new Map<number, UpdateState>();
    const l = e.lists;
    for (const pk of l.installable) {
      const prev = c.cells.get(pk);
      // Still not installed: a failure or a finished download stays visible until the update installs.
      next.set(pk, prev === UpdateState.Failed || prev === UpdateState.Downloaded ? prev : UpdateState.NotInstalled);
    }
    for (const pk of l.downloaded) next.set(pk, UpdateState.Downloaded);
    for (const pk of l.failed) next.set(pk, UpdateState.Failed);
    for (const pk of l.installed) next.set(pk, UpdateState.Installed);
    for (const pk of l.pendingReboot) next.set(pk, UpdateState.InstalledPendingReboot);
    let changed = c.statusAt !== e.at || next.size !== c.cells.size;
    if (!changed) for (const [pk, s] of next) if (c.cells.get(pk) !== s) { changed = true; break; }
    for (const pk of c.failures.keys()) if (next.get(pk) !== UpdateState.Failed) c.failures.delete(pk);
    for (const pk of l.failed) if (!c.failures.has(pk)) c.failures.set(pk, { hresult: 0, at: e.at });
    c.cells = next;
    c.statusAt = e.at;
    return changed;
  }
  const prev = c.cells.get(e.updatePk);
  const stale = c.statusAt !== null && e.at < c.statusAt;
  switch (e.kind) {
    case 'failed': {
      if (stale && prev !== UpdateState.NotInstalled && prev !== UpdateState.Downloaded && prev !== UpdateState.Failed) return false;
      const f = c.failures.get(e.updatePk);
      // A newer failure wins, except the placeholder a g= list leaves (HRESULT 0): a late 182 fills it in.
      if (prev === UpdateState.Failed && f && f.at > e.at && f.hresult !== 0) return false;
      const changed = set(c, e.updatePk, UpdateState.Failed) || !f || f.hresult !== e.hresult || f.at !== e.at;
      c.failures.set(e.updatePk, { hresult: e.hresult, at: e.at });
      return changed;
    }
    case 'downloaded':
      if (stale) return false;
      if (prev !== undefined && prev !== UpdateState.NotInstalled) return false;
      return set(c, e.updatePk, UpdateState.Downloaded);
    case 'installed':
      if (stale) return false;
      return set(c, e.updatePk, UpdateState.Installed);
    case 'pending-reboot':
      if (stale) return false;
      return set(c, e.updatePk, UpdateState.InstalledPendingReboot);
    case 'rebooted':
      if (stale || prev !== UpdateState.InstalledPendingReboot) return false;
      return set(c, e.updatePk, UpdateState.Installed);
  }
}

/** Cells as stored: sorted uint32 `update_pk << 3 | state`, so one computer is one small blob. */
export function packCells(cells: ReadonlyMap<number, UpdateState>): Uint32Array {
  const out = new Uint32Array(cells.size);
  let i = 0;
  for (const [pk, s] of cells) out[i++] = pk * 8 + s;
  return out.sort();
}

export function unpackCells(packed: Uint32Array): Map<number, UpdateState> {
  const m = new Map<number, UpdateState>();
  for (const v of packed) m.set(Math.floor(v / 8), (v & 7) as UpdateState);
  return m;
}

export function cellsToBuffer(packed: Uint32Array): Buffer {
  const b = Buffer.alloc(packed.length * 4);
  for (let i = 0; i < packed.length; i++) b.writeUInt32LE(packed[i]!, i * 4);
  return b;
}

export function cellsFromBuffer(b: Uint8Array): Uint32Array {
  const n = b.byteLength >>> 2;
  const out = new Uint32Array(n);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < n; i++) out[i] = v.getUint32(i * 4, true);
  return out;
}

/** The state of one update in packed cells (binary search); undefined when not applicable/unknown. */
export function stateIn(packed: Uint32Array, updatePk: number): UpdateState | undefined {
  let lo = 0;
  let hi = packed.length - 1;
  const key = updatePk * 8;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = packed[mid]!;
    const k = v - (v & 7);
    if (k === key) return (v & 7) as UpdateState;
    if (k < key) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}
