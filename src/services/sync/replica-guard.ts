import type { ServerConfig } from '../../config/config.js';
import { DomainError } from '../../core/errors.js';

// A replica's approvals, declines and groups belong to its upstream (WSUS replica mode): local
// changes would be overwritten by the next sync, so the admin commands refuse them up front.

export function assertLocalChangesAllowed(config: Pick<ServerConfig, 'sync'>): void {
  if (config.sync.mode === 'replica') {
    throw new DomainError('Conflict', 'replica',
      `this server is a replica of ${config.sync.upstream}: approvals, declines and groups come from the upstream`);
  }
}
