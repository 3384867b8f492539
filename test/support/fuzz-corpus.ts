import { randomUUID } from 'node:crypto';
import { child } from '../../src/protocol/xml/xml-element.js';
import { formatAnchor } from '../../src/core/server-sync/anchor.js';
import { CLIENT_NS, REPORTING_NS, SIMPLE_AUTH_NS } from '../../src/protocol/soap/namespaces.js';
import { DSS_AUTH_NS, DSS_AUTH_PATH, REPORTING_PATH, SERVER_SYNC_NS, SERVER_SYNC_PATH } from '../../src/protocol/server-sync/namespaces.js';
import {
  dssAuthBody, downloadFilesBody, envelope as syncEnvelope, getAuthConfigBody, getConfigDataBody, getCookieBody, getDeploymentsBody,
  getRevisionIdListBody, getRollupConfigurationBody, ROLLUP_DUMMY_COOKIE, updateIdsBody, type WireCookie,
} from '../../src/upstream/server-sync-requests.js';
import { envelope, postSoap, reportingEvent, WuaClient } from './wua-client.js';
import { CAPTURES, capturesPresent, exchangeIds, loadExchange } from './captures.js';

// The seeds of the fuzz campaign: one real request body per operation of every SOAP service,
// built the way our simulated client and our downstream build them, with live cookies of the
// server under test (so mutations reach the handlers, not only the cookie check). The real
// lab captures, when present, add the bodies real Windows clients and WSUS servers sent.

export const CLIENT_PATH = '/ClientWebService/client.asmx';
export const SIMPLE_AUTH_PATH = '/SimpleAuthWebService/SimpleAuth.asmx';

export interface Seed {
  /** e.g. `client/SyncUpdates` */
  name: string;
  path: string;
  soapAction: string;
  body: Buffer;
}

export interface Corpus {
  seeds: Seed[];
  /** the client ids and downstream id whose data a valid (mutated) request may legitimately touch */
  clientIds: string[];
  dssId: string;
  /** why the capture seeds are missing, when they are */
  capturesSkipped: string | null;
}

const seed = (name: string, path: string, action: string, xml: string): Seed => ({ name, path, soapAction: `"${action}"`, body: Buffer.from(xml, 'utf8') });

const FALLBACK_IDENTITY = { updateId: '3c1b6d4e-0a55-4d2b-8f33-1f1f3f0b2c11', revisionNumber: 200 };

/** The first UpdateIdentity named in the core fragments a scan delivered. */
function realIdentity(cores: string[]): { updateId: string; revisionNumber: number } {
  for (const core of cores) {
    const m = /UpdateID="([0-9a-fA-F-]{36})" RevisionNumber="(\d+)"/.exec(core);
    if (m) return { updateId: m[1]!, revisionNumber: Number(m[2]) };
  }
  return FALLBACK_IDENTITY;
}

const ints = (name: string, ids: readonly number[]): string => `<${name}>${ids.map((i) => `<int>${i}</int>`).join('')}</${name}>`;

/** Runs a handshake and a scan against `base`, then builds one seed per operation. */
export async function buildCorpus(base: string): Promise<Corpus> {
  const clientId = randomUUID();
  const c = new WuaClient(base, clientId);
  await c.handshake();
  await c.fullScan('', 50);
  const revisions = [...c.received.keys()];
  const some = revisions.slice(0, 5);
  const auth = await postSoap(base, SIMPLE_AUTH_PATH, `${SIMPLE_AUTH_NS}/GetAuthorizationCookie`,
    envelope(`<GetAuthorizationCookie xmlns="${SIMPLE_AUTH_NS}"><clientId>${clientId}</clientId><dnsName>${c.dnsName}</dnsName></GetAuthorizationCookie>`));
  const cookieData = child(child(auth.result, 'GetAuthorizationCookieResult'), 'CookieData')!.text;
  const now = new Date().toISOString();
  const cl = (op: string, inner: string): Seed => seed(`client/${op}`, CLIENT_PATH, `${CLIENT_NS}/${op}`, envelope(`<${op} xmlns="${CLIENT_NS}">${inner}</${op}>`));
  // A real update of the catalog, so a request that survives mutation reaches the lookup, not only the validation.
  const known = realIdentity([...c.received.values()].map((u) => u.core));
  const identity = `<UpdateIdentity><UpdateID>${known.updateId}</UpdateID><RevisionNumber>${known.revisionNumber}</RevisionNumber></UpdateIdentity>`;
  const seeds: Seed[] = [
    cl('GetConfig', '<protocolVersion>2.90</protocolVersion>'),
    seed('simpleauth/GetAuthorizationCookie', SIMPLE_AUTH_PATH, `${SIMPLE_AUTH_NS}/GetAuthorizationCookie`,
      envelope(`<GetAuthorizationCookie xmlns="${SIMPLE_AUTH_NS}"><clientId>${clientId}</clientId><targetGroupName>Lab</targetGroupName><dnsName>${c.dnsName}</dnsName></GetAuthorizationCookie>`)),
    cl('GetCookie', `<authCookies><AuthorizationCookie><PlugInId>SimpleTargeting</PlugInId><CookieData>${cookieData}</CookieData></AuthorizationCookie></authCookies>` +
      `${c.cookieXml('oldCookie')}<lastChange>${now}</lastChange><currentTime>${now}</currentTime><protocolVersion>2.90</protocolVersion>`),
    cl('RegisterComputer', `${c.cookieXml()}<computerInfo><DnsName>${c.dnsName}</DnsName><OSMajorVersion>10</OSMajorVersion><OSMinorVersion>0</OSMinorVersion>` +
      '<OSBuildNumber>26200</OSBuildNumber><OSLocale>en-US</OSLocale><ComputerManufacturer>QEMU</ComputerManufacturer><ProcessorArchitecture>AMD64</ProcessorArchitecture>' +
      '<ClientVersionMajorNumber>1507</ClientVersionMajorNumber><OSDescription>Windows 11 Pro</OSDescription></computerInfo>'),
    seed('client/SyncUpdates', CLIENT_PATH, `${CLIENT_NS}/SyncUpdates`, envelope(c.syncRequest())),
    seed('client/SyncUpdates-drivers', CLIENT_PATH, `${CLIENT_NS}/SyncUpdates`, envelope(c.syncRequest(
      '<SystemSpec><Device><HardwareIDs><string>PCI\\VEN_8086&amp;DEV_1234</string></HardwareIDs><CompatibleIDs><string>PCI\\CC_0300</string></CompatibleIDs>' +
      '<installedDriver><DriverVerDate>2020-01-01</DriverVerDate><DriverVerVersion>1.0.0.0</DriverVerVersion></installedDriver></Device></SystemSpec>' +
      '<FilterCategoryIds><CategoryIdentifier><Id>6964aab4-c5b5-43bd-a17d-ffb4346a8e1d</Id></CategoryIdentifier></FilterCategoryIds>'))),
    cl('SyncPrinterCatalog', `${c.cookieXml()}${ints('installedNonLeafUpdateIDs', c.installedNonLeaf.slice(0, 20))}${ints('printerUpdateIDs', [1, 2])}`),
    cl('StartCategoryScan', '<requestedCategories><CategoryRelationship><IndexOfAndGroup>0</IndexOfAndGroup><CategoryId>6964aab4-c5b5-43bd-a17d-ffb4346a8e1d</CategoryId></CategoryRelationship></requestedCategories>'),
    cl('RefreshCache', `${c.cookieXml()}<globalIDs>${identity}</globalIDs>`),
    cl('GetExtendedUpdateInfo', `${c.cookieXml()}${ints('revisionIDs', some.length ? some : [1])}<infoTypes><XmlUpdateFragmentType>Extended</XmlUpdateFragmentType>` +
      '<XmlUpdateFragmentType>LocalizedProperties</XmlUpdateFragmentType><XmlUpdateFragmentType>Eula</XmlUpdateFragmentType></infoTypes><locales><string>en-US</string><string>en</string></locales>'),
    cl('GetExtendedUpdateInfo2', `${c.cookieXml()}<updateIDs>${identity}</updateIDs><infoTypes><XmlUpdateFragmentType>FileUrl</XmlUpdateFragmentType></infoTypes><locales><string>en</string></locales>`),
    cl('GetFileLocations', `${c.cookieXml()}<fileDigests><base64Binary>${Buffer.alloc(20, 7).toString('base64')}</base64Binary></fileDigests>`),
    seed('reporting/ReportEventBatch', REPORTING_PATH, `${REPORTING_NS}/ReportEventBatch`,
      envelope(`<ReportEventBatch xmlns="${REPORTING_NS}">${c.cookieXml()}<clientTime>${now}</clientTime><eventBatch>` +
        reportingEvent(clientId, 147, randomUUID(), undefined, ['a'], { machine: { brand: 'QEMU', model: 'PC', os: [10, 0, 26200], lcid: 1033 } }) +
        reportingEvent(clientId, 183, randomUUID(), '3c1b6d4e-0a55-4d2b-8f33-1f1f3f0b2c11', [], { hresult: -2145124329 }) +
        '</eventBatch></ReportEventBatch>')),
  ];
  const sync = await serverSyncSeeds(base, known);
  return { seeds: [...seeds, ...sync.seeds, ...captureSeeds()], clientIds: [clientId], dssId: sync.dssId, capturesSkipped: capturesPresent ? null : `capture seeds skipped: ${CAPTURES} not found` };
}

async function serverSyncSeeds(base: string, known: { updateId: string; revisionNumber: number }): Promise<{ seeds: Seed[]; dssId: string }> {
  const dssId = randomUUID();
  const fqdn = 'fuzz-dss.lab.invalid';
  const ss = (op: string, xml: string): Seed => seed(`serversync/${op}`, SERVER_SYNC_PATH, `${SERVER_SYNC_NS}/${op}`, xml);
  const rep = (op: string, inner: string): Seed => seed(`rollup/${op}`, REPORTING_PATH, `${SERVER_SYNC_NS}/${op}`, syncEnvelope(op, inner));
  const authReply = await postSoap(base, DSS_AUTH_PATH, `${DSS_AUTH_NS}/GetAuthorizationCookie`, dssAuthBody(fqdn, dssId), { xpress: false });
  const cookieData = child(child(authReply.result, 'GetAuthorizationCookieResult'), 'CookieData')?.text ?? '';
  const cookieReply = await postSoap(base, SERVER_SYNC_PATH, `${SERVER_SYNC_NS}/GetCookie`, getCookieBody(cookieData, null, '1.20'), { xpress: false });
  const got = child(cookieReply.result, 'GetCookieResult');
  const cookie: WireCookie = { expiration: child(got, 'Expiration')?.text ?? '', encryptedData: child(got, 'EncryptedData')?.text ?? '' };
  const ids = [known];
  // An anchor this server could have issued (counter 0 is never ahead of it), so anchor parsing is reached.
  const anchor = formatAnchor(0, new Date());
  const cookieXml = `<cookie><Expiration>${cookie.expiration}</Expiration><EncryptedData>${cookie.encryptedData}</EncryptedData></cookie>`;
  const seeds: Seed[] = [
    ss('GetAuthConfig', getAuthConfigBody()),
    seed('dssauth/GetAuthorizationCookie', DSS_AUTH_PATH, `${DSS_AUTH_NS}/GetAuthorizationCookie`, dssAuthBody(fqdn, dssId)),
    ss('GetCookie', getCookieBody(cookieData, cookie, '1.20')),
    ss('GetConfigData', getConfigDataBody(cookie, null)),
    ss('GetConfigData-anchor', getConfigDataBody(cookie, anchor)),
    ss('GetRevisionIdList-config', getRevisionIdListBody(cookie, {
      anchor, getConfig: true, get63LanguageOnly: false, categories: null, classifications: null, languages: null,
    })),
    ss('GetRevisionIdList', getRevisionIdListBody(cookie, {
      anchor: null, getConfig: false, get63LanguageOnly: false,
      categories: [{ id: '6964aab4-c5b5-43bd-a17d-ffb4346a8e1d', delta: false }], classifications: null, languages: [{ id: 1033, delta: true }],
    })),
    ss('GetUpdateData', updateIdsBody('GetUpdateData', cookie, ids)),
    ss('GetUpdateDecryptionData', updateIdsBody('GetUpdateDecryptionData', cookie, ids)),
    ss('GetDeployments', getDeploymentsBody(cookie, anchor, anchor)),
    ss('DownloadFiles', downloadFilesBody(cookie, [Buffer.alloc(20, 1).toString('base64')])),
    ss('GetRelatedRevisionsForUpdates', syncEnvelope('GetRelatedRevisionsForUpdates', `${cookieXml}<updateIDs><guid>${ids[0]!.updateId}</guid></updateIDs>`)),
    seed('rollup/GetRollupConfiguration', REPORTING_PATH, `${SERVER_SYNC_NS}/GetRollupConfiguration`, getRollupConfigurationBody()),
    rep('RollupDownstreamServers', `${ROLLUP_DUMMY_COOKIE}<clientTime>2026-01-01T00:00:00Z</clientTime><downstreamServers><DownstreamServerRollupInfo>` +
      `<ServerId>${dssId}</ServerId><FullDomainName>${fqdn}</FullDomainName><ServerSummary><UpdateCount>3</UpdateCount></ServerSummary>` +
      '<ClientSummaries><ClientSummary><OSLocale>en-US</OSLocale></ClientSummary></ClientSummaries></DownstreamServerRollupInfo></downstreamServers>'),
    rep('RollupComputers', `${ROLLUP_DUMMY_COOKIE}<clientTime>2026-01-01T00:00:00Z</clientTime><computers><ComputerRollupInfo ComputerId="pc-fuzz" ` +
      `ParentServerId="${dssId}" LastSyncTime="2026-01-01T00:00:00Z"><Details FullDomainName="pc.lab" OSMajorVersion="10"><TargetGroupIdList>` +
      '<guid>a0a08746-4dbe-4a37-9adf-9e7652c0b421</guid></TargetGroupIdList></Details></ComputerRollupInfo></computers>'),
    rep('GetOutOfSyncComputers', `${ROLLUP_DUMMY_COOKIE}<parentServerId>${dssId}</parentServerId><lastRollupNumbers><ComputerLastRollupNumber>` +
      '<ComputerId>pc-fuzz</ComputerId><RollupNumber>1</RollupNumber></ComputerLastRollupNumber></lastRollupNumbers>'),
    rep('RollupComputerStatus', `${ROLLUP_DUMMY_COOKIE}<clientTime>2026-01-01T00:00:00Z</clientTime><parentServerId>${dssId}</parentServerId><computers>` +
      '<ComputerStatusRollupInfo><ComputerId>pc-fuzz</ComputerId><RollupNumber>2</RollupNumber><IsFullRollup>true</IsFullRollup><UpdateStatus>' +
      '<ComputerStatusRollupUpdateStatus><UpdateId>3c1b6d4e-0a55-4d2b-8f33-1f1f3f0b2c11</UpdateId><SummarizationState>2</SummarizationState>' +
      '<LastChangeTime>2026-01-01T00:00:00Z</LastChangeTime></ComputerStatusRollupUpdateStatus></UpdateStatus></ComputerStatusRollupInfo></computers>'),
  ];
  return { seeds, dssId };
}

/** Request bodies of the real lab captures (real clients and a real downstream WSUS). */
function captureSeeds(): Seed[] {
  if (!capturesPresent) return [];
  const out: Seed[] = [];
  for (const set of ['wsus-m0-native/flow', 'wsus-m0-native/scan', 'wsus-m0-wsusss/exchanges']) {
    let ids: string[];
    try {
      ids = exchangeIds(set);
    } catch {
      continue;
    }
    for (const id of ids) {
      const ex = loadExchange(id);
      if (ex.requestBody.trim() === '') continue;
      out.push({ name: `capture/${id}`, path: ex.path, soapAction: ex.requestHeaders.get('soapaction') ?? '""', body: Buffer.from(ex.requestBody, 'utf8') });
    }
  }
  return out;
}
