import type { DssSession, UpstreamRoleService } from '../../services/upstream-role/upstream-role.types.js';
import type { OperationHandler } from '../client/operation-context.js';
import { cookieData, optionalGuid, optionalToken } from './server-sync-readers.js';
import {
  outOfSyncComputersResponse, readComputerStatuses, readComputers, readDownstreamServers, readLastRollupNumbers,
  rollupComputerStatusResponse, rollupComputersResponse, rollupConfigurationResponse, rollupDownstreamServersResponse,
} from './rollup-wire.js';
import { upstreamRole } from './role-guard.js';

// Reporting rollup from a downstream ([MS-WSUSSS] 3.1.4.11-3.1.4.17, protocol >= 1.3).
// GetRollupConfiguration needs no session (the contract's rollupConfiguration() takes none).
// The others: a WSUS downstream sends the spec's dummy cookie (empty EncryptedData,
// [MS-WSUSSS] 3.2.4.5), which open() rightly refuses, so the service's rollupSession is given
// the server ids the request claims instead. Batch bounds: WSUS announces
// 5000 / 1500 / 20000 / 500 (PROTOCOL.md 4.4); the parser refuses more than 4x that.

function session(role: UpstreamRoleService, data: string | null, claimed: ReadonlyArray<string | null | undefined>): DssSession {
  return role.rollupSession(data, claimed.filter((c): c is string => typeof c === 'string' && c !== '').map((c) => c.toLowerCase()));
}

const MAX_SERVERS = 20_000;
const MAX_COMPUTERS = 80_000;
const MAX_STATUSES_PER_COMPUTER = 100_000;

export const getRollupConfiguration: OperationHandler = (_op, ctx) =>
  rollupConfigurationResponse(upstreamRole(ctx).rollupConfiguration());

export const rollupDownstreamServers: OperationHandler = (op, ctx) => {
  const role = upstreamRole(ctx);
  const servers = readDownstreamServers(op, MAX_SERVERS);
  const s = session(role, cookieData(op), servers.flatMap((r) => [r.ServerId, r.ParentServerId]));
  role.rollupDownstreamServers(s, optionalToken(op, 'clientTime'), servers);
  return rollupDownstreamServersResponse();
};

export const rollupComputers: OperationHandler = (op, ctx) => {
  const role = upstreamRole(ctx);
  const computers = readComputers(op, MAX_COMPUTERS);
  const s = session(role, cookieData(op), computers.map((c) => c.fields.ParentServerId));
  return rollupComputersResponse(role.rollupComputers(s, optionalToken(op, 'clientTime'), computers));
};

export const getOutOfSyncComputers: OperationHandler = (op, ctx) => {
  const role = upstreamRole(ctx);
  const parent = optionalGuid(op, 'parentServerId', 'parentServerId');
  const s = session(role, cookieData(op), [parent]);
  return outOfSyncComputersResponse(role.getOutOfSyncComputers(s, parent, readLastRollupNumbers(op, MAX_COMPUTERS)));
};

export const rollupComputerStatus: OperationHandler = (op, ctx) => {
  const role = upstreamRole(ctx);
  const parent = optionalGuid(op, 'parentServerId', 'parentServerId');
  const s = session(role, cookieData(op), [parent]);
  const computers = readComputerStatuses(op, MAX_COMPUTERS, MAX_STATUSES_PER_COMPUTER);
  return rollupComputerStatusResponse(role.rollupComputerStatus(s, optionalToken(op, 'clientTime'), parent, computers));
};
