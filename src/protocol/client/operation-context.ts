import type { Limits } from '../../config/config.js';
import type { ClientSessionService } from '../../services/client-session.service.js';
import type { ScanService } from '../../services/scan.service.js';
import type { UpdateInfoService } from '../../services/update-info.service.js';
import type { ReportingService } from '../../services/reporting.service.js';
import type { UpstreamRoleService } from '../../services/upstream-role/upstream-role.types.js';
import type { XmlElement } from '../xml/xml-element.js';

export interface ClientServices {
  sessions: ClientSessionService;
  scan: ScanService;
  info: UpdateInfoService;
  reporting: ReportingService;
  /**
   * This server as an upstream (MS-WSUSSS: ServerSyncWebService, DssAuthWebService and the
   * rollup operations of ReportingWebService). Absent = role disabled: those operations then
   * answer exactly like an operation this server does not have.
   */
  upstreamRole?: UpstreamRoleService;
  /**
   * Upstream role: send update documents above 5,120 bytes (UTF-16) as XmlUpdateBlobCompressed
   * (LZX cabinet), as WSUS does (config upstreamRole.compressBlobs). Default false: always the
   * plain XmlUpdateBlob, which every downstream also accepts.
   */
  compressBlobs?: boolean;
}

export interface OperationContext {
  services: ClientServices;
  /** host name the client used (Host header without port), for content URLs */
  host: string;
  address: string | null;
  limits: Limits;
}

/**
 * Reads the operation element, calls one service function, returns the response element XML
 * (a promise only where the service hands work to another thread: ReportEventBatch).
 */
export type OperationHandler = (op: XmlElement, ctx: OperationContext) => string | Promise<string>;
