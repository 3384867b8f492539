import { CLIENT_NS, REPORTING_NS, SIMPLE_AUTH_NS } from '../protocol/soap/namespaces.js';
import type { EnvelopeStyle } from '../protocol/soap/envelope.js';
import type { OperationHandler } from '../protocol/client/operation-context.js';
import { getConfig, getCookie, registerComputer } from '../protocol/client/handshake.operations.js';
import { refreshCache, startCategoryScan, syncPrinterCatalog, syncUpdates } from '../protocol/client/scan.operations.js';
import { getExtendedUpdateInfo, getExtendedUpdateInfo2, getFileLocations } from '../protocol/client/info.operations.js';
import { getAuthorizationCookie } from '../protocol/client/simple-auth.operations.js';
import { reportEventBatch } from '../protocol/client/reporting.operations.js';
import { DSS_AUTH_NS, SERVER_SYNC_NS } from '../protocol/server-sync/namespaces.js';
import {
  downloadFiles, getAuthConfig, getConfigData, getCookie as getSyncCookie, getDeployments, getRelatedRevisionsForUpdates,
  getRevisionIdList, getUpdateData, getUpdateDecryptionData,
} from '../protocol/server-sync/server-sync.operations.js';
import { getDssAuthorizationCookie } from '../protocol/server-sync/dss-auth.operations.js';
import {
  getOutOfSyncComputers, getRollupConfiguration, rollupComputerStatus, rollupComputers, rollupDownstreamServers,
} from '../protocol/server-sync/rollup.operations.js';

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
    operations: {
      ReportEventBatch: reportEventBatch,
      // MS-WSUSSS reporting rollup from downstream servers (upstream role; see server-sync/rollup.operations.ts)
      GetRollupConfiguration: getRollupConfiguration,
      RollupDownstreamServers: rollupDownstreamServers,
      RollupComputers: rollupComputers,
      GetOutOfSyncComputers: getOutOfSyncComputers,
      RollupComputerStatus: rollupComputerStatus,
    },
  },
  // MS-WSUSSS upstream role. When ClientServices.upstreamRole is absent every operation below
  // answers like an unknown operation (server-sync/role-guard.ts).
  {
    name: 'ServerSyncWebService',
    paths: ['/serversyncwebservice/serversyncwebservice.asmx'],
    canonicalPath: '/ServerSyncWebService/ServerSyncWebService.asmx',
    namespace: SERVER_SYNC_NS,
    style: 'asmx',
    wsdlFile: 'serversync.wsdl',
    operations: {
      GetAuthConfig: getAuthConfig,
      GetCookie: getSyncCookie,
      GetConfigData: getConfigData,
      GetRevisionIdList: getRevisionIdList,
      GetUpdateData: getUpdateData,
      GetUpdateDecryptionData: getUpdateDecryptionData,
      GetDeployments: getDeployments,
      DownloadFiles: downloadFiles,
      GetRelatedRevisionsForUpdates: getRelatedRevisionsForUpdates,
    },
  },
  {
    name: 'DssAuthWebService',
    paths: ['/dssauthwebservice/dssauthwebservice.asmx'],
    canonicalPath: '/DssAuthWebService/DssAuthWebService.asmx',
    namespace: DSS_AUTH_NS,
    style: 'asmx',
    wsdlFile: 'dssauth.wsdl',
    operations: { GetAuthorizationCookie: getDssAuthorizationCookie },
  },
];

/** Lower-cases and collapses doubled slashes, as IIS does for the paths WSUS clients and servers send. */
export function normalizePath(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  const path = (q >= 0 ? url.slice(0, q) : url).replace(/\/{2,}/g, '/').toLowerCase();
  return { path, query: q >= 0 ? url.slice(q + 1) : '' };
}
