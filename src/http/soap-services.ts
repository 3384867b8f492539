import { CLIENT_NS, REPORTING_NS, SIMPLE_AUTH_NS } from '../protocol/soap/namespaces.js';
import type { EnvelopeStyle } from '../protocol/soap/envelope.js';
import type { OperationHandler } from '../protocol/client/operation-context.js';
import { getConfig, getCookie, registerComputer } from '../protocol/client/handshake.operations.js';
import { refreshCache, startCategoryScan, syncPrinterCatalog, syncUpdates } from '../protocol/client/scan.operations.js';
import { getExtendedUpdateInfo, getExtendedUpdateInfo2, getFileLocations } from '../protocol/client/info.operations.js';
import { getAuthorizationCookie } from '../protocol/client/simple-auth.operations.js';
import { reportEventBatch } from '../protocol/client/reporting.operations.js';

export interface SoapService {
  name: string;
  /** lower-case paths this service answers on */
  paths: string[];
  canonicalPath: string;
  namespace: string;
  style: EnvelopeStyle;
  wsdlFile: string;
  operations: Record<string, OperationHandler>;
}

export const soapServices: SoapService[] = [
  {
    name: 'ClientWebService',
    paths: ['/clientwebservice/client.asmx'],
    canonicalPath: '/ClientWebService/client.asmx',
    namespace: CLIENT_NS,
    style: 'client',
    wsdlFile: 'client.wsdl',
    operations: {
      GetConfig: getConfig,
      GetCookie: getCookie,
      RegisterComputer: registerComputer,
      StartCategoryScan: startCategoryScan,
      SyncUpdates: syncUpdates,
      SyncPrinterCatalog: syncPrinterCatalog,
      RefreshCache: refreshCache,
      GetExtendedUpdateInfo: getExtendedUpdateInfo,
      GetExtendedUpdateInfo2: getExtendedUpdateInfo2,
      GetFileLocations: getFileLocations,
    },
  },
  {
    name: 'SimpleAuthWebService',
    paths: ['/simpleauthwebservice/simpleauth.asmx'],
    canonicalPath: '/SimpleAuthWebService/SimpleAuth.asmx',
    namespace: SIMPLE_AUTH_NS,
    style: 'asmx',
    wsdlFile: 'simpleauth.wsdl',
    operations: { GetAuthorizationCookie: getAuthorizationCookie },
  },
  {
    name: 'ReportingWebService',
    paths: ['/reportingwebservice/reportingwebservice.asmx', '/reportingwebservice/webservice.asmx'],
    canonicalPath: '/ReportingWebService/ReportingWebService.asmx',
    namespace: REPORTING_NS,
    style: 'asmx',
    wsdlFile: 'reporting.wsdl',
    operations: { ReportEventBatch: reportEventBatch },
  },
];

/** Lower-cases and collapses doubled slashes, as IIS does for the paths WSUS clients and servers send. */
export function normalizePath(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  const path = (q >= 0 ? url.slice(0, q) : url).replace(/\/{2,}/g, '/').toLowerCase();
  return { path, query: q >= 0 ? url.slice(q + 1) : '' };
}
