import type { Db } from './database.js';
import { nextCounter } from './server-identity.store.js';
import { createGroupDeploymentTouch } from './group-deployments.js';
import { likeSubstring } from './update-listing.store.js';

// Reads and changes behind `wsus computers list|show|move|delete`. A computer's last contact
// is the latest of registration, last scan and last report; duplicates are client ids seen
// with more than one name, or with two addresses at the same time (computer_sightings).

export interface ComputerListQuery {
  /** server-side targeting: direct members of these group ids; `unassigned` adds never-assigned computers */
  assignedTo?: { groupIds: readonly string[]; unassigned: boolean };
  /** client-side targeting: computers naming any of these groups (lower-case names) ... */
  requesting?: { names: readonly string[]; unassigned: boolean; allNames: readonly string[] };
  /** last contact before this ISO time */
  contactBefore?: string;
  text?: string;
  duplicates?: boolean;
  sort: 'name' | 'last-contact';
  limit: number;
  offset: number;
}

export interface ComputerRow {
  clientId: string;
  dnsName: string;
  osDescription: string | null;
  osVersion: string | null;
  osLocale: string | null;
  architecture: string | null;
  manufacturer: string | null;
  model: string | null;
  biosVersion: string | null;
  address: string | null;
  groupId: string | null;
  groupName: string | null;
  requestedGroups: string;
  clientVersion: string | null;
  registeredAt: string;
  lastSyncAt: string | null;
  lastReportAt: string | null;
  lastContactAt: string;
}

export interface Sighting { dnsName: string; address: string | null; firstSeenAt: string; lastSeenAt: string }

interface ComputerRaw {
  client_id: string; dns_name: string; os_description: string | null; os_major: number | null; os_minor: number | null;
  os_build: number | null; os_sp_major: number | null; os_locale: string | null; processor_architecture: string | null;
  manufacturer: string | null; model: string | null; bios_version: string | null; last_address: string | null;
  assigned_group_id: string | null; group_name: string | null; requested_groups: string; client_version: string | null;
  registered_at: string; last_sync_at: string | null; last_report_at: string | null; last_contact_at: string;
}

const COLUMNS = `c.client_id, c.dns_name, c.os_description, c.os_major, c.os_minor, c.os_build, c.os_sp_major, c.os_locale,
  c.processor_architecture, c.manufacturer, c.model, c.bios_version, c.last_address, c.assigned_group_id, g.name AS group_name,
  c.requested_groups, c.client_version, c.registered_at, c.last_sync_at, c.last_report_at,
  max(c.registered_at, COALESCE(c.last_sync_at, ''), COALESCE(c.last_report_at, '')) AS last_contact_at`;

function toRow(r: ComputerRaw): ComputerRow {
  const version = r.os_major === null ? null : [r.os_major, r.os_minor, r.os_build].filter((v) => v !== null).join('.')
    + (r.os_sp_major ? ` SP${r.os_sp_major}` : '');
  return {
    clientId: r.client_id, dnsName: r.dns_name, osDescription: r.os_description, osVersion: version, osLocale: r.os_locale,
    architecture: r.processor_architecture, manufacturer: r.manufacturer, model: r.model, biosVersion: r.bios_version,
    address: r.last_address, groupId: r.assigned_group_id, groupName: r.group_name, requestedGroups: r.requested_groups,
    clientVersion: r.client_version, registeredAt: r.registered_at, lastSyncAt: r.last_sync_at, lastReportAt: r.last_report_at,
    lastContactAt: r.last_contact_at,
  };
}

// Client ids seen with two names, or with two addresses whose sightings overlap in time (two
// machines alternating; a DHCP renumbering or a move does not overlap).
export const DUPLICATE_IDS = `SELECT client_id FROM computer_sightings GROUP BY client_id HAVING count(DISTINCT dns_name) > 1
  UNION SELECT a.client_id FROM computer_sightings a JOIN computer_sightings b
           ON b.client_id = a.client_id AND b.address > a.address AND a.address != ''
        WHERE a.first_seen_at <= b.last_seen_at AND b.first_seen_at <= a.last_seen_at`;

/** `;`-separated TargetGroup names as a client sent them, matched like effectiveGroups does. */
function requestsAny(requested: string, names: ReadonlySet<string>): boolean {
  for (const raw of requested.split(';')) if (names.has(raw.trim().toLowerCase())) return true;
  return false;
}

export function createComputersAdminStore(db: Db) {
  // Client-side targeting filters match the TargetGroup string per row with this function.
  let lastNames = '';
  let lastSet = new Set<string>();
  db.function('wsus_requests_any', { deterministic: true }, (requested: unknown, namesJson: unknown) => {
    if (namesJson !== lastNames) {
      lastNames = String(namesJson);
      lastSet = new Set(JSON.parse(lastNames) as string[]);
    }
    return requestsAny(String(requested ?? ''), lastSet) ? 1 : 0;
  });
  const statements = new Map<string, ReturnType<Db['prepare']>>();
  const prepared = (sql: string): ReturnType<Db['prepare']> => {
    let st = statements.get(sql);
    if (!st) {
      st = db.prepare(sql);
      statements.set(sql, st);
    }
    return st;
  };
  const byId = db.prepare<[string], ComputerRaw>(
    `SELECT ${COLUMNS} FROM computers c LEFT JOIN target_groups g ON g.id = c.assigned_group_id WHERE c.client_id = ?`,
  );
  const names = db.prepare<[], { client_id: string; dns_name: string }>('SELECT client_id, dns_name FROM computers');
  // Full name, or short name (the first label): index range scans on computers_by_name.
  const byName = db.prepare<[string], { client_id: string; dns_name: string }>(
    'SELECT client_id, dns_name FROM computers WHERE dns_name = ? COLLATE NOCASE',
  );
  const byShortName = db.prepare<[string, string], { client_id: string; dns_name: string }>(
    'SELECT client_id, dns_name FROM computers WHERE dns_name >= ? COLLATE NOCASE AND dns_name < ? COLLATE NOCASE',
  );
  const sightings = db.prepare<[string], { dns_name: string; address: string; first_seen_at: string; last_seen_at: string }>(
    'SELECT dns_name, address, first_seen_at, last_seen_at FROM computer_sightings WHERE client_id = ? ORDER BY last_seen_at DESC',
  );
  const duplicatesOfPage = db.prepare<[string], { client_id: string }>(
    `SELECT client_id FROM (${DUPLICATE_IDS}) WHERE client_id IN (SELECT value FROM json_each(?))`,
  );
  const move = db.prepare('UPDATE computers SET assigned_group_id = ? WHERE client_id = ?');
  const groupOf = db.prepare<[string], { assigned_group_id: string | null }>('SELECT assigned_group_id FROM computers WHERE client_id = ?');
  const deleteComputer = db.prepare('DELETE FROM computers WHERE client_id = ?');
  const deleteSightings = db.prepare('DELETE FROM computer_sightings WHERE client_id = ?');
  const deleteEvents = db.prepare('DELETE FROM events WHERE client_id = ?');
  const touchGroups = createGroupDeploymentTouch(db);

  return {
    list(q: ComputerListQuery): { rows: ComputerRow[]; total: number } {
      const where: string[] = [];
      const params: Record<string, unknown> = { limit: q.limit, offset: q.offset };
      if (q.assignedTo) {
        params.groups = JSON.stringify(q.assignedTo.groupIds);
        where.push(`(c.assigned_group_id IN (SELECT value FROM json_each(@groups))${q.assignedTo.unassigned ? ' OR c.assigned_group_id IS NULL' : ''})`);
      }
      if (q.requesting) {
        params.names = JSON.stringify(q.requesting.names);
        params.allNames = JSON.stringify(q.requesting.allNames);
        where.push(`(wsus_requests_any(c.requested_groups, @names)${q.requesting.unassigned ? ' OR NOT wsus_requests_any(c.requested_groups, @allNames)' : ''})`);
      }
      if (q.contactBefore) {
        params.before = q.contactBefore;
        where.push(`max(c.registered_at, COALESCE(c.last_sync_at, ''), COALESCE(c.last_report_at, '')) < @before`);
      }
      if (q.text) {
        params.like = likeSubstring(q.text);
        params.exact = q.text.toLowerCase();
        where.push(`(c.dns_name LIKE @like ESCAPE '\\' OR c.client_id = @exact OR c.last_address = @exact)`);
      }
      if (q.duplicates) where.push(`c.client_id IN (${DUPLICATE_IDS})`);
      const filter = where.length ? `WHERE ${where.join('\n AND ')}` : '';
      const order = q.sort === 'last-contact' ? 'last_contact_at, c.client_id' : 'c.dns_name COLLATE NOCASE, c.client_id';
      const raw = prepared(`SELECT ${COLUMNS}, count(*) OVER () AS total FROM computers c LEFT JOIN target_groups g ON g.id = c.assigned_group_id
        ${filter} ORDER BY ${order} LIMIT @limit OFFSET @offset`).all(params) as Array<ComputerRaw & { total: number }>;
      let total = raw[0]?.total ?? 0;
      if (raw.length === 0 && q.offset > 0) {
        const { limit: _l, offset: _o, ...countParams } = params;
        total = prepared(`SELECT count(*) FROM computers c ${filter}`).pluck().get(countParams) as number;
      }
      return { rows: raw.map(toRow), total };
    },

    /** Which of these client ids look like cloned images. */
    duplicatesAmong(clientIds: readonly string[]): Set<string> {
      if (clientIds.length === 0) return new Set();
      return new Set(duplicatesOfPage.all(JSON.stringify(clientIds)).map((r) => r.client_id));
    },

    byId(clientId: string): ComputerRow | undefined {
      const r = byId.get(clientId.toLowerCase());
      return r ? toRow(r) : undefined;
    },
    /** Every (client id, name): resolving names to computers without a query per name. */
    names(): Array<{ clientId: string; dnsName: string }> {
      return names.all().map((n) => ({ clientId: n.client_id, dnsName: n.dns_name }));
    },
    /** Computers whose DNS name is `name`, or whose first label is `name` (ignoring case). */
    byName(name: string): Array<{ clientId: string; dnsName: string }> {
      const exact = byName.all(name);
      const rows = exact.length ? exact : byShortName.all(`${name}.`, `${name}/`);
      return rows.map((c) => ({ clientId: c.client_id, dnsName: c.dns_name }));
    },
    sightings(clientId: string): Sighting[] {
      return sightings.all(clientId).map((s) => ({ dnsName: s.dns_name, address: s.address || null, firstSeenAt: s.first_seen_at, lastSeenAt: s.last_seen_at }));
    },

    /**
     * Assigns computers to a group (null = unassigned). `affected(from)` names the groups whose
     * approvals a computer leaving `from` for the target gains or loses (see group-deployments).
     * Returns how many computers changed group.
     */
    move(clientIds: readonly string[], groupId: string | null, affected: (from: string | null) => readonly string[], now: Date): number {
      return db.transaction(() => {
        const touch = new Set<string>();
        let moved = 0;
        for (const id of clientIds) {
          const from = groupOf.get(id)?.assigned_group_id ?? null;
          if (from === groupId) continue;
          move.run(groupId, id);
          for (const g of affected(from)) touch.add(g);
          moved++;
        }
        if (moved) touchGroups(touch, nextCounter(db, 'change_seq'), now);
        return moved;
      }).immediate();
    },

    /** Deletes computers with their sightings and reported events; returns how many existed. */
    delete(clientIds: readonly string[]): { computers: number; events: number } {
      return db.transaction(() => {
        let computers = 0;
        let events = 0;
        for (const id of clientIds) {
          computers += deleteComputer.run(id).changes;
          deleteSightings.run(id);
          events += deleteEvents.run(id).changes;
        }
        return { computers, events };
      }).immediate();
    },
  };
}

export type ComputersAdminStore = ReturnType<typeof createComputersAdminStore>;
