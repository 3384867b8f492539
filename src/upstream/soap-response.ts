import { readXml, XmlSyntaxError } from '../protocol/xml/strict-xml-reader.js';
import { child, type XmlElement } from '../protocol/xml/xml-element.js';
import { SOAP11_NS } from '../protocol/soap/namespaces.js';

// Reading an upstream's SOAP answer: the strict reader (no DTDs, bounded), the Body's first
// child, and the fault in either spelling seen in practice: WSUS (ASMX) puts ErrorCode and
// Message in unqualified `detail` children (captures 000017-000019); Microsoft Update (WCF)
// names the code only in the fault reason text, which is how Microsoft's own client
// (update-server-server-sync UpstreamServerExceptions.cs) recognises it.

/** Depth and element limits large enough for a 3 MB GetRevisionIdList (50,000+ identities, 3 elements each). */
export const RESPONSE_LIMITS = { maxDepth: 64, maxElements: 5_000_000, maxAttributes: 64 };

/** The body is not the SOAP the operation should answer (malformed XML or a missing element). */
export class ResponseShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResponseShapeError';
  }
}

export interface SoapFault {
  faultcode: string;
  faultstring: string;
  /** MS-WSUSSS ErrorCode; '' when the fault names none */
  errorCode: string;
  message: string;
}

/** The MS-WSUSSS / MS-WUSP ErrorCode values ([MS-WSUSSS] 2.2.9.3, PROTOCOL.md 3). */
const KNOWN_CODES = [
  'InvalidAuthorizationCookie', 'IncompatibleProtocolVersion', 'InternalServerError', 'InvalidParameters', 'InvalidCookie',
  'CookieExpired', 'ServerChanged', 'ServerBusy', 'FileDigestsMissing', 'ConfigChanged', 'FileLocationChanged',
  'RegistrationRequired', 'RegistrationNotRequired',
];

export type SoapAnswer = { fault: SoapFault; op?: undefined } | { op: XmlElement; fault?: undefined };

function descendant(el: XmlElement | undefined, local: string, depth = 4): XmlElement | undefined {
  if (!el || depth < 0) return undefined;
  for (const c of el.children) {
    if (c.local === local) return c;
    const d = descendant(c, local, depth - 1);
    if (d) return d;
  }
  return undefined;
}

function readFault(f: XmlElement): SoapFault {
  // SOAP 1.1 spelling first; SOAP 1.2 (Code/Value, Reason/Text, Detail) as a fallback.
  const faultcode = (child(f, 'faultcode')?.text ?? descendant(child(f, 'Code'), 'Value')?.text ?? '').trim();
  const faultstring = (child(f, 'faultstring')?.text ?? descendant(child(f, 'Reason'), 'Text')?.text ?? '').trim();
  const detail = child(f, 'detail') ?? child(f, 'Detail');
  let errorCode = descendant(detail, 'ErrorCode')?.text.trim() ?? '';
  if (!errorCode) errorCode = KNOWN_CODES.find((c) => faultstring.includes(c)) ?? '';
  return { faultcode, faultstring, errorCode, message: descendant(detail, 'Message')?.text.trim() ?? '' };
}

/** Parses a response body: the fault it carries, or the operation response element. */
export function readSoapAnswer(text: string): SoapAnswer {
  let root: XmlElement;
  try {
    root = readXml(text, RESPONSE_LIMITS);
  } catch (e) {
    if (e instanceof XmlSyntaxError) throw new ResponseShapeError(`malformed XML: ${e.message}`);
    throw e;
  }
  if (root.local !== 'Envelope') throw new ResponseShapeError('answer is not a SOAP envelope');
  const body = root.children.find((c) => c.local === 'Body');
  const first = body?.children[0];
  if (!first) throw new ResponseShapeError('SOAP Body is empty');
  if (first.local === 'Fault' && (first.ns === SOAP11_NS || first.ns.endsWith('/soap-envelope'))) return { fault: readFault(first) };
  return { op: first };
}

/** The `<op>Response` element of an answer that is not a fault. */
export function expectResponse(answer: { op: XmlElement }, op: string): XmlElement {
  if (answer.op.local !== `${op}Response`) throw new ResponseShapeError(`expected ${op}Response, got ${answer.op.local}`);
  return answer.op;
}
