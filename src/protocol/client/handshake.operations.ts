import { DomainError } from '../../core/errors.js';
import { escapeText } from '../xml/escape.js';
import { child, children } from '../xml/xml-element.js';
import { CLIENT_NS } from '../soap/namespaces.js';
import { cookieData, int, present, requireText, text } from './request-readers.js';
import { cookieXml } from './response-writers.js';
import type { OperationHandler } from './operation-context.js';

export const getConfig: OperationHandler = (op, ctx) => {
  const cfg = ctx.services.sessions.getConfig(text(op, 'protocolVersion'));
  const props = cfg.properties
    .map(([n, v]) => `<ConfigurationProperty><Name>${escapeText(n)}</Name><Value>${escapeText(v)}</Value></ConfigurationProperty>`)
    .join('');
  return `<GetConfigResponse xmlns="${CLIENT_NS}"><GetConfigResult><LastChange>${cfg.lastChange}</LastChange>` +
    `<IsRegistrationRequired>${cfg.isRegistrationRequired}</IsRegistrationRequired>` +
    '<AuthInfo><AuthPlugInInfo><PlugInID>SimpleTargeting</PlugInID><ServiceUrl>SimpleAuthWebService/SimpleAuth.asmx</ServiceUrl><Parameter/></AuthPlugInInfo></AuthInfo>' +
    `<Properties>${props}</Properties></GetConfigResult></GetConfigResponse>`;
};

export const getCookie: OperationHandler = (op, ctx) => {
  const auth = child(op, 'authCookies');
  const authCookies = present(auth)
    ? children(auth, 'AuthorizationCookie').map((a) => ({ plugInId: text(a, 'PlugInId') ?? '', cookieData: text(a, 'CookieData') ?? '' }))
    : [];
  const cookie = ctx.services.sessions.getCookie(authCookies, cookieData(op, 'oldCookie'), text(op, 'lastChange'), text(op, 'protocolVersion'));
  return `<GetCookieResponse xmlns="${CLIENT_NS}">${cookieXml('GetCookieResult', cookie)}</GetCookieResponse>`;
};

const optionalInt = (el: Parameters<typeof int>[0], name: string): number | undefined => {
  const v = text(el, name);
  return v !== undefined && /^-?\d{1,10}$/.test(v.trim()) ? Number(v.trim()) : undefined;
};

// Computer information is informational: kept for reports, bounded in size, never trusted.
const clip = (v: string | undefined): string | undefined => (v === undefined ? undefined : v.slice(0, 256));

export const registerComputer: OperationHandler = (op, ctx) => {
  const cookie = ctx.services.sessions.authenticate(cookieData(op, 'cookie'), { checkConfig: false });
  const info = child(op, 'computerInfo');
  if (!present(info)) throw new DomainError('InvalidParameters', 'computerInfo');
  const ver = ['ClientVersionMajorNumber', 'ClientVersionMinorNumber', 'ClientVersionBuildNumber', 'ClientVersionQfeNumber']
    .map((n) => optionalInt(info, n) ?? 0).join('.');
  ctx.services.sessions.registerComputer(cookie, {
    dnsName: requireText(info, 'DnsName', 'computerInfo.DnsName').slice(0, 255),
    osMajor: optionalInt(info, 'OSMajorVersion'),
    osMinor: optionalInt(info, 'OSMinorVersion'),
    osBuild: optionalInt(info, 'OSBuildNumber'),
    osSpMajor: optionalInt(info, 'OSServicePackMajorNumber'),
    osLocale: clip(text(info, 'OSLocale')),
    osDescription: clip(text(info, 'OSDescription')),
    manufacturer: clip(text(info, 'ComputerManufacturer')),
    model: clip(text(info, 'ComputerModel')),
    biosVersion: clip(text(info, 'BiosVersion')),
    biosName: clip(text(info, 'BiosName')),
    biosReleaseDate: clip(text(info, 'BiosReleaseDate')),
    processorArchitecture: clip(text(info, 'ProcessorArchitecture')),
    clientVersion: ver,
  }, ctx.address);
  return `<RegisterComputerResponse xmlns="${CLIENT_NS}"/>`;
};
