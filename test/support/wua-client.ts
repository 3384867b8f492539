import { request } from 'undici';
import { readXml } from '../../src/protocol/xml/strict-xml-reader.js';
import { child, children, type XmlElement } from '../../src/protocol/xml/xml-element.js';
import { xpressDecompress } from '../../src/protocol/xpress/index.js';

// A simulated Windows Update Agent: the handshake, the staged scan loop and the extended
// metadata calls, with the request shapes of the real captures. It treats every non-leaf item
// it receives as installed, which is what a real client evaluating categories and detectoids
// on a matching machine does.

const CLIENT_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService';
const SA_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/SimpleAuthWebService';
const REP_NS = 'http://www.microsoft.com/SoftwareDistribution';

export interface SoapReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: XmlElement;
  /** the operation result element (first child of Body) */
  result: XmlElement;
  wireBytes: number;
}

export function envelope(inner: string): string {
  return `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>${inner}</s:Body></s:Envelope>`;
}

export async function postSoap(base: string, path: string, action: string, xml: string, opts: { xpress?: boolean } = {}): Promise<SoapReply> {
  const res = await request(`${base}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'text/xml; charset=utf-8',
      soapaction: `"${action}"`,
      'user-agent': 'Windows-Update-Agent/1507.2601.30012.0 Client-Protocol/2.90',
      ...(opts.xpress === false ? {} : { 'accept-encoding': 'xpress' }),
    },
    body: xml,
  });
  let raw: Buffer = Buffer.from(await res.body.arrayBuffer());
  const wireBytes = raw.length;
  if (res.headers['content-encoding'] === 'xpress') raw = xpressDecompress(raw, 256 * 1024 * 1024);
  const text = raw.toString('utf8');
  const root = readXml(text, { maxDepth: 64, maxElements: 10_000_000, maxAttributes: 64 });
  const body = root.children.find((c) => c.local === 'Body')!;
  return { status: res.statusCode, headers: res.headers, text, body, result: body.children[0]!, wireBytes };
}

const ints = (name: string, ids: readonly number[]): string =>
  ids.length ? `<${name}>${ids.map((i) => `<int>${i}</int>`).join('')}</${name}>` : '';

export interface ScannedUpdate {
  revisionId: number;
  isLeaf: boolean;
  action: string;
  deploymentId: number;
  /** the Deployment's Deadline, when it has one */
  deadline: string | null;
  lastChangeTime: string;
  core: string;
}

export class WuaClient {
  cookie = '';
  expiration = '';
  installedNonLeaf: number[] = [];
  otherCached: number[] = [];
  received = new Map<number, ScannedUpdate>();
  pages = 0;

  constructor(readonly base: string, readonly clientId: string, readonly opts: { xpress?: boolean; targetGroup?: string; dnsName?: string } = {}) {}

  get dnsName(): string {
    return this.opts.dnsName ?? `${this.clientId.slice(0, 8)}.lab.invalid`;
  }

  async call(path: string, action: string, inner: string): Promise<SoapReply> {
    return postSoap(this.base, path, action, envelope(inner), { xpress: this.opts.xpress });
  }

  async handshake(): Promise<void> {
    const cfg = await this.call('/ClientWebService/client.asmx', `${CLIENT_NS}/GetConfig`,
      `<GetConfig xmlns="${CLIENT_NS}"><protocolVersion>2.90</protocolVersion></GetConfig>`);
    const lastChange = child(child(cfg.result, 'GetConfigResult'), 'LastChange')!.text;
    const auth = await this.call('/SimpleAuthWebService/SimpleAuth.asmx', `${SA_NS}/GetAuthorizationCookie`,
      `<GetAuthorizationCookie xmlns="${SA_NS}"><clientId>${this.clientId}</clientId>` +
      (this.opts.targetGroup ? `<targetGroupName>${this.opts.targetGroup}</targetGroupName>` : '') +
      `<dnsName>${this.dnsName}</dnsName></GetAuthorizationCookie>`);
    const cookieData = child(child(auth.result, 'GetAuthorizationCookieResult'), 'CookieData')!.text;
    const now = new Date().toISOString();
    const ck = await this.call('/ClientWebService/client.asmx', `${CLIENT_NS}/GetCookie`,
      `<GetCookie xmlns="${CLIENT_NS}"><authCookies><AuthorizationCookie><PlugInId>SimpleTargeting</PlugInId><CookieData>${cookieData}</CookieData></AuthorizationCookie></authCookies>` +
      `<oldCookie><Expiration>${now}</Expiration></oldCookie><lastChange>${lastChange}</lastChange><currentTime>${now}</currentTime><protocolVersion>2.90</protocolVersion></GetCookie>`);
    this.takeCookie(child(ck.result, 'GetCookieResult')!);
    await this.call('/ClientWebService/client.asmx', `${CLIENT_NS}/RegisterComputer`,
      `<RegisterComputer xmlns="${CLIENT_NS}">${this.cookieXml()}<computerInfo><DnsName>${this.dnsName}</DnsName>` +
      '<OSMajorVersion>10</OSMajorVersion><OSMinorVersion>0</OSMinorVersion><OSBuildNumber>26200</OSBuildNumber>' +
      '<OSServicePackMajorNumber>0</OSServicePackMajorNumber><OSServicePackMinorNumber>0</OSServicePackMinorNumber><OSLocale>en-US</OSLocale>' +
      '<ComputerManufacturer>QEMU</ComputerManufacturer><ComputerModel>Standard PC</ComputerModel><ProcessorArchitecture>AMD64</ProcessorArchitecture>' +
      '<ClientVersionMajorNumber>1507</ClientVersionMajorNumber><ClientVersionMinorNumber>2601</ClientVersionMinorNumber>' +
      '<ClientVersionBuildNumber>30012</ClientVersionBuildNumber><ClientVersionQfeNumber>0</ClientVersionQfeNumber><OSDescription>Windows 11 Pro</OSDescription>' +
      '</computerInfo></RegisterComputer>');
  }

  cookieXml(name = 'cookie'): string {
    return `<${name}><Expiration>${this.expiration}</Expiration><EncryptedData>${this.cookie}</EncryptedData></${name}>`;
  }

  takeCookie(el: XmlElement): void {
    this.expiration = child(el, 'Expiration')!.text;
    this.cookie = child(el, 'EncryptedData')!.text;
  }

  syncRequest(extra = ''): string {
    return `<SyncUpdates xmlns="${CLIENT_NS}">${this.cookieXml()}<parameters><ExpressQuery>false</ExpressQuery>` +
      ints('InstalledNonLeafUpdateIDs', this.installedNonLeaf) + ints('OtherCachedUpdateIDs', this.otherCached) +
      `<SkipSoftwareSync>false</SkipSoftwareSync>${extra}<NeedTwoGroupOutOfScopeUpdates>true</NeedTwoGroupOutOfScopeUpdates>` +
      '<AlsoPerformRegularSync>true</AlsoPerformRegularSync><ComputerSpec/><ProductsParameters><SyncCurrentVersionOnly>false</SyncCurrentVersionOnly>' +
      '<DeviceAttributes>App=WU_OS;AppVer=1507.2601.30012.0;OSVersion=10.0.26200.8037</DeviceAttributes><CallerAttributes>Interactive=0;Id=test</CallerAttributes><Products/></ProductsParameters>' +
      '</parameters></SyncUpdates>';
  }

  /** One SyncUpdates page; updates the cache as a client would. */
  async syncPage(extra = ''): Promise<{ reply: SoapReply; newUpdates: ScannedUpdate[]; truncated: boolean; outOfScope: number[]; changed: ScannedUpdate[] }> {
    const reply = await this.call('/ClientWebService/client.asmx', `${CLIENT_NS}/SyncUpdates`, this.syncRequest(extra));
    if (reply.status !== 200) throw new Error(`SyncUpdates failed: ${reply.text}`);
    this.pages++;
    const result = child(reply.result, 'SyncUpdatesResult')!;
    const parse = (u: XmlElement): ScannedUpdate => {
      const d = child(u, 'Deployment')!;
      return {
        revisionId: Number(child(u, 'ID')!.text),
        isLeaf: child(u, 'IsLeaf')!.text === 'true',
        action: child(d, 'Action')!.text,
        deploymentId: Number(child(d, 'ID')!.text),
        deadline: child(d, 'Deadline')?.text ?? null,
        lastChangeTime: child(d, 'LastChangeTime')!.text,
        core: child(u, 'Xml')?.text ?? '',
      };
    };
    const newUpdates = children(child(result, 'NewUpdates'), 'UpdateInfo').map(parse);
    const changed = children(child(result, 'ChangedUpdates'), 'UpdateInfo').map(parse);
    const outOfScope = children(child(result, 'OutOfScopeRevisionIDs'), 'int').map((i) => Number(i.text));
    for (const u of newUpdates) {
      this.received.set(u.revisionId, u);
      if (!u.isLeaf) this.installedNonLeaf.push(u.revisionId);
      else this.otherCached.push(u.revisionId);
    }
    const drop = new Set(outOfScope);
    this.installedNonLeaf = this.installedNonLeaf.filter((i) => !drop.has(i));
    this.otherCached = this.otherCached.filter((i) => !drop.has(i));
    for (const id of drop) this.received.delete(id);
    this.takeCookie(child(result, 'NewCookie')!);
    return { reply, newUpdates, truncated: child(result, 'Truncated')!.text === 'true', outOfScope, changed };
  }

  /** The staged loop: call again while truncated or while a page delivered a non-leaf item. */
  async fullScan(extra = '', maxPages = 10_000): Promise<number> {
    let pages = 0;
    for (;;) {
      const p = await this.syncPage(extra);
      pages++;
      if (pages >= maxPages) throw new Error('scan did not converge');
      if (!p.truncated && !p.newUpdates.some((u) => !u.isLeaf)) return pages;
    }
  }

  async extendedInfo(revisionIds: number[]): Promise<SoapReply> {
    return this.call('/ClientWebService/client.asmx', `${CLIENT_NS}/GetExtendedUpdateInfo`,
      `<GetExtendedUpdateInfo xmlns="${CLIENT_NS}">${this.cookieXml()}${ints('revisionIDs', revisionIds)}` +
      '<infoTypes><XmlUpdateFragmentType>Extended</XmlUpdateFragmentType><XmlUpdateFragmentType>LocalizedProperties</XmlUpdateFragmentType></infoTypes>' +
      '<locales><string>en-US</string><string>en</string></locales></GetExtendedUpdateInfo>');
  }

  async report(events: string): Promise<SoapReply> {
    return this.call('/ReportingWebService/ReportingWebService.asmx', `${REP_NS}/ReportEventBatch`,
      `<ReportEventBatch xmlns="${REP_NS}">${this.cookieXml()}<clientTime>${new Date().toISOString()}</clientTime><eventBatch>${events}</eventBatch></ReportEventBatch>`);
  }
}

export interface ReportingEventOptions {
  /** TimeAtTarget as sent (default: now) */
  time?: string;
  hresult?: number;
  replacementStrings?: string[];
  /** ExtendedData machine fields as a real agent sends them */
  machine?: { brand?: string; model?: string; bios?: string; arch?: string; os?: [number, number, number]; lcid?: number };
}

export function reportingEvent(clientId: string, eventId: number, instanceId: string, updateId = '00000000-0000-0000-0000-000000000000', misc: string[] = [], opts: ReportingEventOptions = {}): string {
  const m = opts.machine;
  const machine = m ? (m.brand !== undefined ? `<ComputerBrand>${m.brand}</ComputerBrand>` : '') + (m.model !== undefined ? `<ComputerModel>${m.model}</ComputerModel>` : '') +
    (m.bios !== undefined ? `<BiosRevision>${m.bios}</BiosRevision>` : '') + (m.arch !== undefined ? `<ProcessorArchitecture>${m.arch}</ProcessorArchitecture>` : '') +
    (m.os ? `<OSVersion><Major>${m.os[0]}</Major><Minor>${m.os[1]}</Minor><Build>${m.os[2]}</Build><Revision>0</Revision><ServicePackMajor>0</ServicePackMajor><ServicePackMinor>0</ServicePackMinor></OSVersion>` : '') +
    (m.lcid !== undefined ? `<OSLocaleID>${m.lcid}</OSLocaleID>` : '') : '';
  return `<ReportingEvent><BasicData><TargetID><Sid>${clientId}</Sid></TargetID><SequenceNumber>0</SequenceNumber>` +
    `<TimeAtTarget>${opts.time ?? new Date().toISOString()}</TimeAtTarget><EventInstanceID>${instanceId}</EventInstanceID><NamespaceID>1</NamespaceID>` +
    `<EventID>${eventId}</EventID><SourceID>101</SourceID><UpdateID><UpdateID>${updateId}</UpdateID><RevisionNumber>200</RevisionNumber></UpdateID>` +
    `<Win32HResult>${opts.hresult ?? 0}</Win32HResult><AppName>test</AppName></BasicData><ExtendedData><ReplacementStrings>${(opts.replacementStrings ?? ['0']).map((r) => `<string>${r}</string>`).join('')}</ReplacementStrings>` +
    `<MiscData>${misc.map((x) => `<string>${x}</string>`).join('')}</MiscData>${machine}</ExtendedData><PrivateData/></ReportingEvent>`;
}
