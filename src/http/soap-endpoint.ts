import type { IncomingMessage, ServerResponse } from 'node:http';
import { DomainError } from '../core/errors.js';
import type { Limits } from '../config/config.js';
import type { Logger } from '../logger.js';
import { decodeBody } from '../protocol/xml/strict-xml-reader.js';
import { readEnvelope, SoapEnvelopeError, wrapResponse } from '../protocol/soap/envelope.js';
import { writeFault } from '../protocol/soap/fault.js';
import { xpressCompress, xpressDecompress } from '../protocol/xpress/index.js';
import type { OperationContext, OperationHandler, ClientServices } from '../protocol/client/operation-context.js';
import type { SoapService } from './soap-services.js';
import { readBoundedBody, HttpError } from './read-body.js';
import { hostOf } from './request-host.js';

// The SOAP adapter: bounded body → optional xpress decode → strict parse → one operation
// handler → envelope → optional xpress encode. Every failure leaves as the fault shape real
// WSUS uses, or as an HTTP status when the request never was SOAP.

const INT_ARRAYS: ReadonlySet<string> = new Set([
  'InstalledNonLeafUpdateIDs', 'OtherCachedUpdateIDs', 'CachedDriverIDs', 'revisionIDs', 'printerUpdateIDs', 'installedNonLeafUpdateIDs',
]);

export interface SoapEndpointDeps {
  services: ClientServices;
  limits: Limits;
  log: Logger;
}

export function acceptsXpress(req: IncomingMessage): boolean {
  const ae = req.headers['accept-encoding'];
  return typeof ae === 'string' && /(^|[\s,])xpress($|[\s,;])/i.test(ae);
}

function send(req: IncomingMessage, res: ServerResponse, status: number, xml: string): void {
  let body: Buffer = Buffer.from(xml, 'utf8');
  // One writeHead with all headers: cheaper than a setHeader call per header on the hot path.
  const headers: string[] = ['Content-Type', 'text/xml; charset=utf-8', 'Cache-Control', 'private', 'Vary', 'Accept-Encoding'];
  if (acceptsXpress(req)) {
    body = xpressCompress(body);
    headers.push('Content-Encoding', 'xpress');
  }
  headers.push('Content-Length', String(body.length));
  res.writeHead(status, headers);
  res.end(body);
}

function faultCodeFor(code: string): 'Client' | 'Server' {
  return code === 'InternalServerError' || code === 'ServerBusy' ? 'Server' : 'Client';
}

/** The request body, read once: admission control may start reading it while the request waits for a slot. */
export function bodyOnce(req: IncomingMessage, limit: number): () => Promise<Buffer> {
  let read: Promise<Buffer> | null = null;
  return () => {
    if (!read) {
      read = readBoundedBody(req, limit);
      // Whoever awaits it handles the failure; until then it must not count as unhandled.
      read.catch(() => undefined);
    }
    return read;
  };
}

export async function handleSoap(
  service: SoapService, req: IncomingMessage, res: ServerResponse, deps: SoapEndpointDeps,
  readBody: () => Promise<Buffer> = () => readBoundedBody(req, deps.limits.maxBodyBytes),
): Promise<void> {
  const soapAction = typeof req.headers.soapaction === 'string' ? req.headers.soapaction : '';
  const fault = (errorCode: string, message: string, faultcode: 'Client' | 'Server' | 'VersionMismatch' = faultCodeFor(errorCode)): void => {
    const actor = `http://${req.headers.host ?? hostOf(req)}${service.canonicalPath}`;
    send(req, res, 500, writeFault({ style: service.style, faultcode, errorCode, message, soapAction, actor }));
  };
  const address = req.socket.remoteAddress ?? null;

  let body: Buffer;
  try {
    const contentType = String(req.headers['content-type'] ?? '').toLowerCase();
    if (!contentType.startsWith('text/xml')) throw new HttpError(415, 'SOAP 1.1 requests must be text/xml');
    body = await readBody();
    const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding === 'xpress') body = xpressDecompress(body, deps.limits.maxDecompressedBytes);
    else if (encoding !== 'identity') throw new HttpError(415, `unsupported Content-Encoding ${encoding}`);
  } catch (e) {
    // A bad xpress body, like any other unreadable body, is the client's 400.
    const status = e instanceof HttpError ? e.status : 400;
    deps.log.warn('request refused before SOAP', { service: service.name, status, reason: (e as Error).message, address });
    res.statusCode = status;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Connection', 'close');
    res.end(`${(e as Error).message}\n`);
    req.resume();
    return;
  }

  let op;
  try {
    op = readEnvelope(decodeBody(body), {
      maxDepth: deps.limits.maxXmlDepth,
      maxElements: deps.limits.maxXmlElements,
      maxAttributes: 64,
      intArrayElements: INT_ARRAYS,
    }, body);
  } catch (e) {
    const message = (e as Error).message;
    deps.log.warn('malformed SOAP request', { service: service.name, reason: message, address });
    fault('InvalidParameters', 'request', e instanceof SoapEnvelopeError && e.faultcode === 'VersionMismatch' ? 'VersionMismatch' : 'Client');
    return;
  }

  // Own properties only: `constructor`, `toString`, `__proto__` are names a client can send.
  const handler: OperationHandler | undefined = op.ns === service.namespace && Object.hasOwn(service.operations, op.local) ? service.operations[op.local] : undefined;
  if (!handler) {
    deps.log.warn('unknown SOAP operation', { service: service.name, operation: op.local, namespace: op.ns, address });
    fault('InvalidParameters', 'operation');
    return;
  }
  const ctx: OperationContext = { services: deps.services, host: hostOf(req), address, limits: deps.limits };
  try {
    const result = handler(op, ctx);
    send(req, res, 200, wrapResponse(service.style, typeof result === 'string' ? result : await result));
  } catch (e) {
    if (e instanceof DomainError) {
      const level = e.code === 'InvalidParameters' ? 'warn' : 'info';
      deps.log.log(level, 'SOAP fault', { service: service.name, operation: op.local, code: e.code, detail: e.message, address });
      // Message: the parameter for InvalidParameters; the missing digests (joined by `|`) for
      // MS-WSUSSS FileDigestsMissing; empty otherwise, as WSUS sends.
      fault(e.code, e.code === 'InvalidParameters' || e.code === 'FileDigestsMissing' ? e.detail : '');
      return;
    }
    deps.log.error('operation failed', { service: service.name, operation: op.local, error: (e as Error).stack, address });
    fault('InternalServerError', '');
  }
}
