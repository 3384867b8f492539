import { invalidParameters } from '../../core/errors.js';
import { rollupResetGuid } from '../../core/server-sync/derived-guid.js';
import type { RollupConfiguration } from '../../core/server-sync/server-sync-model.js';
import { createRollupStore, type StatusRecord } from '../../store/rollup.store.js';
import type { UpstreamRoleDeps } from './upstream-role.deps.js';
import type { UpstreamAuth } from './upstream-auth.js';
import type { ChangedComputer, ComputerRollup, ComputerStatusRollup, DssSession } from './upstream-role.types.js';

// Reporting rollup from downstream servers (MS-WSUSSS 3.1.4.13-3.1.4.17): stored as received,
// bounded by the batch sizes we announce. Timestamps are stored as the downstream sent them
// (clientTime is not used to correct clock skew).

export const ROLLUP_LIMITS = {
  downstreamServers: 5000,
  computers: 1500,
  outOfSyncComputers: 20000,
  computerStatus: 500,
} as const;

const MAX_COMPUTER_ID = 256;

// ComputerRollupDetails attributes: their presence means the downstream sent Details.
const DETAIL_FIELDS = ['FullDomainName', 'IPAddress', 'OSMajorVersion', 'ComputerMake', 'ClientVersion'];
const hasDetails = (fields: Record<string, string>): boolean =>
  Object.keys(fields).some((k) => k.startsWith('Details') || DETAIL_FIELDS.includes(k));

function checkIds(list: ReadonlyArray<{ computerId: string }>, param: string): void {
  if (list.some((c) => !c.computerId || c.computerId.length > MAX_COMPUTER_ID)) throw invalidParameters(param, 'ComputerId');
}

function toStatusRecord(c: ComputerStatusRollup): StatusRecord {
  const n = Number(c.fields.RollupNumber);
  return {
    computerId: c.computerId,
    rollupNumber: c.fields.RollupNumber !== undefined && Number.isSafeInteger(n) ? n : null,
    isFullRollup: (c.fields.IsFullRollup ?? '').toLowerCase() === 'true' || c.fields.IsFullRollup === '1',
    effectiveLastDetectionTime: c.fields.EffectiveLastDetectionTime ?? null,
    statuses: c.statuses.map((s) => ({ updateId: s.updateId, revisionNumber: s.revisionNumber, state: s.summarizationState, lastChangeTime: s.lastChangeTime })),
  };
}

export function createUpstreamRollup(deps: UpstreamRoleDeps, auth: UpstreamAuth) {
  const store = createRollupStore(deps.db);
  const { clock } = deps;

  return {
    rollupConfiguration(): RollupConfiguration {
      return {
        doDetailedRollup: true,
        rollupResetGuid: rollupResetGuid(deps.identity.serverId),
        serverId: deps.identity.serverId,
        rollupDownstreamServersMaxBatchSize: ROLLUP_LIMITS.downstreamServers,
        rollupComputersMaxBatchSize: ROLLUP_LIMITS.computers,
        getOutOfSyncComputersMaxBatchSize: ROLLUP_LIMITS.outOfSyncComputers,
        rollupComputerStatusMaxBatchSize: ROLLUP_LIMITS.computerStatus,
      };
    },

    rollupDownstreamServers(s: DssSession, _clientTime: string | null, servers: Array<Record<string, string>>): void {
      if (servers.length > ROLLUP_LIMITS.downstreamServers) throw invalidParameters('downstreamServers');
      auth.recordRollup(s, servers);
    },

    /**
     * NewParent (per spec) for computers new to us, or that moved to another parent, when the
     * record had no Details: the downstream then sends them. We never answer Deleted: this
     * server does not delete computers reported by its downstreams.
     */
    rollupComputers(s: DssSession, _clientTime: string | null, computers: ComputerRollup[]): ChangedComputer[] {
      if (computers.length > ROLLUP_LIMITS.computers) throw invalidParameters('computers');
      checkIds(computers, 'computers');
      const fresh = store.upsertComputers(s.serverId, computers, clock());
      const out = new Map<string, ChangedComputer>();
      for (const c of computers) {
        if (fresh.has(c.computerId) && !hasDetails(c.fields)) out.set(c.computerId, { computerId: c.computerId, change: 'NewParent' });
      }
      return [...out.values()];
    },

    /**
     * Computers whose last received RollupNumber differs from the downstream's, plus those we
     * never received (the spec ignores unknown ones; asking for them costs one full rollup and
     * heals a lost rollup). The downstream then sends their full status.
     */
    getOutOfSyncComputers(s: DssSession, _parentServerId: string | null, computers: Array<{ computerId: string; lastRollupNumber: number }>): string[] {
      if (computers.length > ROLLUP_LIMITS.outOfSyncComputers) throw invalidParameters('lastRollupNumbers');
      checkIds(computers, 'lastRollupNumbers');
      return store.outOfSync(s.serverId, computers);
    },

    rollupComputerStatus(s: DssSession, _clientTime: string | null, _parentServerId: string | null, computers: ComputerStatusRollup[]): boolean {
      if (computers.length > ROLLUP_LIMITS.computerStatus) throw invalidParameters('computers');
      checkIds(computers, 'computers');
      store.recordStatus(s.serverId, computers.map(toStatusRecord), clock());
      return true;
    },
  };
}
