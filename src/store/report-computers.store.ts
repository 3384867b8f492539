import type { Db } from './database.js';
import { readCounter } from './server-identity.store.js';
import { DUPLICATE_IDS } from './computers-admin.store.js';

// The computer side of the reports: every computer's name, address, group, OS and contact
// times, read whole once and then only the rows whose contact times moved; plus what one
// computer's detail page shows (inventory, recent events) and the cloned-image detection.

export interface ReportComputerRow {
  clientId: string;
  name: string;
  address: string | null;
  assignedGroupId: string | null;
  requestedGroups: string;
  osDescription: string | null;
  osVersion: string | null;
  registeredAt: string;
  lastSyncAt: string | null;
  lastReportAt: string | null;
}

export interface ComputersVersion {
  count: number;
  maxRowid: number;
  registeredAt: string;
  syncAt: string;
  reportAt: string;
  /** moves, group renames and group tree changes bump it */
  changeSeq: number;
}

export interface ComputerInventory {
  osDescription: string | null; osVersion: string | null; osLocale: string | null;
  manufacturer: string | null; model: string | null; biosVersion: string | null; biosName: string | null;
  biosReleaseDate: string | null; architecture: string | null; clientVersion: string | null;
}

export interface ReportEventRow {
  timeAtTarget: string;
  receivedAt: string;
  eventId: number;
  updateId: string;
  hresult: number;
  miscData: string;
  replacementStrings: string;
}

interface Raw {
  client_id: string; dns_name: string; last_address: string | null; assigned_group_id: string | null; requested_groups: string;
  os_description: string | null; os_major: number | null; os_minor: number | null; os_build: number | null; os_sp_major: number | null;
  registered_at: string; last_sync_at: string | null; last_report_at: string | null;
}

const COLUMNS = `client_id, dns_name, last_address, assigned_group_id, requested_groups, os_description, os_major, os_minor, os_build,
  os_sp_major, registered_at, last_sync_at, last_report_at`;

export function osVersionOf(r: { os_major: number | null; os_minor: number | null; os_build: number | null; os_sp_major: number | null }): string | null {
  if (r.os_major === null) return null;
  return [r.os_major, r.os_minor, r.os_build].filter((v) => v !== null).join('.') + (r.os_sp_major ? ` SP${r.os_sp_major}` : '');
}

const toRow = (r: Raw): ReportComputerRow => ({
  clientId: r.client_id, name: r.dns_name, address: r.last_address, assignedGroupId: r.assigned_group_id, requestedGroups: r.requested_groups,
  osDescription: r.os_description, osVersion: osVersionOf(r), registeredAt: r.registered_at, lastSyncAt: r.last_sync_at, lastReportAt: r.last_report_at,
});

export function createReportComputersStore(db: Db) {
  const versionQ = db.prepare<[], { n: number; r: number | null; a: string | null; b: string | null; c: string | null }>(
    'SELECT count(*) AS n, max(rowid) AS r, max(registered_at) AS a, max(last_sync_at) AS b, max(last_report_at) AS c FROM computers',
  );
  const allQ = db.prepare<[], Raw>(`SELECT ${COLUMNS} FROM computers`);
  const touchedQ = db.prepare<{ a: string; b: string; c: string }, Raw>(
    `SELECT ${COLUMNS} FROM computers WHERE registered_at >= @a OR last_sync_at >= @b OR last_report_at >= @c`,
  );
  const assignmentsQ = db.prepare<[], { client_id: string; assigned_group_id: string | null; requested_groups: string }>(
    'SELECT client_id, assigned_group_id, requested_groups FROM computers',
  );
  const groupsQ = db.prepare<[], { id: string; name: string; parent_id: string | null }>('SELECT id, name, parent_id FROM target_groups');
  const duplicatesQ = db.prepare<[], { client_id: string }>(DUPLICATE_IDS);
  const inventoryQ = db.prepare<[string], {
    os_description: string | null; os_major: number | null; os_minor: number | null; os_build: number | null; os_sp_major: number | null;
    os_locale: string | null; manufacturer: string | null; model: string | null; bios_version: string | null; bios_name: string | null;
    bios_release_date: string | null; processor_architecture: string | null; client_version: string | null;
  }>(
    `SELECT os_description, os_major, os_minor, os_build, os_sp_major, os_locale, manufacturer, model, bios_version, bios_name,
            bios_release_date, processor_architecture, client_version FROM computers WHERE client_id = ?`,
  );
  const sightingsQ = db.prepare<[string], { dns_name: string; address: string; last_seen_at: string }>(
    'SELECT dns_name, address, last_seen_at FROM computer_sightings WHERE client_id = ? ORDER BY last_seen_at DESC LIMIT 50',
  );
  const eventsQ = db.prepare<[string, number], { time_at_target: string; received_at: string; event_id: number; update_id: string; win32_hresult: number; misc_data: string; replacement_strings: string }>(
    `SELECT time_at_target, received_at, event_id, update_id, win32_hresult, misc_data, replacement_strings FROM events
      WHERE client_id = ? ORDER BY time_at_target DESC, received_at DESC LIMIT ?`,
  );

  return {
    version(): ComputersVersion {
      const v = versionQ.get()!;
      return { count: v.n, maxRowid: v.r ?? 0, registeredAt: v.a ?? '', syncAt: v.b ?? '', reportAt: v.c ?? '', changeSeq: readCounter(db, 'change_seq') };
    },
    all(): ReportComputerRow[] {
      return allQ.all().map(toRow);
    },
    /** Computers registered, scanning or reporting at or after these times (one scan, few rows). */
    touchedSince(v: Pick<ComputersVersion, 'registeredAt' | 'syncAt' | 'reportAt'>): ReportComputerRow[] {
      return touchedQ.all({ a: v.registeredAt, b: v.syncAt, c: v.reportAt }).map(toRow);
    },
    assignments(): Array<{ clientId: string; assignedGroupId: string | null; requestedGroups: string }> {
      return assignmentsQ.all().map((r) => ({ clientId: r.client_id, assignedGroupId: r.assigned_group_id, requestedGroups: r.requested_groups }));
    },
    groups(): Array<{ id: string; name: string; parentId: string | null }> {
      return groupsQ.all().map((g) => ({ id: g.id, name: g.name, parentId: g.parent_id }));
    },
    /** Client ids seen with several names, or with two addresses at the same time (cloned images). */
    duplicateIds(): Set<string> {
      return new Set(duplicatesQ.all().map((r) => r.client_id));
    },
    inventory(clientId: string): ComputerInventory | undefined {
      const r = inventoryQ.get(clientId);
      if (!r) return undefined;
      return {
        osDescription: r.os_description, osVersion: osVersionOf(r), osLocale: r.os_locale, manufacturer: r.manufacturer, model: r.model,
        biosVersion: r.bios_version, biosName: r.bios_name, biosReleaseDate: r.bios_release_date, architecture: r.processor_architecture,
        clientVersion: r.client_version,
      };
    },
    /** Every (name, address) the client id came with, latest first. */
    sightings(clientId: string): Array<{ name: string; address: string; lastSeenAt: string }> {
      return sightingsQ.all(clientId).map((r) => ({ name: r.dns_name, address: r.address, lastSeenAt: r.last_seen_at }));
    },
    /** Newest first (client time), through events_by_client. */
    recentEvents(clientId: string, limit: number): ReportEventRow[] {
      return eventsQ.all(clientId, limit).map((e) => ({
        timeAtTarget: e.time_at_target, receivedAt: e.received_at, eventId: e.event_id, updateId: e.update_id, hresult: e.win32_hresult,
        miscData: e.misc_data, replacementStrings: e.replacement_strings,
      }));
    },
  };
}

export type ReportComputersStore = ReturnType<typeof createReportComputersStore>;
