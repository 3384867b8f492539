// A synthetic fleet for the admin and reporting benchmarks, written straight into a database
// before the server starts: groups, computers with inventory, sightings (1% cloned images, 5%
// silent for a month or more), and per computer × update status as the report ingest stores it
// (packed cells, failures with HRESULTs) plus a tail of recent events per computer.

import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/store/database.js';
import { createTargetingStore } from '../../src/store/targeting.store.js';
import { createUpdateStatusStore } from '../../src/store/update-status.store.js';
import { packCells } from '../../src/core/reporting/status-rules.js';
import { UpdateState } from '../../src/core/reporting/update-state.js';

/** A deterministic PRNG (mulberry32) so every run seeds the same fleet. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FleetOptions {
  computers: number;
  groups: number;
  seed: number;
  /** the updates computers have status for (update_pk, update_id) */
  updates: Array<{ pk: number; id: string }>;
  /** share of `updates` applicable to each computer (0..1) */
  applicable: number;
  /** recent events stored per computer (the computer detail page reads them) */
  eventsPerComputer: number;
}

export interface Fleet {
  groups: string[];
  groupIds: string[];
  /** a DNS name in the fleet (for show/detail requests) */
  someComputer: string;
  someClientId: string;
  cells: number;
  failures: number;
  events: number;
}

const MODELS = [['Dell Inc.', 'OptiPlex 7090'], ['HP', 'EliteBook 840 G8'], ['LENOVO', 'ThinkPad T14'], ['Microsoft Corporation', 'Surface Laptop 5'], ['QEMU', 'Standard PC']] as const;
const OSES = [['Windows 11 Enterprise', 26100], ['Windows 11 Pro', 22631], ['Windows 10 Enterprise', 19045], ['Windows Server 2022 Standard', 20348]] as const;
const HRESULTS = [0x80246007, 0x80070643, 0x8024200b, 0x80240022, 0x800f0922].map((h) => h | 0);
const DAY = 86_400_000;

export function seedFleet(db: Db, o: FleetOptions, now = new Date()): Fleet {
  const targeting = createTargetingStore(db);
  targeting.ensureBuiltinGroups(now);
  const groups = Array.from({ length: o.groups }, (_, i) => `Ring ${i}`);
  for (const g of groups) if (!targeting.groupIdByName(g)) targeting.createGroup(g, undefined, now);
  const groupIds = groups.map((g) => targeting.groupIdByName(g)!);
  const status = createUpdateStatusStore(db);
  const rnd = prng(o.seed);
  const insertComputer = db.prepare(`INSERT INTO computers (client_id, dns_name, requested_groups, assigned_group_id, os_major, os_minor, os_build,
    os_sp_major, os_locale, os_description, manufacturer, model, processor_architecture, client_version, registered_at, last_sync_at, last_report_at, last_address)
    VALUES (?, ?, '', ?, 10, 0, ?, 0, 'en-US', ?, ?, ?, 'AMD64', '1507.2601.30012.0', ?, ?, ?, ?)`);
  const insertSighting = db.prepare('INSERT OR IGNORE INTO computer_sightings (client_id, dns_name, address, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?)');
  const insertEvent = db.prepare(`INSERT INTO events (event_instance_id, client_id, event_id, namespace_id, source_id, update_id, revision_number,
    time_at_target, win32_hresult, app_name, replacement_strings, misc_data, received_at) VALUES (?, ?, ?, 1, 101, ?, 200, ?, ?, 'AutomaticUpdates', '[]', ?, ?)`);
  let someComputer = '';
  let someClientId = '';
  let cells = 0;
  let failures = 0;
  let events = 0;
  const n = o.updates.length;
  const want = Math.round(n * o.applicable);
  db.transaction(() => {
    db.prepare('DELETE FROM computers').run();
    const seq = status.nextSeq();
    for (let i = 0; i < o.computers; i++) {
      const id = randomUUID();
      const name = `pc-${String(i).padStart(5, '0')}.corp.example`;
      if (i === Math.min(4321, o.computers - 1)) { someComputer = name; someClientId = id; }
      const [make, model] = MODELS[Math.floor(rnd() * MODELS.length)]!;
      const [os, build] = OSES[Math.floor(rnd() * OSES.length)]!;
      const silent = rnd() < 0.05;
      const age = silent ? (30 + rnd() * 90) * DAY : rnd() * 2 * DAY;
      const lastSync = new Date(now.getTime() - age).toISOString();
      const registered = new Date(now.getTime() - age - 90 * DAY).toISOString();
      const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      const group = rnd() < 0.1 ? null : groupIds[Math.floor(rnd() * o.groups)]!;
      const reported = rnd() < 0.9;
      insertComputer.run(id, name, group, build, os, make, model, registered, lastSync, reported ? lastSync : null, address);
      insertSighting.run(id, name, address, registered, lastSync);
      if (rnd() < 0.01) insertSighting.run(id, `clone-${i}.corp.example`, `10.200.${(i >> 8) & 255}.${i & 255}`, registered, lastSync);
      if (!reported) continue;
      // A contiguous window of the update list (wrapping), so popular ranges overlap across machines.
      const start = Math.floor(rnd() * n);
      const map = new Map<number, UpdateState>();
      for (let k = 0; k < want; k++) {
        const u = o.updates[(start + k) % n]!;
        const r = rnd();
        const s = r < 0.8 ? UpdateState.Installed : r < 0.9 ? UpdateState.NotInstalled : r < 0.93 ? UpdateState.Downloaded
          : r < 0.95 ? UpdateState.Failed : UpdateState.InstalledPendingReboot;
        map.set(u.pk, s);
        if (s === UpdateState.Failed) {
          status.setFailure(id, u.pk, HRESULTS[Math.floor(rnd() * HRESULTS.length)]!, new Date(now.getTime() - age - rnd() * 5 * DAY).toISOString());
          failures++;
        }
      }
      status.put(id, lastSync, packCells(map), seq, lastSync);
      cells += map.size;
      for (let e = 0; e < o.eventsPerComputer; e++) {
        const u = o.updates[(start + e) % n]!;
        const kind = [147, 156, 162, 181, 183, 182][e % 6]!;
        const at = new Date(now.getTime() - age - (o.eventsPerComputer - e) * 3_600_000).toISOString();
        insertEvent.run(randomUUID(), id, kind, kind === 147 || kind === 156 ? '00000000-0000-0000-0000-000000000000' : u.id, at,
          kind === 182 ? HRESULTS[0]! : 0, JSON.stringify(kind === 156 ? ['U#=12', 'V#=480'] : []), at);
        events++;
      }
    }
  })();
  return { groups, groupIds, someComputer, someClientId, cells, failures, events };
}
