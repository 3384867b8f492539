import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { join, resolve } from 'node:path';
import { projectRoot } from '../../src/paths.js';
import { readXml } from '../../src/protocol/xml/strict-xml-reader.js';
import { child, children, type XmlElement } from '../../src/protocol/xml/xml-element.js';
import { xpressDecompress } from '../../src/protocol/xpress/index.js';
import type { RevisionMap } from './conformance-catalog.js';

// Reading the real lab captures in ../shared/captures, replaying their requests against a
// running server, and comparing the answers with what the real WSUS sent. Nothing here is
// copied into the repository: the captures are read in place and tests skip without them.

export const CAPTURES = resolve(projectRoot, '../shared/captures');
export const capturesPresent = ['wsus-m0-native', 'wsus-m0', 'wsus-m0-wsusss/docs'].every((d) => existsSync(join(CAPTURES, d)));
export const SKIP = `real captures not found at ${CAPTURES} (expected ../shared/captures next to the project)`;

const READ_LIMITS = { maxDepth: 64, maxElements: 10_000_000, maxAttributes: 64 };
export const parseXml = (text: string): XmlElement => readXml(text, READ_LIMITS);

export interface Exchange {
  /** e.g. `wsus-m0-native/scan/000006` */
  id: string;
  path: string;
  /** request headers as captured, names lower-cased */
  requestHeaders: Map<string, string>;
  requestBody: string;
  status: number;
  responseHeaders: Map<string, string>;
  /** the decoded response body (native captures store Xpress bodies decoded) */
  responseBody: string;
  /** Content-Encoding the real response had on the wire */
  wireEncoding: string | undefined;
  doc: XmlElement;
}

function headerBlock(text: string): { first: string; headers: Map<string, string> } {
  const lines = text.split(/\r?\n/);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const c = line.indexOf(':');
    if (c > 0) headers.set(line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim());
  }
  return { first: lines[0] ?? '', headers };
}

/** Every exchange directory of a capture set (`wsus-m0-native/scan`, `wsus-m0`, ...), in order. */
export function exchangeIds(set: string): string[] {
  return readdirSync(join(CAPTURES, set)).filter((d) => /^\d{6}$/.test(d)).sort().map((d) => `${set}/${d}`);
}

export function loadExchange(id: string): Exchange {
  const dir = join(CAPTURES, id);
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  const meta = JSON.parse(read('meta.json')) as { status: number; wire_response_content_encoding?: string };
  const req = headerBlock(read('request.headers'));
  const res = headerBlock(read('response.headers'));
  const responseBody = read('response.body');
  return {
    id,
    path: req.first.split(' ')[1]!,
    requestHeaders: req.headers,
    requestBody: read('request.body'),
    status: meta.status,
    responseHeaders: res.headers,
    responseBody,
    wireEncoding: meta.wire_response_content_encoding?.replace(/^Content-Encoding:\s*/i, '') || undefined,
    doc: parseXml(responseBody),
  };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  /** bytes as they came off the wire */
  wire: Buffer;
  /** decoded text */
  text: string;
  /** parsed body, when it is XML */
  doc: XmlElement | undefined;
  /** whether the request asked for xpress */
  askedXpress: boolean;
}

/** One POST with exactly these headers (Host included), on a fresh connection. */
export function post(base: string, path: string, headers: Record<string, string>, body: string | Buffer): Promise<Reply> {
  const url = new URL(base);
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const askedXpress = /xpress/i.test(headers['accept-encoding'] ?? '');
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest({
      host: url.hostname, port: url.port, path, method: 'POST', agent: false,
      headers: { ...headers, 'content-length': String(payload.length) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const wire = Buffer.concat(chunks);
        const decoded = res.headers['content-encoding'] === 'xpress' ? xpressDecompress(wire, 256 * 1024 * 1024) : wire;
        const text = decoded.toString('utf8');
        let doc: XmlElement | undefined;
        try {
          doc = parseXml(text);
        } catch { /* not XML: doc stays undefined */ }
        resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, wire, text, doc, askedXpress });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const REPLAYED_HEADERS = ['host', 'content-type', 'soapaction', 'user-agent', 'accept-encoding', 'ms-cv', 'cache-control', 'pragma'];

/** The captured request headers that carry meaning (Host included, as the client sent it). */
export function replayHeaders(ex: Exchange, opts: { xpress?: boolean } = {}): Record<string, string> {
  const h: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const v = ex.requestHeaders.get(name);
    if (v !== undefined) h[name] = v;
  }
  if (opts.xpress === true) h['accept-encoding'] = 'xpress';
  if (opts.xpress === false) delete h['accept-encoding'];
  return h;
}

/** The replayable capture sets (the ones whose README says requests and responses are real). */
export const REAL_SETS = ['wsus-m0-native/scan', 'wsus-m0-native/flow', 'wsus-m0'];

export function loadAllExchanges(): Map<string, Exchange> {
  return new Map(REAL_SETS.flatMap(exchangeIds).map((id) => [id, loadExchange(id)]));
}

// ---- request rewriting -------------------------------------------------------------------

/** Replaces the text of the one `<name>` element; throws when it is not there exactly once. */
export function setText(xml: string, name: string, value: string): string {
  const re = new RegExp(`<${name}>[^<]*</${name}>`, 'g');
  const n = xml.match(re)?.length ?? 0;
  if (n !== 1) throw new Error(`expected one <${name}> in the request, found ${n}`);
  return xml.replace(re, `<${name}>${value}</${name}>`);
}

export function intArray(xml: string, name: string): number[] | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>|<${name}/>`).exec(xml);
  if (!m) return undefined;
  return [...(m[1] ?? '').matchAll(/<int>(\d+)<\/int>/g)].map((x) => Number(x[1]));
}

/** Sets an int array; an absent one is inserted after ExpressQuery, as clients order it. */
export function setIntArray(xml: string, name: string, ids: readonly number[]): string {
  const el = ids.length ? `<${name}>${ids.map((i) => `<int>${i}</int>`).join('')}</${name}>` : `<${name}/>`;
  const re = new RegExp(`<${name}>[\\s\\S]*?</${name}>|<${name}/>`);
  if (re.test(xml)) return xml.replace(re, el);
  if (!ids.length) return xml;
  if (!xml.includes('</ExpressQuery>')) throw new Error(`cannot insert ${name}: no ExpressQuery`);
  return xml.replace('</ExpressQuery>', `</ExpressQuery>${el}`);
}

// ---- revision ids ------------------------------------------------------------------------

const coreUpdateId = (core: string): string | undefined => /^<UpdateIdentity UpdateID="([^"]+)"/.exec(core)?.[1]?.toLowerCase();

/** UpdateInfo elements of a SyncUpdates answer (NewUpdates and ChangedUpdates), keyed by the Core's UpdateID. */
export function updateInfos(doc: XmlElement | undefined, lists = ['NewUpdates', 'ChangedUpdates']): Map<string, XmlElement> {
  const out = new Map<string, XmlElement>();
  const result = child(resultElement(doc), 'SyncUpdatesResult');
  for (const list of lists) {
    for (const ui of children(child(result, list), 'UpdateInfo')) {
      const id = coreUpdateId(child(ui, 'Xml')?.text ?? '');
      if (id) out.set(id, ui);
    }
  }
  return out;
}

// ---- comparison --------------------------------------------------------------------------

export function bodyElement(doc: XmlElement | undefined): XmlElement | undefined {
  return doc?.children.find((c) => c.local === 'Body');
}

/** The operation response element: the first child of Body. */
export function resultElement(doc: XmlElement | undefined): XmlElement | undefined {
  return bodyElement(doc)?.children[0];
}

/**
 * The element-name tree (names as written, prefixes included) without text, consecutive
 * siblings with the same skeleton collapsed: two answers with different content but the same
 * shape have equal skeletons.
 */
export function skeleton(el: XmlElement): string {
  const kids = el.children.map(skeleton).filter((k, i, all) => i === 0 || k !== all[i - 1]);
  return kids.length ? `${el.name}(${kids.join(',')})` : el.name;
}

/** Children of the response element and of its `…Result` child, in order, as paths. */
export function resultNames(doc: XmlElement | undefined): string[] {
  const out: string[] = [];
  for (const c of resultElement(doc)?.children ?? []) {
    out.push(c.local);
    if (c.local.endsWith('Result')) for (const g of c.children) out.push(`${c.local}/${g.local}`);
  }
  return out;
}

const attrText = (el: XmlElement | undefined): string =>
  el ? [...el.attrs].map(([k, v]) => `${k}="${v}"`).sort().join(' ') : '(missing)';

/** XML declaration, envelope/Body prefixes and namespace declarations, result element name and namespace. */
export function envelopeShape(text: string, doc: XmlElement | undefined): Record<string, string> {
  const body = bodyElement(doc);
  const r = resultElement(doc);
  return {
    declaration: /^<\?xml[^>]*\?>/.exec(text)?.[0] ?? '(none)',
    envelope: `${doc?.name} ${attrText(doc)}`,
    body: `${body?.name} ${attrText(body)}`,
    result: `${r?.name} {${r?.ns}}`,
  };
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$/;
const DEPLOYMENT = ['ID', 'Action', 'IsAssigned', 'LastChangeTime', 'AutoSelect', 'AutoDownload', 'SupersedenceBehavior'];

/** The UpdateInfo shape real clients need (REAL-CLIENTS.md: a wrong one fails with 0x80070057). */
export function assertUpdateInfoShape(ui: XmlElement, where: string): void {
  assert.deepEqual(ui.children.map((c) => c.local), ['ID', 'Deployment', 'IsLeaf', 'Xml'], `${where}: UpdateInfo children`);
  const d = child(ui, 'Deployment')!;
  const names = d.children.map((c) => c.local);
  const expected = names.includes('Deadline') ? [...DEPLOYMENT.slice(0, 2), 'Deadline', ...DEPLOYMENT.slice(2)] : DEPLOYMENT;
  assert.deepEqual(names, expected, `${where}: Deployment children`);
  assert.match(child(d, 'LastChangeTime')!.text, /^\d{4}-\d{2}-\d{2}$/, `${where}: LastChangeTime is a date`);
  assert.match(child(ui, 'IsLeaf')!.text, /^(true|false)$/, `${where}: IsLeaf`);
}

/** Same Deployment flags, same IsLeaf, byte-identical Core (the escaped text of both decoded). */
export function assertSameUpdateInfo(real: XmlElement, ours: XmlElement, where: string, explainedAction?: string): void {
  assertUpdateInfoShape(real, `${where} (real)`);
  assertUpdateInfoShape(ours, `${where} (ours)`);
  const rd = child(real, 'Deployment')!;
  const od = child(ours, 'Deployment')!;
  for (const f of ['Action', 'IsAssigned', 'AutoSelect', 'AutoDownload', 'SupersedenceBehavior']) {
    const expected = f === 'Action' && explainedAction ? explainedAction : child(rd, f)!.text;
    assert.equal(child(od, f)!.text, expected, `${where}: Deployment ${f}`);
  }
  assert.equal(child(ours, 'IsLeaf')!.text, child(real, 'IsLeaf')!.text, `${where}: IsLeaf`);
  assert.equal(child(ours, 'Xml')!.text, child(real, 'Xml')!.text, `${where}: Core fragment`);
}

/** HTTP facts every answer must have: explicit Content-Length, xpress exactly when asked for. */
export function assertTransport(r: Reply, where: string): void {
  assert.equal(r.headers['transfer-encoding'], undefined, `${where}: not chunked`);
  assert.equal(r.headers['content-length'], String(r.wire.length), `${where}: explicit Content-Length`);
  if (r.askedXpress) {
    assert.equal(r.headers['content-encoding'], 'xpress', `${where}: xpress-encoded when asked`);
    assert.ok(r.doc, `${where}: decodes to XML`);
  } else {
    assert.equal(r.headers['content-encoding'], undefined, `${where}: no Content-Encoding when not asked`);
  }
}

/**
 * The checks every replayed answer gets: status, Content-Type, transport, envelope shape, the
 * same result element names in the same order, the skeleton of each result child, and the
 * UpdateInfo shape. Content differences (how many updates, which ones) are the caller's to
 * assert and explain.
 */
export function assertConforms(ex: Exchange, ours: Reply): void {
  const w = ex.id;
  assert.equal(ours.status, ex.status, `${w}: HTTP status`);
  assert.equal(ours.headers['content-type'], ex.responseHeaders.get('content-type'), `${w}: Content-Type`);
  // Real answers are all `private` (SimpleAuth adds max-age=0). IIS's Server/X-Powered-By are not
  // protocol; nor is its `Vary: Accept-Encoding` on compressed answers, which we do not send:
  // harmless, since `private` already keeps shared caches from storing either encoding.
  assert.match(String(ours.headers['cache-control']), /^private\b/, `${w}: Cache-Control`);
  assertTransport(ours, w);
  if (ex.wireEncoding) assert.equal(ours.headers['content-encoding'], ex.wireEncoding, `${w}: wire encoding as real`);
  assert.ok(ours.doc, `${w}: our answer is XML`);
  // The values normalize() masks must still be well-formed.
  for (const m of ours.text.matchAll(/<(LastChange|Expiration)>([^<]*)</g)) assert.match(m[2]!, DATE_TIME, `${w}: ${m[1]}`);
  for (const m of ours.text.matchAll(/<(EncryptedData|CookieData)>([^<]*)</g)) assert.match(m[2]!, /^[A-Za-z0-9+/]+={0,2}$/, `${w}: ${m[1]}`);
  assert.deepEqual(envelopeShape(ours.text, ours.doc), envelopeShape(ex.responseBody, ex.doc), `${w}: envelope`);
  assert.deepEqual(resultNames(ours.doc), resultNames(ex.doc), `${w}: result elements`);
  const parts = (doc: XmlElement | undefined): string[] => (resultElement(doc)?.children ?? [])
    .flatMap((c) => (c.local.endsWith('Result') ? c.children : [c])).map(skeleton);
  assert.deepEqual(parts(ours.doc), parts(ex.doc), `${w}: shape of each result element`);
  for (const [id, ui] of updateInfos(ours.doc)) assertUpdateInfoShape(ui, `${w} ${id}`);
}

/**
 * Masks what differs between servers without meaning: revision and deployment ids (revision
 * ids become the UpdateID they name, via `updateOf`), cookie contents and expirations, the
 * Config LastChange, deployment dates and fault ids. What is left must be byte-identical.
 */
export function normalize(text: string, updateOf: (id: number) => string | undefined): string {
  const name = (id: string): string => updateOf(Number(id)) ?? `unmapped:${id}`;
  return text
    .replace(/(<UpdateInfo><ID>)(\d+)(<\/ID><Deployment><ID>)\d+(<\/ID>)/g, (_m, a: string, id: string, b: string, c: string) => `${a}${name(id)}${b}#${c}`)
    .replace(/(<Update><ID>)(\d+)(<\/ID>)/g, (_m, a: string, id: string, c: string) => `${a}${name(id)}${c}`)
    .replace(/<(LastChange|Expiration|EncryptedData|CookieData)>[^<]*<\/\1>/g, '<$1>*</$1>')
    .replace(/<LastChangeTime>\d{4}-\d{2}-\d{2}<\/LastChangeTime>/g, '<LastChangeTime>DATE</LastChangeTime>')
    .replace(/<ID>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}<\/ID>/g, '<ID>GUID</ID>');
}

/** The published captures redacted the localized SupportUrl's LinkId (only there). */
export const maskSupportLink = (s: string): string => s.replace(/(<SupportUrl>[^<]*LinkId=)[^<&]*/g, '$1REDACTED');

// ---- a replaying client ------------------------------------------------------------------

export const ID_ARRAYS = ['InstalledNonLeafUpdateIDs', 'OtherCachedUpdateIDs', 'CachedDriverIDs', 'revisionIDs'] as const;
export type IdArray = (typeof ID_ARRAYS)[number];

const COOKIE_RE = /<cookie><Expiration>[^<]*<\/Expiration><EncryptedData>[^<]*<\/EncryptedData><\/cookie>/g;

/**
 * Replays captured requests in order as the captured client would have sent them to us: our
 * LastChange, authorization cookie and cookie in place of the real server's (redacted) ones,
 * each answer's NewCookie used for the next call, and revision ids translated.
 */
export class ReplaySession {
  cookie: { expiration: string; data: string } | undefined;
  lastChange: string | undefined;
  authCookie: string | undefined;
  /** every cookie Expiration we were given, in order */
  readonly expirations: string[] = [];
  /** real ids the last request lost in translation */
  dropped = 0;

  constructor(readonly base: string, readonly ids: RevisionMap) {}

  prepare(ex: Exchange, opts: { arrays?: Partial<Record<IdArray, number[]>>; translate?: boolean } = {}): string {
    let xml = ex.requestBody;
    if (this.lastChange && xml.includes('<lastChange>')) xml = setText(xml, 'lastChange', this.lastChange);
    if (this.authCookie && xml.includes('<CookieData>')) xml = setText(xml, 'CookieData', this.authCookie);
    if (this.cookie && xml.includes('<cookie>')) {
      const n = xml.match(COOKIE_RE)?.length ?? 0;
      if (n !== 1) throw new Error(`${ex.id}: expected one cookie, found ${n}`);
      xml = xml.replace(COOKIE_RE, `<cookie><Expiration>${this.cookie.expiration}</Expiration><EncryptedData>${this.cookie.data}</EncryptedData></cookie>`);
    }
    this.dropped = 0;
    for (const name of ID_ARRAYS) {
      const given = opts.arrays?.[name];
      if (given) {
        xml = setIntArray(xml, name, given);
        continue;
      }
      const real = intArray(xml, name);
      if (real === undefined || opts.translate === false) continue;
      xml = setIntArray(xml, name, this.ids.translate(real));
      this.dropped += this.ids.dropped;
    }
    return xml;
  }

  async run(ex: Exchange, opts: { arrays?: Partial<Record<IdArray, number[]>>; translate?: boolean; xpress?: boolean } = {}): Promise<Reply> {
    const reply = await post(this.base, ex.path, replayHeaders(ex, { xpress: opts.xpress }), this.prepare(ex, opts));
    this.absorb(reply);
    return reply;
  }

  private absorb(r: Reply): void {
    const res = resultElement(r.doc);
    const cfg = child(res, 'GetConfigResult');
    if (cfg) this.lastChange = child(cfg, 'LastChange')?.text;
    const auth = child(res, 'GetAuthorizationCookieResult');
    if (auth) this.authCookie = child(auth, 'CookieData')?.text;
    const ck = child(res, 'GetCookieResult') ?? child(child(res, 'SyncUpdatesResult'), 'NewCookie');
    if (ck) {
      this.cookie = { expiration: child(ck, 'Expiration')!.text, data: child(ck, 'EncryptedData')!.text };
      this.expirations.push(this.cookie.expiration);
    }
  }

  /**
   * The client's staged scan, starting from a captured SyncUpdates request with its cached ids
   * translated: call again while Truncated or while a page delivered a non-leaf item. Like a
   * client on a matching machine, every non-leaf item is taken as installed.
   */
  async stagedScan(ex: Exchange, maxPages = 20): Promise<{ pages: Reply[]; delivered: Map<string, XmlElement> }> {
    const installed = this.ids.translate(intArray(ex.requestBody, 'InstalledNonLeafUpdateIDs') ?? []);
    const other = this.ids.translate(intArray(ex.requestBody, 'OtherCachedUpdateIDs') ?? []);
    const pages: Reply[] = [];
    const delivered = new Map<string, XmlElement>();
    for (;;) {
      const r = await this.run(ex, { arrays: { InstalledNonLeafUpdateIDs: installed, OtherCachedUpdateIDs: other } });
      assert.equal(r.status, 200, `${ex.id}: staged page ${pages.length + 1}: ${r.text.slice(0, 300)}`);
      pages.push(r);
      let nonLeaf = false;
      for (const [updateId, ui] of updateInfos(r.doc, ['NewUpdates'])) {
        const id = Number(child(ui, 'ID')!.text);
        const leaf = child(ui, 'IsLeaf')!.text === 'true';
        nonLeaf ||= !leaf;
        (leaf ? other : installed).push(id);
        delivered.set(updateId, ui);
      }
      const truncated = child(child(resultElement(r.doc), 'SyncUpdatesResult'), 'Truncated')?.text === 'true';
      if (!truncated && !nonLeaf) return { pages, delivered };
      if (pages.length >= maxPages) throw new Error(`${ex.id}: staged scan did not converge`);
    }
  }
}
