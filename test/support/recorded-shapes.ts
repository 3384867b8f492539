import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { ServerUpdateData, UpdateIdentity } from '../../src/core/server-sync/server-sync-model.js';
import { fileUrlXml, updateDataItemXml } from '../../src/protocol/server-sync/server-sync-writers.js';
import { escapeText } from '../../src/protocol/xml/escape.js';
import { CAPTURES } from './captures.js';

// The real answers of a WSUS upstream, recorded in ../shared/captures/wsus-m0-wsusss, turned
// into templates: the recorded body with only what must vary substituted (cookies, anchors,
// the identity list, fault ID/Method). Nothing is copied into the repository; everything is
// read in place, and the users skip when the captures are absent.

export const WSUSSS_DIR = join(CAPTURES, 'wsus-m0-wsusss');
export const wsusssPresent = existsSync(join(WSUSSS_DIR, 'exchanges')) && existsSync(join(WSUSSS_DIR, 'docs'));
export const WSUSSS_SKIP = `MS-WSUSSS captures not found at ${WSUSSS_DIR}`;

export const exchangeDir = (n: number, set = 'exchanges'): string => join(WSUSSS_DIR, set, String(n).padStart(6, '0'));
export const recordedResponse = (n: number, set = 'exchanges'): string => readFileSync(join(exchangeDir(n, set), 'response.body'), 'utf8');
export const recordedRequest = (n: number, set = 'exchanges'): string => readFileSync(join(exchangeDir(n, set), 'request.body'), 'utf8');

export interface RecordedFile {
  /** base64 SHA-1 */
  digest: string;
  fileName: string;
}

export interface RecordedDocument {
  identity: UpdateIdentity;
  xml: string;
  /** UpdateType="Category" (answered to GetRevisionIdList GetConfig=true) */
  isCategory: boolean;
  files: RecordedFile[];
}

/** The 9 real update documents in wsus-m0-wsusss/docs (`<id>-r<rev>.xml`). */
export function recordedDocuments(): RecordedDocument[] {
  const dir = join(WSUSSS_DIR, 'docs');
  return readdirSync(dir).filter((f) => /-r\d+\.xml$/.test(f)).sort().map((f) => {
    const m = /^(.+)-r(\d+)\.xml$/.exec(f)!;
    const xml = readFileSync(join(dir, f), 'utf8');
    const files = [...xml.matchAll(/<upd:File Digest="([^"]+)"[^>]*? FileName="([^"]+)"/g)].map((x) => ({ digest: x[1]!, fileName: x[2]! }));
    return { identity: { updateId: m[1]!, revisionNumber: Number(m[2]) }, xml, isCategory: /UpdateType="Category"/.test(xml), files };
  });
}

/** `<counter>,<yyyy-MM-dd HH:mm:ss.fff>` as WSUS writes anchors (000004-000012). */
export function wsusAnchor(now = new Date()): string {
  return `9438,${now.toISOString().replace('T', ' ').slice(0, 23)}`;
}
export const ANCHOR_RE = /^\d+,\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/;

/** .NET's round-trip UTC format with trailing fraction zeros dropped, e.g. `2026-10-04T20:33:26.65455Z` (000003). */
export function dotnetTime(d: Date): string {
  return d.toISOString().replace(/\.?0+Z$/, 'Z');
}

function replaceOne(body: string, re: RegExp, value: string): string {
  let hits = 0;
  const out = body.replace(re, (...m) => {
    hits++;
    return `${m[1]}${value}${m[m.length - 3]}`;
  });
  if (hits !== 1) throw new Error(`template substitution ${re} matched ${hits} times`);
  return out;
}
const el = (name: string): RegExp => new RegExp(`(<${name}>)[^<]*(</${name}>)`, 'g');

export const shapes = {
  authConfig: (): string => recordedResponse(1),
  dssAuth: (cookieData: string): string => replaceOne(recordedResponse(2), el('CookieData'), escapeText(cookieData)),
  cookie: (expiration: string, data: string): string =>
    replaceOne(replaceOne(recordedResponse(3), el('Expiration'), expiration), el('EncryptedData'), escapeText(data)),
  /** 000005 (full language list) without a configAnchor, 000004 (`<LanguageUpdateList />`) with one */
  configData: (withAnchor: boolean, anchor: string): string => replaceOne(recordedResponse(withAnchor ? 4 : 5), el('NewConfigAnchor'), anchor),
  /** the 000006 body with its Anchor and identity list replaced (`<NewRevisions />` when empty, as 000007) */
  revisionIdList: (anchor: string, ids: readonly UpdateIdentity[]): string => {
    const list = ids.map((i) => `<UpdateIdentity><UpdateID>${i.updateId}</UpdateID><RevisionNumber>${i.revisionNumber}</RevisionNumber></UpdateIdentity>`).join('');
    const body = replaceOne(recordedResponse(6), el('Anchor'), anchor);
    return body.replace(/<NewRevisions>.*<\/NewRevisions>/s, list ? `<NewRevisions>${list}</NewRevisions>` : '<NewRevisions />');
  },
  /** a fault in the recorded ASMX shape (000017 Server, 000019 Client), with a fresh ID */
  fault: (errorCode: string, message: string, operation: string): string => {
    const server = errorCode === 'InternalServerError' || errorCode === 'ServerBusy';
    let body = recordedResponse(server ? 17 : 19);
    body = replaceOne(body, el('ErrorCode'), errorCode);
    body = body.replace(/<Message>[^<]*<\/Message>/, `<Message>${escapeText(message)}</Message>`);
    body = replaceOne(body, el('ID'), randomUUID());
    return replaceOne(body, el('Method'), `"http://www.microsoft.com/SoftwareDistribution/${operation}"`);
  },
};

/** The synthesized Microsoft Update URL for a file the captures have none for (same pattern as 000014's MUUrl). */
export function muUrlFor(f: RecordedFile): string {
  const hex = Buffer.from(f.digest, 'base64').toString('hex');
  const ext = extname(f.fileName);
  return `http://download.windowsupdate.com/c/msdownload/update/software/defu/2026/10/${f.fileName.slice(0, -ext.length || undefined).toLowerCase()}_${hex}${ext.toLowerCase()}`;
}

const CAPTURED_UPDATE_DATA = [13, 14, 15, 16];

/** The recorded ServerSyncUpdateData item and ServerSyncUrlData items per revision key (`id/rev`), verbatim. */
function capturedItems(): Map<string, { item: string; urls: string[] }> {
  const out = new Map<string, { item: string; urls: string[] }>();
  for (const n of CAPTURED_UPDATE_DATA) {
    const body = recordedResponse(n);
    const item = /<ServerSyncUpdateData>.*?<\/ServerSyncUpdateData>/s.exec(body)![0];
    const key = /<UpdateID>([^<]+)<\/UpdateID><RevisionNumber>(\d+)</.exec(item)!.slice(1, 3).join('/');
    out.set(key, { item, urls: [...body.matchAll(/<ServerSyncUrlData>.*?<\/ServerSyncUrlData>/gs)].map((m) => m[0]) });
  }
  return out;
}

/**
 * A GetUpdateData answer in the recorded shape (the 000015 envelope): items recorded in
 * 000013-000016 verbatim, the others written the same way (compressed above 5,120 bytes).
 */
export function updateDataBody(docs: readonly RecordedDocument[]): string {
  const captured = capturedItems();
  const items: string[] = [];
  const urls: string[] = [];
  for (const d of docs) {
    const rec = captured.get(`${d.identity.updateId}/${d.identity.revisionNumber}`);
    if (rec) {
      items.push(rec.item);
      urls.push(...rec.urls);
      continue;
    }
    const u: ServerUpdateData['updates'][number] = { identity: d.identity, xml: d.xml, fileDigests: d.files.map((f) => f.digest) };
    items.push(updateDataItemXml(u, true));
    urls.push(...d.files.map((f) => fileUrlXml({ digest: f.digest, muUrl: muUrlFor(f), ussUrl: null })));
  }
  const template = recordedResponse(15);
  const head = template.slice(0, template.indexOf('<updates>'));
  const tail = template.slice(template.indexOf('</GetUpdateDataResult>'));
  const arr = (name: string, xs: string[]): string => (xs.length ? `<${name}>${xs.join('')}</${name}>` : `<${name} />`);
  return head + arr('updates', items) + arr('fileUrls', urls) + tail;
}

/** Wraps a response element in the recorded ASMX envelope (for operations without a capture). */
export function asmxEnvelope(inner: string): string {
  const t = recordedResponse(1);
  return t.slice(0, t.indexOf('<soap:Body>') + '<soap:Body>'.length) + inner + '</soap:Body></soap:Envelope>';
}
