import { DomainError } from '../../core/errors.js';
import type { UpstreamRoleService } from '../../services/upstream-role/upstream-role.types.js';
import type { OperationContext } from '../client/operation-context.js';

/**
 * The upstream-role service, or — when the role is disabled — the very fault handleSoap sends
 * for an operation it does not know (InvalidParameters / `operation`), so a disabled role is
 * indistinguishable from a server without it at the SOAP level.
 */
export function upstreamRole(ctx: OperationContext): UpstreamRoleService {
  const role = ctx.services.upstreamRole;
  if (!role) throw new DomainError('InvalidParameters', 'operation', 'upstream role disabled');
  return role;
}
