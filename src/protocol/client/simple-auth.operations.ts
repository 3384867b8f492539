import { SIMPLE_AUTH_NS } from '../soap/namespaces.js';
import { text } from './request-readers.js';
import type { OperationHandler } from './operation-context.js';

export const getAuthorizationCookie: OperationHandler = (op, ctx) => {
  const data = ctx.services.sessions.getAuthorizationCookie(text(op, 'clientId'), text(op, 'targetGroupName'), text(op, 'dnsName'));
  return `<GetAuthorizationCookieResponse xmlns="${SIMPLE_AUTH_NS}"><GetAuthorizationCookieResult>` +
    `<PlugInId>SimpleTargeting</PlugInId><CookieData>${data}</CookieData></GetAuthorizationCookieResult></GetAuthorizationCookieResponse>`;
};
