import type { Limits } from '../../config/config.js';
import type { ClientSessionService } from '../../services/client-session.service.js';
import type { ScanService } from '../../services/scan.service.js';
import type { UpdateInfoService } from '../../services/update-info.service.js';
import type { ReportingService } from '../../services/reporting.service.js';
import type { XmlElement } from '../xml/xml-element.js';

export interface ClientServices {
  sessions: ClientSessionService;
  scan: ScanService;
  info: UpdateInfoService;
  reporting: ReportingService;
}

export interface OperationContext {
  services: ClientServices;
  /** host name the client used (Host header without port), for content URLs */
  host: string;
  address: string | null;
  limits: Limits;
}

/** Reads the operation element, calls one service function, returns the response element XML. */
export type OperationHandler = (op: XmlElement, ctx: OperationContext) => string;
