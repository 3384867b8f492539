import { readXml, XmlSyntaxError, type ReaderLimits } from '../xml/strict-xml-reader.js';
import type { XmlElement } from '../xml/xml-element.js';
import { SOAP11_NS } from './namespaces.js';

export class SoapEnvelopeError extends Error {
  constructor(message: string, readonly faultcode: 'Client' | 'VersionMismatch' = 'Client') {
    super(message);
    this.name = 'SoapEnvelopeError';
  }
}

/** Returns the operation element: the first child of Body. Headers are ignored (MS-WUSP defines none). */
export function readEnvelope(text: string, limits: ReaderLimits, bytes?: Uint8Array): XmlElement {
  let root: XmlElement;
  try {
    root = readXml(text, limits, bytes);
  } catch (e) {
    if (e instanceof XmlSyntaxError) throw new SoapEnvelopeError(`malformed XML: ${e.message}`);
    throw e;
  }
  if (root.local !== 'Envelope') throw new SoapEnvelopeError('document element is not a SOAP Envelope');
  if (root.ns !== SOAP11_NS) throw new SoapEnvelopeError(`unsupported SOAP envelope namespace "${root.ns}"`, 'VersionMismatch');
  const body = root.children.find((c) => c.local === 'Body' && c.ns === SOAP11_NS);
  if (!body) throw new SoapEnvelopeError('SOAP Body missing');
  const op = body.children[0];
  if (!op) throw new SoapEnvelopeError('SOAP Body is empty');
  return op;
}

export type EnvelopeStyle = 'client' | 'asmx';

const XSI_XSD = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"';

// The two envelope spellings real WSUS uses: the client service writes `s:` with the schema
// namespaces on Body; the ASMX services (SimpleAuth, Reporting) write an XML declaration and `soap:`.
export function wrapResponse(style: EnvelopeStyle, inner: string): string {
  if (style === 'client') {
    return `<s:Envelope xmlns:s="${SOAP11_NS}"><s:Body ${XSI_XSD}>${inner}</s:Body></s:Envelope>`;
  }
  return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${SOAP11_NS}" ${XSI_XSD}><soap:Body>${inner}</soap:Body></soap:Envelope>`;
}
