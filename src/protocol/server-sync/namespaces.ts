// MS-WSUSSS namespaces ([MS-WSUSSS] 2.2.1 and Appendix A). ServerSync and the rollup half of
// the Reporting service share the plain SoftwareDistribution namespace; DssAuth has its own.

export const SERVER_SYNC_NS = 'http://www.microsoft.com/SoftwareDistribution';
export const DSS_AUTH_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService';

/** The quoted SOAPAction WSUS expects (and echoes in fault `Method`). */
export const serverSyncAction = (op: string): string => `"${SERVER_SYNC_NS}/${op}"`;
export const DSS_AUTH_ACTION = `"${DSS_AUTH_NS}/GetAuthorizationCookie"`;

/** Fixed AuthInfo of GetAuthConfig: WSUS and Microsoft Update both answer exactly this (capture 000001). */
export const DSS_PLUGIN_ID = 'DssTargeting';
export const DSS_AUTH_RELATIVE_URL = 'DssAuthWebService/DssAuthWebService.asmx';

export const SERVER_SYNC_PATH = '/ServerSyncWebService/ServerSyncWebService.asmx';
export const DSS_AUTH_PATH = '/DssAuthWebService/DssAuthWebService.asmx';
export const REPORTING_PATH = '/ReportingWebService/ReportingWebService.asmx';
