import type { Db } from './database.js';

// The downstream servers that synchronize from us: who they said they were, from where, when.

export interface DownstreamServerRow {
  serverId: string;
  fqdn: string;
  address: string | null;
  protocolVersion: string | null;
  firstSeenAt: string;
  lastSeenAt: string;
  lastSyncAt: string | null;
  lastRollupAt: string | null;
}

export function createDownstreamServersStore(db: Db) {
  const upsert = db.prepare(
    `INSERT INTO downstream_servers (server_id, fqdn, address, first_seen_at, last_seen_at) VALUES (@id, @fqdn, @address, @at, @at)
     ON CONFLICT (server_id) DO UPDATE SET fqdn = excluded.fqdn, address = COALESCE(excluded.address, address), last_seen_at = excluded.last_seen_at`,
  );
  const setVersion = db.prepare('UPDATE downstream_servers SET protocol_version = ?, last_seen_at = ? WHERE server_id = ?');
  const setSynced = db.prepare('UPDATE downstream_servers SET last_sync_at = ?, last_seen_at = ? WHERE server_id = ?');
  const setRollup = db.prepare('UPDATE downstream_servers SET rollup = ?, last_rollup_at = ? WHERE server_id = ?');
  const byId = db.prepare<[string], { server_id: string; fqdn: string; address: string | null; protocol_version: string | null; first_seen_at: string; last_seen_at: string; last_sync_at: string | null; last_rollup_at: string | null }>(
    'SELECT server_id, fqdn, address, protocol_version, first_seen_at, last_seen_at, last_sync_at, last_rollup_at FROM downstream_servers WHERE server_id = ?',
  );

  return {
    /** DssAuth: first contact creates the row; later ones refresh name, address and last-seen time. */
    recordContact(serverId: string, fqdn: string, address: string | null, now: Date): void {
      upsert.run({ id: serverId.toLowerCase(), fqdn, address, at: now.toISOString() });
    },
    recordCookie(serverId: string, protocolVersion: string, now: Date): void {
      setVersion.run(protocolVersion, now.toISOString(), serverId);
    },
    /** GetRevisionIdList: the downstream is synchronizing. */
    recordSync(serverId: string, now: Date): void {
      setSynced.run(now.toISOString(), now.toISOString(), serverId);
    },
    /** RollupDownstreamServers: the latest batch as received (JSON of plain string records). */
    recordRollup(serverId: string, records: ReadonlyArray<Record<string, string>>, now: Date): void {
      setRollup.run(JSON.stringify(records), now.toISOString(), serverId);
    },
    get(serverId: string): DownstreamServerRow | undefined {
      const r = byId.get(serverId.toLowerCase());
      return r && {
        serverId: r.server_id, fqdn: r.fqdn, address: r.address, protocolVersion: r.protocol_version,
        firstSeenAt: r.first_seen_at, lastSeenAt: r.last_seen_at, lastSyncAt: r.last_sync_at, lastRollupAt: r.last_rollup_at,
      };
    },
  };
}

export type DownstreamServersStore = ReturnType<typeof createDownstreamServersStore>;
