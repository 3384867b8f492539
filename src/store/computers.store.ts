import type { Db } from './database.js';
import type { InventoryPatch } from '../core/reporting/event-inventory.js';

export interface ComputerInfo {
  clientId: string;
  dnsName: string;
  osMajor?: number; osMinor?: number; osBuild?: number; osSpMajor?: number;
  osLocale?: string; osDescription?: string;
  manufacturer?: string; model?: string;
  biosVersion?: string; biosName?: string; biosReleaseDate?: string;
  processorArchitecture?: string; clientVersion?: string;
}

/** What a report may change on a computer row (the inventory columns, last report, last address). */
export interface ReportedComputer extends Required<{ [K in keyof InventoryPatch]: InventoryPatch[K] | null }> {
  lastReportAt: string | null;
  lastAddress: string | null;
}

interface ReportedRaw {
  manufacturer: string | null; model: string | null; bios_version: string | null; bios_name: string | null;
  bios_release_date: string | null; processor_architecture: string | null; os_major: number | null; os_minor: number | null;
  os_build: number | null; os_locale: string | null; client_version: string | null; last_report_at: string | null; last_address: string | null;
}

export interface ComputerTargeting {
  assignedGroupId: string | null;
  requestedGroups: string;
}

export function createComputersStore(db: Db) {
  const upsert = db.prepare(
    `INSERT INTO computers (client_id, dns_name, requested_groups, os_major, os_minor, os_build, os_sp_major, os_locale,
       os_description, manufacturer, model, bios_version, bios_name, bios_release_date, processor_architecture,
       client_version, registered_at, last_sync_at, last_address)
     VALUES (@clientId, @dnsName, @requestedGroups, @osMajor, @osMinor, @osBuild, @osSpMajor, @osLocale, @osDescription,
       @manufacturer, @model, @biosVersion, @biosName, @biosReleaseDate, @processorArchitecture, @clientVersion,
       @at, NULL, @address)
     ON CONFLICT (client_id) DO UPDATE SET dns_name = excluded.dns_name, requested_groups = excluded.requested_groups,
       os_major = excluded.os_major, os_minor = excluded.os_minor, os_build = excluded.os_build,
       os_sp_major = excluded.os_sp_major, os_locale = excluded.os_locale, os_description = excluded.os_description,
       manufacturer = excluded.manufacturer, model = excluded.model, bios_version = excluded.bios_version,
       bios_name = excluded.bios_name, bios_release_date = excluded.bios_release_date,
       processor_architecture = excluded.processor_architecture, client_version = excluded.client_version,
       last_address = excluded.last_address`,
  );
  const targeting = db.prepare<[string], { assigned_group_id: string | null; requested_groups: string }>(
    'SELECT assigned_group_id, requested_groups FROM computers WHERE client_id = ?',
  );
  const touchSync = db.prepare('UPDATE computers SET last_sync_at = ?, last_address = COALESCE(?, last_address) WHERE client_id = ?');
  const touchReport = db.prepare('UPDATE computers SET last_report_at = ? WHERE client_id = ?');
  const reportedQ = db.prepare<[string], ReportedRaw>(
    `SELECT manufacturer, model, bios_version, bios_name, bios_release_date, processor_architecture, os_major, os_minor,
       os_build, os_locale, client_version, last_report_at, last_address FROM computers WHERE client_id = ?`,
  );
  const writeReportedQ = db.prepare(
    `UPDATE computers SET manufacturer = @manufacturer, model = @model, bios_version = @biosVersion, bios_name = @biosName,
       bios_release_date = @biosReleaseDate, processor_architecture = @processorArchitecture, os_major = @osMajor,
       os_minor = @osMinor, os_build = @osBuild, os_locale = @osLocale, client_version = @clientVersion,
       last_report_at = @lastReportAt, last_address = @lastAddress
     WHERE client_id = @clientId`,
  );
  const idsAfterQ = db.prepare<[string, number], { client_id: string }>('SELECT client_id FROM computers WHERE client_id > ? ORDER BY client_id LIMIT ?');
  const existsQ = db.prepare<[string], { x: number }>('SELECT 1 AS x FROM computers WHERE client_id = ?');
  const reportedSinceQ = db.prepare<[string], { client_id: string }>('SELECT client_id FROM computers WHERE last_report_at >= ?');
  const assign = db.prepare('UPDATE computers SET assigned_group_id = ? WHERE client_id = ?');
  // Duplicate SusClientId detection (cloned images): every (name, address) a client id comes
  // with. Written when what a client sends changes, else at most hourly: never per request.
  const upsertSighting = db.prepare(
    `INSERT INTO computer_sightings (client_id, dns_name, address, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (client_id, dns_name, address) DO UPDATE SET last_seen_at = excluded.last_seen_at`,
  );
  const sighted = new Map<string, { key: string; at: number }>();
  const SIGHTING_REFRESH_MS = 3_600_000;
  function sight(clientId: string, dnsName: string, address: string | null, at: string): void {
    const name = dnsName.toLowerCase();
    const key = `${name}|${address ?? ''}`;
    const t = Date.parse(at);
    const prev = sighted.get(clientId);
    if (prev && prev.key === key && t - prev.at < SIGHTING_REFRESH_MS) return;
    upsertSighting.run(clientId, name, address ?? '', at, at);
    if (sighted.size >= 200_000) sighted.clear();
    sighted.set(clientId, { key, at: t });
  }

  return {
    register(info: ComputerInfo, requestedGroups: string, address: string | null, now: Date): void {
      upsert.run({
        osMajor: null, osMinor: null, osBuild: null, osSpMajor: null, osLocale: null, osDescription: null,
        manufacturer: null, model: null, biosVersion: null, biosName: null, biosReleaseDate: null,
        processorArchitecture: null, clientVersion: null,
        ...info, requestedGroups, address, at: now.toISOString(),
      });
      sight(info.clientId, info.dnsName, address, now.toISOString());
    },
    targeting(clientId: string): ComputerTargeting | undefined {
      const r = targeting.get(clientId);
      return r ? { assignedGroupId: r.assigned_group_id, requestedGroups: r.requested_groups } : undefined;
    },
    /** After computers were deleted: their next contact records a sighting again. */
    forgetSightings(clientIds: Iterable<string>): void {
      for (const id of clientIds) sighted.delete(id);
    },
    /** The columns reports write; undefined when the computer does not exist (deleted, never registered). */
    reported(clientId: string): ReportedComputer | undefined {
      const r = reportedQ.get(clientId);
      return r && {
        manufacturer: r.manufacturer, model: r.model, biosVersion: r.bios_version, biosName: r.bios_name,
        biosReleaseDate: r.bios_release_date, processorArchitecture: r.processor_architecture, osMajor: r.os_major,
        osMinor: r.os_minor, osBuild: r.os_build, osLocale: r.os_locale, clientVersion: r.client_version,
        lastReportAt: r.last_report_at, lastAddress: r.last_address,
      };
    },
    /** Call inside the report processor's transaction, only when something changed. */
    writeReported(clientId: string, c: ReportedComputer): void {
      writeReportedQ.run({ ...c, clientId });
    },
    exists(clientId: string): boolean {
      return existsQ.get(clientId) !== undefined;
    },
    /** Computers whose last report was received at or after `iso`. */
    reportedSince(iso: string): Set<string> {
      return new Set(reportedSinceQ.all(iso).map((r) => r.client_id));
    },
    /** Client ids in order after `clientId` ('' to start). */
    idsAfter(clientId: string, limit: number): string[] {
      return idsAfterQ.all(clientId, limit).map((r) => r.client_id);
    },
    assignGroup(clientId: string, groupId: string | null): boolean {
      return assign.run(groupId, clientId).changes > 0;
    },
    /** Applies buffered last-contact times in one transaction (scans never write synchronously). */
    recordContacts(syncs: ReadonlyMap<string, { at: string; address: string | null; dnsName?: string }>, reports: ReadonlyMap<string, string> = new Map()): void {
      db.transaction(() => {
        for (const [id, s] of syncs) {
          // A computer deleted meanwhile is not resurrected by its sighting (it re-registers first).
          if (touchSync.run(s.at, s.address, id).changes > 0 && s.dnsName) sight(id, s.dnsName, s.address, s.at);
        }
        for (const [id, at] of reports) touchReport.run(at, id);
      })();
    },
  };
}

export type ComputersStore = ReturnType<typeof createComputersStore>;
