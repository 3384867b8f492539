import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { withServer } from './support/test-server.js';
import { WuaClient, envelope } from './support/wua-client.js';
import { xpressCompress } from '../src/protocol/xpress/index.js';

// Input that never was a valid SOAP call gets an HTTP status or the real fault shape, stores
// nothing, and the server keeps serving.

const CLIENT = '/ClientWebService/client.asmx';
const NS = 'http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService';

async function post(url: string, body: Buffer | string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  const r = await request(`${url}${CLIENT}`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', ...headers }, body });
  return { status: r.statusCode, text: await r.body.text(), headers: r.headers };
}

const getConfig = envelope(`<GetConfig xmlns="${NS}"><protocolVersion>2.90</protocolVersion></GetConfig>`);

test('transport-level refusals: 413, 415, 405, and xpress request bodies are accepted', async () => {
  await withServer({ limits: { maxBodyBytes: 64 * 1024 } }, () => undefined, async (server) => {
    assert.equal((await post(server.url, 'x'.repeat(70 * 1024))).status, 413);
    assert.equal((await post(server.url, getConfig, { 'content-type': 'application/json' })).status, 415);
    assert.equal((await post(server.url, getConfig, { 'content-encoding': 'gzip' })).status, 415);
    assert.equal((await post(server.url, Buffer.from('garbage'), { 'content-encoding': 'xpress' })).status, 400);
    const r = await request(`${server.url}${CLIENT}`, { method: 'PUT', body: 'x' });
    assert.equal(r.statusCode, 405);
    await r.body.text();
    const ok = await post(server.url, xpressCompress(Buffer.from(getConfig)), { 'content-encoding': 'xpress' });
    assert.equal(ok.status, 200);
    assert.match(ok.text, /<GetConfigResult>/);
  });
});

test('SOAP-level refusals get the real fault shape and the server keeps serving', async () => {
  await withServer({}, () => undefined, async (server) => {
    const cases: Array<[string, string]> = [
      ['unknown operation', envelope(`<Frobnicate xmlns="${NS}"/>`)],
      ['wrong namespace', envelope('<GetConfig xmlns="urn:other"><protocolVersion>2.90</protocolVersion></GetConfig>')],
      ['entity expansion', `<!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>${getConfig}`],
      ['external entity', `<!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>&x;</s:Body></s:Envelope>`],
      ['deep nesting', envelope('<a>'.repeat(500) + '</a>'.repeat(500))],
      ['huge array', envelope(`<SyncUpdates xmlns="${NS}"><parameters><OtherCachedUpdateIDs>${'<int>1</int>'.repeat(60_000)}</OtherCachedUpdateIDs></parameters></SyncUpdates>`)],
      ['bad GUID', envelope(`<StartCategoryScan xmlns="${NS}"><requestedCategories><CategoryRelationship><IndexOfAndGroup>0</IndexOfAndGroup><CategoryId>not-a-guid</CategoryId></CategoryRelationship></requestedCategories></StartCategoryScan>`)],
      ['bad base64 digest', envelope(`<GetFileLocations xmlns="${NS}"><cookie><Expiration>2026-01-01T00:00:00Z</Expiration><EncryptedData>@@@</EncryptedData></cookie><fileDigests><base64Binary>@@@</base64Binary></fileDigests></GetFileLocations>`)],
      ['SOAP 1.2 envelope', '<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>'],
      ['not XML', 'hello'],
    ];
    for (const [name, body] of cases) {
      const r = await post(server.url, body);
      assert.equal(r.status, 500, name);
      assert.match(r.text, /^<s:Envelope xmlns:s="http:\/\/schemas.xmlsoap.org\/soap\/envelope\/"><s:Body><s:Fault><faultcode>s:(Client|VersionMismatch)<\/faultcode><faultstring>Fault occurred<\/faultstring><detail><ErrorCode>[A-Za-z]+<\/ErrorCode><Message>[^<]*<\/Message><ID>[0-9a-f-]{36}<\/ID><Method>[^<]*<\/Method><\/detail><\/s:Fault><\/s:Body><\/s:Envelope>$/, name);
      assert.doesNotMatch(r.text, /root:|aaaaaaaaaa/, name);
    }
    const c = new WuaClient(server.url, randomUUID());
    await c.handshake();
    assert.equal((await c.syncPage()).truncated, false, 'still serving');
  });
});

test('WSDL is served for each service with the server URL', async () => {
  await withServer({}, () => undefined, async (server) => {
    for (const path of ['/ClientWebService/client.asmx', '/SIMPLEAUTHWEBSERVICE/SimpleAuth.asmx', '//ReportingWebService/WebService.asmx']) {
      const r = await request(`${server.url}${path}?wsdl`);
      const text = await r.body.text();
      assert.equal(r.statusCode, 200, path);
      assert.match(text, /<wsdl:definitions/);
      assert.ok(text.includes(`http://127.0.0.1:${server.port}/`), 'soap:address names this server');
      assert.ok(!text.includes('{{SERVICE_URL}}'));
    }
  });
});
