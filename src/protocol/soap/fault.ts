import { randomUUID } from 'node:crypto';
import { escapeText } from '../xml/escape.js';
import { SOAP11_NS } from './namespaces.js';
import type { EnvelopeStyle } from './envelope.js';

export interface FaultSpec {
  style: EnvelopeStyle;
  /** `Client` for the client's mistakes, `Server` for InternalServerError (as WSUS sends) */
  faultcode: 'Client' | 'Server' | 'VersionMismatch';
  errorCode: string;
  message: string;
  /** the quoted SOAPAction, echoed in `Method` */
  soapAction: string;
  /** endpoint URL; ASMX services send it, the client service does not */
  actor?: string;
}

/** The fault shape real WSUS sends: unqualified detail children ErrorCode, Message, ID, Method. */
export function writeFault(f: FaultSpec): string {
  const detail =
    `<detail><ErrorCode>${escapeText(f.errorCode)}</ErrorCode><Message>${escapeText(f.message)}</Message>` +
    `<ID>${randomUUID()}</ID><Method>${escapeText(f.soapAction)}</Method></detail>`;
  if (f.style === 'client') {
    return `<s:Envelope xmlns:s="${SOAP11_NS}"><s:Body><s:Fault><faultcode>s:${f.faultcode}</faultcode>` +
      `<faultstring>Fault occurred</faultstring>${detail}</s:Fault></s:Body></s:Envelope>`;
  }
  const actor = f.actor ? `<faultactor>${escapeText(f.actor)}</faultactor>` : '';
  return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${SOAP11_NS}" ` +
    `xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">` +
    `<soap:Body><soap:Fault><faultcode>soap:${f.faultcode}</faultcode><faultstring>Fault occurred</faultstring>` +
    `${actor}${detail}</soap:Fault></soap:Body></soap:Envelope>`;
}
