import type { OperationHandler } from '../client/operation-context.js';
import { optionalText } from './server-sync-readers.js';
import { dssAuthorizationCookieResponse } from './server-sync-writers.js';
import { upstreamRole } from './role-guard.js';

// DssAuthWebService GetAuthorizationCookie ([MS-WSUSSS] 3.1.4.2; request as in capture
// 000002: accountName, accountGuid; programKeys is reserved and ignored). The service
// validates both strings and answers InvalidParameters itself (WSUS names `machineName`).
export const getDssAuthorizationCookie: OperationHandler = (op, ctx) => {
  const accountName = optionalText(op, 'accountName')?.trim();
  const accountGuid = optionalText(op, 'accountGuid')?.trim();
  return dssAuthorizationCookieResponse(upstreamRole(ctx).authorize(accountName, accountGuid, ctx.address));
};
