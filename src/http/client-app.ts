import express from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../paths.js';
import { escapeText } from '../protocol/xml/escape.js';
import { bodyOnce, handleSoap, type SoapEndpointDeps } from './soap-endpoint.js';
import { normalizePath, soapServices, type SoapService } from './soap-services.js';
import { hostOf } from './request-host.js';
import type { ContentHandler } from './content-routes.js';
import type { Admission } from './admission.js';

// The client-facing listener: MS-WUSP SOAP services and the probes admins use. Nothing
// administrative is reachable from here.

export interface ClientAppOptions extends SoapEndpointDeps {
  serverVersion: string;
  /** /Content, /selfupdate and the anonymous check file; answered before Express, like SOAP */
  contentHandler?: ContentHandler;
  /** concurrency, queue and rate limits, and the shutdown drain (none: everything is served) */
  admission?: Admission;
}

function loadWsdl(service: SoapService): string | null {
  const file = join(projectRoot, 'wsdl', service.wsdlFile);
  return existsSync(file) ? readFileSync(file, 'utf8') : null;
}

/**
 * The listener's request handler. SOAP POSTs (the scan hot path) go straight to the SOAP
 * adapter; Express serves everything else. Measured on the delta-scan benchmark, routing the
 * POSTs through Express's router and middleware chain cost more per request than the whole
 * scan does, so they bypass it (see README, Performance); content downloads likewise.
 */
export function createClientHandler(opts: ClientAppOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const app = createClientApp(opts);
  const byPath = new Map<string, SoapService>();
  for (const s of soapServices) for (const p of s.paths) byPath.set(p, s);
  const { admission } = opts;
  const runSoap = (service: SoapService, req: IncomingMessage, res: ServerResponse, readBody?: () => Promise<Buffer>): Promise<void> =>
    handleSoap(service, req, res, opts, readBody).catch((e: unknown) => {
      opts.log.error('SOAP handler crashed', { error: (e as Error).stack });
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  return (req, res) => {
    if (admission?.refuseIfDraining(res)) return;
    if ((req.method === 'GET' || req.method === 'HEAD') && opts.contentHandler?.(req, res)) return;
    if (req.method === 'POST') {
      const service = byPath.get(normalizePath(req.url ?? '/').path);
      if (service) {
        if (admission) {
          const readBody = bodyOnce(req, opts.limits.maxBodyBytes);
          admission.soap(req, res, () => runSoap(service, req, res, readBody), readBody);
        } else {
          void runSoap(service, req, res);
        }
        return;
      }
    }
    app(req, res);
  };
}

export function createClientApp(opts: ClientAppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  const byPath = new Map<string, SoapService>();
  for (const s of soapServices) for (const p of s.paths) byPath.set(p, s);
  const wsdl = new Map(soapServices.map((s) => [s.name, loadWsdl(s)]));

  app.use((req, res, next) => {
    const { path, query } = normalizePath(req.url);
    const service = byPath.get(path);
    if (!service) {
      next();
      return;
    }
    if (req.method === 'POST') {
      handleSoap(service, req, res, opts).catch(next);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.status(405).set('Allow', 'GET, HEAD, POST').type('text/plain').send('method not allowed\n');
      return;
    }
    const url = `http://${hostOf(req)}${req.headers.host?.match(/:\d+$/)?.[0] ?? ''}${service.canonicalPath}`;
    if (/^wsdl$/i.test(query)) {
      const doc = wsdl.get(service.name);
      if (!doc) {
        res.status(404).type('text/plain').send('WSDL not installed\n');
        return;
      }
      res.type('text/xml; charset=utf-8').send(doc.replaceAll('{{SERVICE_URL}}', escapeText(url)));
      return;
    }
    // Admins probe these URLs with a browser; answer like an ASMX service page.
    res.type('text/html; charset=utf-8').send(
      `<!DOCTYPE html><html><head><title>${service.name}</title></head><body><h1>${service.name}</h1>` +
      `<p>This is a WSUS-compatible SOAP endpoint. Service description: <a href="?wsdl">WSDL</a>.</p></body></html>\n`,
    );
  });

  app.get(/^\/clientwebservice\/wusserverversion\.xml$/i, (_req, res) => {
    res.type('text/xml; charset=utf-8').send(
      `<?xml version="1.0" encoding="utf-8"?><ServerVersion><Version>${escapeText(opts.serverVersion)}</Version>` +
      '<ProtocolVersion>3.2</ProtocolVersion></ServerVersion>',
    );
  });

  app.use((_req, res) => {
    res.status(404).type('text/plain').send('not found\n');
  });
  return app;
}
