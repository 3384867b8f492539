import { randomBytes, randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { DeploymentsResult } from '../../src/core/server-sync/server-sync-model.js';
import { readEnvelope } from '../../src/protocol/soap/envelope.js';
import { child, children, type XmlElement } from '../../src/protocol/xml/xml-element.js';
import { cookieData, identityList, optionalText, readFilter } from '../../src/protocol/server-sync/server-sync-readers.js';
import { decryptionDataResponse, deploymentsResponse } from '../../src/protocol/server-sync/server-sync-writers.js';
import { rollupConfigurationResponse } from '../../src/protocol/server-sync/rollup-wire.js';
import { xpressCompress } from '../../src/protocol/xpress/index.js';
import {
  ANCHOR_RE, asmxEnvelope, dotnetTime, recordedDocuments, shapes, updateDataBody, wsusAnchor, type RecordedDocument,
} from './recorded-shapes.js';

// An upstream that answers in the real shapes recorded in ../shared/captures/wsus-m0-wsusss:
// the handshake, GetConfigData (000005/000004), GetRevisionIdList (categories of docs/ for
// GetConfig=true, the other documents for GetConfig=false), GetUpdateData for the 9 documents
// (000013-000016 verbatim, the others in the same shape), the recorded fault shapes, and fault
// injection for the unhappy paths. It stands in for a WSUS or Microsoft Update upstream in
// loopback tests of the downstream side. Check `wsusssPresent` (recorded-shapes.ts) first.

export interface UpstreamCall {
  operation: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** the answer went out xpress-compressed */
  xpress: boolean;
}

export interface RecordedUpstreamOptions {
  /** serve HTTPS with this certificate (PEM) */
  tls?: { certPem: string; keyPem: string };
  /** answer with xpress when the request asks for it (default true, as WSUS does) */
  xpress?: boolean;
  /** the GetDeployments answer (default: no groups, no deployments) */
  deployments?: DeploymentsResult;
  /** the answer to a GetCookie oldCookie this identity did not issue (default ServerChanged; InvalidCookie = cannot even read it) */
  foreignOldCookie?: 'ServerChanged' | 'InvalidCookie';
}

type Injection = 'serverBusy' | 'invalidCookie' | 'drop' | 'truncate' | 'hang' | 'badGateway';

export interface RecordedUpstream {
  readonly url: string;
  readonly port: number;
  /** every request, in order */
  readonly calls: UpstreamCall[];
  readonly documents: RecordedDocument[];
  /** digests asked for with DownloadFiles */
  readonly downloadRequests: string[][];
  /** the next `times` calls (of `operation`, or any) answer ServerBusy */
  serverBusy(times: number, operation?: string): void;
  /** the next `times` cookie-bearing calls (of `operation`, or any) answer InvalidCookie */
  invalidCookie(times?: number, operation?: string): void;
  /** destroy the connection instead of answering */
  dropConnection(times: number, operation?: string): void;
  /** announce the full Content-Length, send half the body, close */
  truncateBody(times: number, operation?: string): void;
  /** never answer (until close) */
  hang(times: number, operation?: string): void;
  /** answer HTTP 502 with an HTML page, as a reverse proxy in front of a stopped WSUS does */
  badGateway(times: number, operation?: string): void;
  /** GetUpdateData answers at most this many items (null = all asked) */
  limitUpdateData(max: number | null): void;
  /** a rebuilt upstream: earlier cookies become invalid, earlier oldCookies get ServerChanged */
  newServerIdentity(): void;
  close(): Promise<void>;
}

const SERVICE_PATHS = new Set(['/serversyncwebservice/serversyncwebservice.asmx', '/dssauthwebservice/dssauthwebservice.asmx', '/reportingwebservice/reportingwebservice.asmx']);
const COOKIE_FREE = new Set(['GetAuthConfig', 'GetAuthorizationCookie', 'GetCookie', 'GetRollupConfiguration']);
const MAX_UPDATES = 100;

export async function startRecordedUpstream(opts: RecordedUpstreamOptions = {}): Promise<RecordedUpstream> {
  const documents = recordedDocuments();
  const byKey = new Map(documents.map((d) => [`${d.identity.updateId}/${d.identity.revisionNumber}`, d]));
  const knownDigests = new Set(documents.flatMap((d) => d.files.map((f) => f.digest)));
  const calls: UpstreamCall[] = [];
  const downloadRequests: string[][] = [];
  const injections: Array<{ kind: Injection; left: number; operation?: string }> = [];
  const hanging = new Set<ServerResponse>();
  let identity = randomUUID();
  /** EncryptedData / CookieData -> the identity that issued it */
  const cookies = new Map<string, string>();
  const authCookies = new Map<string, string>();
  const anchors = new Set<string>();
  let updateLimit: number | null = null;

  const issue = (into: Map<string, string>): string => {
    const v = randomBytes(48).toString('base64');
    into.set(v, identity);
    return v;
  };
  const take = (kind: Injection, op: string): boolean => {
    const i = injections.find((x) => x.kind === kind && x.left > 0 && (x.operation === undefined || x.operation === op) &&
      (kind !== 'invalidCookie' || !COOKIE_FREE.has(op)));
    if (!i) return false;
    i.left--;
    return true;
  };
  const fault = (code: string, message: string, op: string): [number, string] => [500, shapes.fault(code, message, op)];

  function answer(op: XmlElement, operation: string): [number, string] {
    if (take('serverBusy', operation)) return fault('ServerBusy', '', operation);
    if (!COOKIE_FREE.has(operation)) {
      const data = cookieData(op);
      if (take('invalidCookie', operation) || data === null || cookies.get(data) !== identity) return fault('InvalidCookie', '', operation);
    }
    switch (operation) {
      case 'GetAuthConfig': return [200, shapes.authConfig()];
      case 'GetAuthorizationCookie': return [200, shapes.dssAuth(issue(authCookies))];
      case 'GetCookie': {
        const auth = children(child(op, 'authCookies'), 'AuthorizationCookie');
        const data = auth.length === 1 ? optionalText(auth[0], 'CookieData')?.trim() : undefined;
        if (!data || authCookies.get(data) !== identity) return fault('InvalidAuthorizationCookie', '', operation);
        const old = cookieData(op, 'oldCookie');
        if (old !== null && cookies.get(old) !== identity) return fault(opts.foreignOldCookie ?? 'ServerChanged', '', operation);
        return [200, shapes.cookie(dotnetTime(new Date(Date.now() + 4 * 3600_000)), issue(cookies))];
      }
      case 'GetConfigData': return [200, shapes.configData(optionalText(op, 'configAnchor') !== null, wsusAnchor())];
      case 'GetRevisionIdList': {
        const f = readFilter(op, 100_000);
        if (f.anchor !== null && !ANCHOR_RE.test(f.anchor)) return fault('InvalidParameters', 'filter', operation);
        const anchor = wsusAnchor();
        anchors.add(anchor);
        const knownAnchor = f.anchor !== null && anchors.has(f.anchor);
        const lists = [f.categories, f.classifications];
        const allDelta = lists.every((l) => l === null || l.every((x) => x.delta));
        let docs = documents.filter((d) => d.isCategory === f.getConfig);
        // As the real server: a product without a classification (or the reverse) selects nothing (000007).
        if (!f.getConfig && (lists[0] === null) !== (lists[1] === null)) docs = [];
        if (knownAnchor && (f.getConfig || allDelta)) docs = [];
        return [200, shapes.revisionIdList(anchor, docs.map((d) => d.identity))];
      }
      case 'GetUpdateData': {
        const ids = identityList(op, 'updateIds', 'updateIds', 100_000) ?? [];
        if (ids.length === 0 || ids.length > MAX_UPDATES) return fault('InvalidParameters', 'updateIds', operation);
        const docs = ids.map((i) => byKey.get(`${i.updateId}/${i.revisionNumber}`));
        // An unknown revision faults the whole call, as on the real server (000017).
        if (docs.some((d) => d === undefined)) return fault('InternalServerError', '', operation);
        return [200, updateDataBody((docs as RecordedDocument[]).slice(0, updateLimit ?? undefined))];
      }
      case 'GetUpdateDecryptionData': return [200, asmxEnvelope(decryptionDataResponse([]))];
      case 'GetDeployments': {
        if (optionalText(op, 'syncAnchor') === null) return fault('InvalidParameters', 'syncAnchor', operation);
        const d = opts.deployments ?? { anchor: wsusAnchor(), groups: [], deployments: [], deadDeployments: [], hiddenUpdates: [], acceptedEulas: [] };
        return [200, asmxEnvelope(deploymentsResponse(d))];
      }
      case 'DownloadFiles': {
        const digests = children(child(op, 'fileDigestList'), 'base64Binary').map((b) => b.text.trim());
        downloadRequests.push(digests);
        const missing = digests.filter((d) => !knownDigests.has(d));
        if (missing.length) return fault('FileDigestsMissing', missing.join('|'), operation);
        return [200, asmxEnvelope('<DownloadFilesResponse xmlns="http://www.microsoft.com/SoftwareDistribution" />')];
      }
      case 'GetRollupConfiguration': return [200, asmxEnvelope(rollupConfigurationResponse({
        doDetailedRollup: true, rollupResetGuid: '3277f62c-fa08-468f-873f-2f9867bcf9e5', serverId: identity,
        rollupDownstreamServersMaxBatchSize: 5000, rollupComputersMaxBatchSize: 1500,
        getOutOfSyncComputersMaxBatchSize: 20000, rollupComputerStatusMaxBatchSize: 500,
      }))];
      default: return fault('InvalidParameters', 'operation', operation);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    if (!SERVICE_PATHS.has((req.url ?? '').replace(/\/{2,}/g, '/').toLowerCase())) {
      // IIS's answer for a path that is no service.
      res.writeHead(404, { 'content-type': 'text/html' }).end('<html><body>404 - File or directory not found.</body></html>');
      return;
    }
    let op: XmlElement;
    try {
      op = readEnvelope(body, { maxDepth: 64, maxElements: 1_000_000, maxAttributes: 64 });
    } catch {
      res.writeHead(400).end();
      return;
    }
    const operation = op.local;
    const wantsXpress = opts.xpress !== false && /xpress/i.test(String(req.headers['accept-encoding'] ?? ''));
    calls.push({ operation, path: req.url ?? '', headers: req.headers, body, xpress: wantsXpress });
    if (take('drop', operation)) {
      req.socket.destroy();
      return;
    }
    if (take('hang', operation)) {
      hanging.add(res);
      return;
    }
    if (take('badGateway', operation)) {
      res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      return;
    }
    let status: number;
    let xml: string;
    try {
      [status, xml] = answer(op, operation);
    } catch {
      // A parameter the production readers refuse (e.g. a bad GUID): the recorded InvalidParameters shape.
      [status, xml] = fault('InvalidParameters', 'parameters', operation);
    }
    let payload: Buffer = Buffer.from(xml, 'utf8');
    const headers: Record<string, string> = { 'content-type': 'text/xml; charset=utf-8', 'cache-control': 'private, max-age=0', server: 'Microsoft-IIS/10.0' };
    if (wantsXpress) {
      payload = xpressCompress(payload);
      headers['content-encoding'] = 'xpress';
    }
    headers['content-length'] = String(payload.length);
    res.writeHead(status, headers);
    if (take('truncate', operation)) {
      res.write(payload.subarray(0, payload.length >> 1), () => res.destroy());
      return;
    }
    res.end(payload);
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch(() => res.destroy());
  };
  const server: Server = opts.tls
    ? createHttpsServer({ cert: opts.tls.certPem, key: opts.tls.keyPem }, listener)
    : createHttpServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const inject = (kind: Injection) => (times = 1, operation?: string): void => {
    injections.push({ kind, left: times, operation });
  };
  return {
    url: `${opts.tls ? 'https' : 'http'}://${opts.tls ? 'localhost' : '127.0.0.1'}:${port}`,
    port, calls, documents, downloadRequests,
    serverBusy: inject('serverBusy'),
    invalidCookie: inject('invalidCookie'),
    dropConnection: inject('drop'),
    truncateBody: inject('truncate'),
    hang: inject('hang'),
    badGateway: inject('badGateway'),
    limitUpdateData: (max) => {
      updateLimit = max;
    },
    newServerIdentity: () => {
      identity = randomUUID();
    },
    close: async () => {
      for (const r of hanging) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
