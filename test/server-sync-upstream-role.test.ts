// The upstream-role SOAP handlers (ServerSyncWebService, DssAuthWebService, the rollup half of
// ReportingWebService) in-process against a fake UpstreamRoleService: every request of the
// real exchanges (../shared/captures/wsus-m0-wsusss/exchanges) is replayed and our answer must
// be the real one byte for byte, once fault IDs, the fault actor's host and the (LZX, so
// encoder-specific) compressed blobs are masked. Uncaptured shapes are checked against the
// samples of [MS-WSUSSS] section 4 and round-tripped through the downstream parsers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultLimits } from '../src/config/config.js';
import { DomainError, invalidParameters } from '../src/core/errors.js';
import type { DeploymentsResult } from '../src/core/server-sync/server-sync-model.js';
import { createClientHandler } from '../src/http/client-app.js';
import type { ClientServices } from '../src/protocol/client/operation-context.js';
import { decodeUpdateBlob } from '../src/protocol/cab/index.js';
import type { DssSession, UpstreamRoleService } from '../src/services/upstream-role/upstream-role.types.js';
import { expectResponse, readSoapAnswer } from '../src/upstream/soap-response.js';
import {
  parseAuthConfig, parseAuthorizationCookie, parseConfigData, parseCookie, parseDecryptionData, parseDeployments,
  parseRevisionIdList, parseUpdateData,
} from '../src/upstream/server-sync-parsers.js';
import { openUpstreamSession } from '../src/upstream/upstream-session.js';
import { createUpstreamDispatcher } from '../src/upstream/upstream-dispatcher.js';
import { loadExchange, parseXml, post, replayHeaders } from './support/captures.js';
import { WSUSSS_DIR, WSUSSS_SKIP, wsusssPresent } from './support/recorded-shapes.js';
import { quietLog } from './support/test-server.js';

type Answers = Map<string, unknown>;
interface Fake {
  role: UpstreamRoleService;
  calls: Array<{ method: string; args: unknown[] }>;
  answers: Answers;
}

const SESSION: DssSession = { serverId: '6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12', fqdn: 'probe.lab.invalid', protocolVersion: '1.20' };

/** A fake service: records every call, answers what the test queued (an Error is thrown). */
function fakeRole(): Fake {
  const calls: Fake['calls'] = [];
  const answers: Answers = new Map();
  const ret = (method: string) => (...args: unknown[]): never => {
    calls.push({ method, args });
    const a = answers.get(method);
    if (a instanceof Error) throw a;
    return a as never;
  };
  const role: UpstreamRoleService = {
    authConfig: ret('authConfig'), authorize: ret('authorize'), getCookie: ret('getCookie'),
    open: (data) => {
      calls.push({ method: 'open', args: [data] });
      if (data === null) throw new DomainError('InvalidCookie');
      return SESSION;
    },
    rollupSession: (data, claimed) => {
      calls.push({ method: 'rollupSession', args: [data, claimed] });
      return SESSION;
    },
    configData: ret('configData'), revisionIdList: ret('revisionIdList'), updateData: ret('updateData'),
    decryptionData: ret('decryptionData'), deployments: ret('deployments'), downloadFiles: ret('downloadFiles'),
    relatedRevisions: ret('relatedRevisions'), rollupConfiguration: ret('rollupConfiguration'),
    rollupDownstreamServers: ret('rollupDownstreamServers'), rollupComputers: ret('rollupComputers'),
    getOutOfSyncComputers: ret('getOutOfSyncComputers'), rollupComputerStatus: ret('rollupComputerStatus'),
  };
  return { role, calls, answers };
}

async function withRoleServer(extra: Partial<ClientServices>, body: (base: string) => Promise<void>): Promise<void> {
  // Only the upstream-role services are reachable in these tests; the client ones are never called.
  const services = { sessions: {}, scan: {}, info: {}, reporting: {}, ...extra } as ClientServices;
  const server: Server = createServer(createClientHandler({ services, limits: defaultLimits, log: quietLog, serverVersion: 'test' }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await body(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

const SYNC = '/ServerSyncWebService/ServerSyncWebService.asmx';
const NS = 'http://www.microsoft.com/SoftwareDistribution';
const soap = (inner: string): string => `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>${inner}</soap:Body></soap:Envelope>`;
const headers = (op: string): Record<string, string> => ({ 'content-type': 'text/xml; charset=utf-8', soapaction: `"${NS}/${op}"` });
const COOKIE = '<cookie><Expiration>2026-10-04T20:33:26.65455Z</Expiration><EncryptedData>QUJD</EncryptedData></cookie>';
const mask = (s: string): string => s
  .replace(/<ID>[0-9a-f-]{36}<\/ID>/g, '<ID>*</ID>')
  .replace(/<faultactor>http:\/\/[^/<]+\//g, '<faultactor>http://HOST/')
  .replace(/<XmlUpdateBlobCompressed>[^<]*</g, '<XmlUpdateBlobCompressed>*<');
const body = (xml: string): string => /<soap:Body>(.*)<\/soap:Body>/s.exec(xml)![1]!;

/** What the fake must answer for each captured exchange: the real answer, parsed by the downstream parsers. */
function answerFor(n: number, responseBody: string): [string, unknown] {
  const a = readSoapAnswer(responseBody);
  if (n === 17) return ['updateData', new DomainError('InternalServerError')];
  if (n === 18) return ['revisionIdList', invalidParameters('filter')];
  if (n === 19) return ['revisionIdList', new Error('not reached: the cookie is opened first')];
  const op = a.op!.local.replace(/Response$/, '');
  const r = expectResponse({ op: a.op! }, op);
  switch (op) {
    case 'GetAuthConfig': return ['authConfig', { lastChange: parseAuthConfig(r).lastChange }];
    case 'GetAuthorizationCookie': return ['authorize', parseAuthorizationCookie(r).cookieData];
    case 'GetCookie': return ['getCookie', parseCookie(r)];
    case 'GetConfigData': return ['configData', parseConfigData(r)];
    case 'GetRevisionIdList': return ['revisionIdList', parseRevisionIdList(r)];
    case 'GetUpdateData': return ['updateData', parseUpdateData(r, 1 << 26)];
  }
  throw new Error(`no answer for ${op}`);
}

test('every captured request gets the real answer (masked: fault ID, actor host, LZX bytes)', { skip: !wsusssPresent && WSUSSS_SKIP }, async () => {
  const fake = fakeRole();
  await withRoleServer({ upstreamRole: fake.role, compressBlobs: true }, async (base) => {
    for (let n = 1; n <= 19; n++) {
      const ex = loadExchange(`wsus-m0-wsusss/exchanges/${String(n).padStart(6, '0')}`);
      fake.answers.clear();
      fake.answers.set(...answerFor(n, ex.responseBody));
      const ours = await post(base, ex.path, replayHeaders(ex), ex.requestBody);
      assert.equal(ours.status, ex.status, `${ex.id} status`);
      assert.equal(ours.headers['content-type'], ex.responseHeaders.get('content-type'), `${ex.id} content type`);
      assert.equal(mask(ours.text), mask(ex.responseBody), `${ex.id} body`);
      const packed = /<XmlUpdateBlobCompressed>([^<]*)</.exec(ours.text)?.[1];
      if (packed) {
        const real = parseUpdateData(expectResponse({ op: readSoapAnswer(ex.responseBody).op! }, 'GetUpdateData'), 1 << 26);
        assert.equal(decodeUpdateBlob(packed, 1 << 26), real.updates[0]!.xml, `${ex.id} compressed document`);
      }
    }
  });
  const args = (method: string): unknown[][] => fake.calls.filter((c) => c.method === method).map((c) => c.args);
  assert.deepEqual(args('authorize'), [['probe.lab.invalid', '6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12', '127.0.0.1']]);
  const [authCookies, oldCookie, version] = args('getCookie')[0]!;
  assert.deepEqual([(authCookies as Array<{ plugInId: string }>)[0]!.plugInId, oldCookie, version], ['DssTargeting', null, '1.20']);
  assert.deepEqual(args('configData').map((a) => a[1]), ['9438,2026-10-04 16:09:27.167', null]);
  assert.deepEqual(args('revisionIdList')[4]![1], {
    anchor: '9438,2026-10-04 16:09:27.371', getConfig: false, get63LanguageOnly: false,
    categories: [{ id: '8c3fcc84-7410-4a95-8b89-a166a0190486', delta: false }],
    classifications: [{ id: 'e0789628-ce08-4437-be74-2495b842f43b', delta: false }], languages: null,
  });
  assert.deepEqual(args('updateData')[0]![1], [{ updateId: 'a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe', revisionNumber: 200 }]);
  assert.equal(args('revisionIdList').length, 8, '000019 never reaches the service');
});

test('a disabled role answers like an operation the server does not have; WSDLs are served', async () => {
  await withRoleServer({}, async (base) => {
    const disabled = await post(base, SYNC, headers('GetAuthConfig'), soap(`<GetAuthConfig xmlns="${NS}"/>`));
    const unknown = await post(base, SYNC, headers('GetDriverIdList'), soap(`<GetDriverIdList xmlns="${NS}"/>`));
    assert.equal(disabled.status, 500);
    assert.equal(mask(disabled.text).replace('GetAuthConfig', 'X'), mask(unknown.text).replace('GetDriverIdList', 'X'));
    assert.match(disabled.text, /<ErrorCode>InvalidParameters<\/ErrorCode><Message>operation<\/Message>/);
    for (const [path, ops] of [[SYNC, 9], ['/DssAuthWebService/DssAuthWebService.asmx', 1]] as const) {
      const r = await fetch(`${base}${path}?wsdl`);
      assert.equal(r.status, 200);
      const wsdl = await r.text();
      const doc = parseXml(wsdl);
      const portType = doc.children.find((c) => c.local === 'portType')!;
      assert.equal(portType.children.length, ops, path);
      assert.ok(wsdl.includes(`location="${base}${path}"`), 'the service URL is substituted');
    }
  });
});

test('uncaptured shapes follow [MS-WSUSSS] Sample 2 and round-trip through the downstream parsers', async () => {
  const fake = fakeRole();
  const deployments: DeploymentsResult = {
    anchor: '4742,2006-05-26 18:59:26.192',
    groups: [{ id: 'a0a08746-4dbe-4a37-9adf-9e7652c0b421', parentId: '00000000-0000-0000-0000-000000000000', name: 'All Computers', isBuiltin: true }],
    deployments: [{
      updateId: '4b62aa32-52f6-4c15-b739-1c8e696eb33e', revisionNumber: 100, action: 0, adminName: 'WUS Server', deadline: null,
      isAssigned: true, goLiveTime: '2006-05-24T15:37:08.887', deploymentGuid: 'c2f2ca62-5413-419a-bdee-275a23087758',
      targetGroupId: 'b73ca6ed-5727-47f3-84de-015e03f6a88a', downloadPriority: 1,
    }],
    deadDeployments: [], hiddenUpdates: ['9a9bafe2-fbfc-4b0b-8479-49a2bb08cd5a'], acceptedEulas: [],
  };
  fake.answers.set('deployments', deployments);
  fake.answers.set('decryptionData', [{ identity: { updateId: '4b62aa32-52f6-4c15-b739-1c8e696eb33e', revisionNumber: 101 }, files: [{ digest: 'AQID', decryptionKey: null }, { digest: 'BAUG', decryptionKey: 'a2V5' }] }]);
  fake.answers.set('relatedRevisions', []);
  await withRoleServer({ upstreamRole: fake.role }, async (base) => {
    const dep = await post(base, SYNC, headers('GetDeployments'), soap(`<GetDeployments xmlns="${NS}">${COOKIE}<syncAnchor>4742,2006-05-26 18:59:26.192</syncAnchor></GetDeployments>`));
    assert.equal(body(dep.text), `<GetDeploymentsResponse xmlns="${NS}"><GetDeploymentsResult><Anchor>4742,2006-05-26 18:59:26.192</Anchor>` +
      '<Groups><ServerSyncTargetGroup><TargetGroupID>a0a08746-4dbe-4a37-9adf-9e7652c0b421</TargetGroupID><ParentGroupId>00000000-0000-0000-0000-000000000000</ParentGroupId>' +
      '<Name>All Computers</Name><IsBuiltin>true</IsBuiltin></ServerSyncTargetGroup></Groups><Deployments><ServerSyncDeployment>' +
      '<UpdateId>4b62aa32-52f6-4c15-b739-1c8e696eb33e</UpdateId><RevisionNumber>100</RevisionNumber><Action>0</Action><AdminName>WUS Server</AdminName>' +
      '<Deadline>9999-12-31T23:59:59.9999999</Deadline><IsAssigned>true</IsAssigned><GoLiveTime>2006-05-24T15:37:08.887</GoLiveTime>' +
      '<DeploymentGuid>c2f2ca62-5413-419a-bdee-275a23087758</DeploymentGuid><TargetGroupId>b73ca6ed-5727-47f3-84de-015e03f6a88a</TargetGroupId>' +
      '<DownloadPriority>1</DownloadPriority></ServerSyncDeployment></Deployments><DeadDeployments /><HiddenUpdates><guid>9a9bafe2-fbfc-4b0b-8479-49a2bb08cd5a</guid>' +
      '</HiddenUpdates><AcceptedEulas /></GetDeploymentsResult></GetDeploymentsResponse>');
    assert.deepEqual(parseDeployments(readSoapAnswer(dep.text).op!), deployments);
    assert.deepEqual(fake.calls.at(-1)!.args.slice(1), [null, '4742,2006-05-26 18:59:26.192']);

    const dec = await post(base, SYNC, headers('GetUpdateDecryptionData'), soap(`<GetUpdateDecryptionData xmlns="${NS}">${COOKIE}<updateIds>` +
      '<UpdateIdentity><UpdateID>4B62AA32-52F6-4C15-B739-1C8E696EB33E</UpdateID><RevisionNumber>101</RevisionNumber></UpdateIdentity></updateIds></GetUpdateDecryptionData>'));
    assert.match(dec.text, /<UpdateId><UpdateID>4b62aa32-52f6-4c15-b739-1c8e696eb33e<\/UpdateID><RevisionNumber>101<\/RevisionNumber><\/UpdateId>/);
    assert.match(dec.text, /<ServerSyncFileDecryption><FileDigest>AQID<\/FileDigest><\/ServerSyncFileDecryption>/);
    assert.deepEqual(parseDecryptionData(readSoapAnswer(dec.text).op!), fake.answers.get('decryptionData'));

    const rel = await post(base, SYNC, headers('GetRelatedRevisionsForUpdates'), soap(`<GetRelatedRevisionsForUpdates xmlns="${NS}">${COOKIE}<updateIDs><guid>4b62aa32-52f6-4c15-b739-1c8e696eb33e</guid></updateIDs></GetRelatedRevisionsForUpdates>`));
    assert.equal(body(rel.text), `<GetRelatedRevisionsForUpdatesResponse xmlns="${NS}"><GetRelatedRevisionsForUpdatesResult /></GetRelatedRevisionsForUpdatesResponse>`);
  });
});

test('faults: FileDigestsMissing carries the digests, bad parameters are named, versions are Client faults', async () => {
  const fake = fakeRole();
  const d1 = Buffer.alloc(20, 1).toString('base64');
  const d2 = Buffer.alloc(20, 2).toString('base64');
  await withRoleServer({ upstreamRole: fake.role }, async (base) => {
    const dl = (digests: string[]) => post(base, SYNC, headers('DownloadFiles'), soap(`<DownloadFiles xmlns="${NS}">${COOKIE}<fileDigestList>` +
      `${digests.map((d) => `<base64Binary>${d}</base64Binary>`).join('')}</fileDigestList></DownloadFiles>`));
    fake.answers.set('downloadFiles', undefined);
    assert.equal(body((await dl([d1])).text), `<DownloadFilesResponse xmlns="${NS}" />`);
    fake.answers.set('downloadFiles', new DomainError('FileDigestsMissing', `${d1}|${d2}`));
    const missing = await dl([d1, d2]);
    assert.equal(missing.status, 500);
    assert.match(missing.text, new RegExp(`<faultcode>soap:Client</faultcode>.*<ErrorCode>FileDigestsMissing</ErrorCode><Message>${d1.replace(/[+/]/g, '\\$&')}\\|`));
    assert.match((await dl(['AQID'])).text, /<ErrorCode>InvalidParameters<\/ErrorCode><Message>fileDigestList<\/Message>/);

    fake.answers.set('getCookie', new DomainError('IncompatibleProtocolVersion'));
    const v = await post(base, SYNC, headers('GetCookie'), soap(`<GetCookie xmlns="${NS}"><protocolVersion>2.0</protocolVersion></GetCookie>`));
    assert.match(v.text, /<faultcode>soap:Client<\/faultcode>.*<faultactor>http:\/\/127\.0\.0\.1:\d+\/ServerSyncWebService\/ServerSyncWebService\.asmx<\/faultactor>.*<ErrorCode>IncompatibleProtocolVersion<\/ErrorCode><Message><\/Message>/);
    const bad = await post(base, SYNC, headers('GetUpdateData'), soap(`<GetUpdateData xmlns="${NS}">${COOKIE}<updateIds><UpdateIdentity><UpdateID>not-a-guid</UpdateID><RevisionNumber>1</RevisionNumber></UpdateIdentity></updateIds></GetUpdateData>`));
    assert.match(bad.text, /<ErrorCode>InvalidParameters<\/ErrorCode><Message>updateIds<\/Message>/);
    fake.answers.set('authorize', 'Q29va2ll');
    const dss = await post(base, '//DssAuthWebService/DssAuthWebService.asmx', { 'content-type': 'text/xml; charset=utf-8' },
      soap('<GetAuthorizationCookie xmlns="http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService"><accountName>x</accountName></GetAuthorizationCookie>'));
    assert.equal(dss.status, 200, 'the doubled slash WSUS downstreams send is accepted');
    assert.match(dss.text, /<PlugInId>DssTargeting<\/PlugInId><CookieData>Q29va2ll<\/CookieData>/);
    assert.deepEqual(fake.calls.at(-1)!.args, ['x', undefined, '127.0.0.1']);
  });
});

test('rollup operations on ReportingWebService read [MS-WSUSSS] Sample 3 and answer in its shapes', async () => {
  const fake = fakeRole();
  const dummy = '<cookie><Expiration>9999-12-31T23:59:59.9999999</Expiration><EncryptedData>QQ==</EncryptedData></cookie>';
  const rep = '/ReportingWebService/ReportingWebService.asmx';
  fake.answers.set('rollupConfiguration', { doDetailedRollup: true, rollupResetGuid: '3277f62c-fa08-468f-873f-2f9867bcf9e5', serverId: '059ab167-8a19-4bab-befc-daaab5b1d82b', rollupDownstreamServersMaxBatchSize: 5000, rollupComputersMaxBatchSize: 1500, getOutOfSyncComputersMaxBatchSize: 20000, rollupComputerStatusMaxBatchSize: 500 });
  fake.answers.set('rollupComputers', []);
  fake.answers.set('getOutOfSyncComputers', ['d07a4d51-7cb2-46d1-ad86-91195cb4325a']);
  fake.answers.set('rollupComputerStatus', true);
  fake.answers.set('rollupDownstreamServers', undefined);
  await withRoleServer({ upstreamRole: fake.role }, async (base) => {
    const call = async (op: string, inner: string) => body((await post(base, rep, headers(op), soap(`<${op} xmlns="${NS}">${inner}</${op}>`))).text);
    assert.equal(await call('GetRollupConfiguration', '<cookie><Expiration>9999-12-31T23:59:59.9999999</Expiration><EncryptedData /></cookie>'),
      `<GetRollupConfigurationResponse xmlns="${NS}"><GetRollupConfigurationResult><DoDetailedRollup>true</DoDetailedRollup>` +
      '<RollupResetGuid>3277f62c-fa08-468f-873f-2f9867bcf9e5</RollupResetGuid><ServerId>059ab167-8a19-4bab-befc-daaab5b1d82b</ServerId>' +
      '<RollupDownstreamServersMaxBatchSize>5000</RollupDownstreamServersMaxBatchSize><RollupComputersMaxBatchSize>1500</RollupComputersMaxBatchSize>' +
      '<GetOutOfSyncComputersMaxBatchSize>20000</GetOutOfSyncComputersMaxBatchSize><RollupComputerStatusMaxBatchSize>500</RollupComputerStatusMaxBatchSize>' +
      '</GetRollupConfigurationResult></GetRollupConfigurationResponse>');
    assert.equal(await call('RollupDownstreamServers', `${dummy}<clientTime>2007-03-06T03:28:02.5507362Z</clientTime><downstreamServers><DownstreamServerRollupInfo>` +
      '<ServerId>050cee4a-aaff-470c-8fc3-7a94cb3a4293</ServerId><FullDomainName>yasufs64.ntdev.corp.microsoft.com</FullDomainName><IsReplica>true</IsReplica>' +
      '<ServerSummary><UpdateCount>1002</UpdateCount></ServerSummary><ClientSummaries><DownstreamServerRollupClientSummary><OSLocale>en-US</OSLocale>' +
      '<ActivitySummaries><DownstreamServerRollupClientActivitySummary><UpdateId>63ee225f-897d-42ae-841e-4a383c92f350</UpdateId></DownstreamServerRollupClientActivitySummary>' +
      '</ActivitySummaries></DownstreamServerRollupClientSummary></ClientSummaries></DownstreamServerRollupInfo></downstreamServers>'),
    `<RollupDownstreamServersResponse xmlns="${NS}" />`);
    assert.deepEqual(fake.calls.at(-1)!.args.slice(1), ['2007-03-06T03:28:02.5507362Z', [{
      ServerId: '050cee4a-aaff-470c-8fc3-7a94cb3a4293', FullDomainName: 'yasufs64.ntdev.corp.microsoft.com', IsReplica: 'true',
      'ServerSummary.UpdateCount': '1002', 'ClientSummaries.0.OSLocale': 'en-US',
      'ClientSummaries.0.ActivitySummaries.0.UpdateId': '63ee225f-897d-42ae-841e-4a383c92f350',
    }]]);
    assert.equal(await call('RollupComputers', `${dummy}<clientTime>2007-03-06T03:28:02.9726004Z</clientTime><computers>` +
      '<ComputerRollupInfo ComputerId="d07a4d51-7cb2-46d1-ad86-91195cb4325a" LastSyncResult="1"><Details OSMajorVersion="5" /></ComputerRollupInfo></computers>'),
    `<RollupComputersResponse xmlns="${NS}"><RollupComputersResult /></RollupComputersResponse>`);
    assert.deepEqual(fake.calls.at(-1)!.args[2], [{ computerId: 'd07a4d51-7cb2-46d1-ad86-91195cb4325a', fields: { LastSyncResult: '1', 'Details.OSMajorVersion': '5' } }]);
    assert.equal(await call('GetOutOfSyncComputers', `${dummy}<parentServerId>050CEE4A-aaff-470c-8fc3-7a94cb3a4293</parentServerId><lastRollupNumbers>` +
      '<ComputerLastRollupNumber><ComputerId>d07a4d51-7cb2-46d1-ad86-91195cb4325a</ComputerId><RollupNumber>2</RollupNumber></ComputerLastRollupNumber></lastRollupNumbers>'),
    `<GetOutOfSyncComputersResponse xmlns="${NS}"><GetOutOfSyncComputersResult><string>d07a4d51-7cb2-46d1-ad86-91195cb4325a</string></GetOutOfSyncComputersResult></GetOutOfSyncComputersResponse>`);
    assert.deepEqual(fake.calls.at(-1)!.args.slice(1), ['050cee4a-aaff-470c-8fc3-7a94cb3a4293', [{ computerId: 'd07a4d51-7cb2-46d1-ad86-91195cb4325a', lastRollupNumber: 2 }]]);
    assert.equal(await call('RollupComputerStatus', `${dummy}<clientTime>2007-03-06T03:39:24.2520342Z</clientTime><parentServerId>050cee4a-aaff-470c-8fc3-7a94cb3a4293</parentServerId>` +
      '<computers><ComputerStatusRollupInfo><InstanceId>14720b83-5998-41f7-b586-6088cd8acd0c</InstanceId><ComputerId>d07a4d51-7cb2-46d1-ad86-91195cb4325a</ComputerId>' +
      '<EffectiveLastDetectionTime>2007-03-06T01:47:46.42Z</EffectiveLastDetectionTime><RollupNumber>3</RollupNumber><IsFullRollup>true</IsFullRollup><UpdateStatus>' +
      '<ComputerStatusRollupUpdateStatus><UpdateId>09de7a79-5c09-4f3a-972e-cc1bbb7ca7e4</UpdateId><SummarizationState>4</SummarizationState>' +
      '<LastChangeTime>2007-03-05T22:25:11.64Z</LastChangeTime></ComputerStatusRollupUpdateStatus></UpdateStatus></ComputerStatusRollupInfo></computers>'),
    `<RollupComputerStatusResponse xmlns="${NS}"><RollupComputerStatusResult>true</RollupComputerStatusResult></RollupComputerStatusResponse>`);
    assert.deepEqual((fake.calls.at(-1)!.args[3] as Array<{ statuses: unknown }>)[0]!.statuses,
      [{ updateId: '09de7a79-5c09-4f3a-972e-cc1bbb7ca7e4', revisionNumber: null, summarizationState: 4, lastChangeTime: '2007-03-05T22:25:11.64Z' }]);
  });
});

test('our downstream session against our upstream handlers: handshake, lists, compressed and plain blobs', { skip: !wsusssPresent && WSUSSS_SKIP }, async () => {
  const fake = fakeRole();
  const doc = readFileSync(join(WSUSSS_DIR, 'docs', 'a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe-r200.xml'), 'utf8');
  const small = readFileSync(join(WSUSSS_DIR, 'docs', 'ccb78947-6453-4ecc-9de8-bc0305c98f2d-r200.xml'), 'utf8');
  fake.answers.set('authConfig', { lastChange: '2026-10-04T13:16:35.433Z' });
  fake.answers.set('authorize', 'YXV0aA==');
  fake.answers.set('getCookie', { expiration: '2026-10-04T20:33:26.65455Z', encryptedData: 'Y29va2ll' });
  fake.answers.set('revisionIdList', { anchor: '1,2026-10-04 16:33:26.671', revisions: [{ updateId: 'a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe', revisionNumber: 200 }] });
  fake.answers.set('updateData', { updates: [
    { identity: { updateId: 'a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe', revisionNumber: 200 }, xml: doc, fileDigests: [] },
    { identity: { updateId: 'ccb78947-6453-4ecc-9de8-bc0305c98f2d', revisionNumber: 200 }, xml: small, fileDigests: ['h/W9BGlYUAaqXTp30cZi/SiV3c0='] },
  ], fileUrls: [{ digest: 'h/W9BGlYUAaqXTp30cZi/SiV3c0=', muUrl: null, ussUrl: null }] });
  const dispatcher = createUpstreamDispatcher({ proxy: null, caFile: null, connectTimeoutSeconds: 5, requestTimeoutSeconds: 30 });
  try {
    await withRoleServer({ upstreamRole: fake.role, compressBlobs: true }, async (base) => {
      const s = await openUpstreamSession({ baseUrl: base, serverId: SESSION.serverId, serverName: 'ds.lab.invalid', dispatcher, requestTimeoutMs: 5000, retries: 1, lastCookie: null, log: quietLog });
      assert.deepEqual(fake.calls.find((c) => c.method === 'authorize')!.args, ['ds.lab.invalid', SESSION.serverId, '127.0.0.1']);
      assert.equal((await s.revisionIdList({ anchor: null, getConfig: true, get63LanguageOnly: false, categories: null, classifications: null, languages: null })).revisions.length, 1);
      assert.deepEqual(await s.updateData([]), fake.answers.get('updateData'));
      assert.deepEqual(fake.calls.filter((c) => c.method === 'open').map((c) => c.args[0]), ['Y29va2ll', 'Y29va2ll']);
    });
  } finally {
    await dispatcher.close();
  }
});

test('rollup with the dummy cookie: a service offering rollupSession is given the server ids the request claims', async () => {
  const fake = fakeRole();
  const claims: unknown[][] = [];
  const role = Object.assign(fake.role, {
    rollupSession: (data: string | null, claimed: readonly string[]): DssSession => {
      claims.push([data, claimed]);
      return SESSION;
    },
  });
  fake.answers.set('getOutOfSyncComputers', []);
  fake.answers.set('rollupComputers', [{ computerId: 'd07a4d51-7cb2-46d1-ad86-91195cb4325a', change: 'NewParent' }]);
  const dummy = '<cookie><Expiration>9999-12-31T23:59:59.9999999</Expiration><EncryptedData /></cookie>';
  await withRoleServer({ upstreamRole: role }, async (base) => {
    const rep = '/ReportingWebService/ReportingWebService.asmx';
    const out = await post(base, rep, headers('GetOutOfSyncComputers'), soap(`<GetOutOfSyncComputers xmlns="${NS}">${dummy}<parentServerId>050CEE4A-AAFF-470C-8FC3-7A94CB3A4293</parentServerId></GetOutOfSyncComputers>`));
    assert.equal(body(out.text), `<GetOutOfSyncComputersResponse xmlns="${NS}"><GetOutOfSyncComputersResult /></GetOutOfSyncComputersResponse>`);
    const rc = await post(base, rep, headers('RollupComputers'), soap(`<RollupComputers xmlns="${NS}">${dummy}<clientTime>2007-03-06T03:28:02Z</clientTime><computers>` +
      '<ComputerRollupInfo ComputerId="d07a4d51-7cb2-46d1-ad86-91195cb4325a" ParentServerId="050cee4a-aaff-470c-8fc3-7a94cb3a4293" /></computers></RollupComputers>'));
    assert.equal(body(rc.text), `<RollupComputersResponse xmlns="${NS}"><RollupComputersResult><ChangedComputer ComputerId="d07a4d51-7cb2-46d1-ad86-91195cb4325a" Change="NewParent" /></RollupComputersResult></RollupComputersResponse>`);
  });
  assert.deepEqual(claims, [[null, ['050cee4a-aaff-470c-8fc3-7a94cb3a4293']], [null, ['050cee4a-aaff-470c-8fc3-7a94cb3a4293']]]);
  assert.equal(fake.calls.filter((c) => c.method === 'open').length, 0);
});
