import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createPrivateKey, randomUUID } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { Agent, getGlobalDispatcher, request, setGlobalDispatcher } from 'undici';
import { certCommand, createSelfSignedCertificate } from '../src/cli/commands/cert.command.js';
import { UsageError } from '../src/cli/args.js';
import { describeCertificate, loadKeyPair, startTlsListener, TlsSetupError } from '../src/http/tls-listener.js';
import { isMetadataPath, plainHttpHandler, plainHttpMetadataWarning } from '../src/http/transport-policy.js';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { child } from '../src/protocol/xml/xml-element.js';
import { captureLog, handlerOf, lab, tempTlsFiles, withTlsServer } from './support/tls-server.js';
import { importInto, tempDataDir } from './support/test-server.js';
import { envelope, WuaClient } from './support/wua-client.js';

const CLIENT_NS = 'http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService';
const hello = (req: IncomingMessage, res: ServerResponse): void => {
  const peer = (req.socket as TLSSocket).getPeerCertificate?.();
  res.end(JSON.stringify({ path: req.url, peer, protocol: (req.socket as TLSSocket).getProtocol?.() }));
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The certificate a fresh connection is served (no session reuse), by fingerprint. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.end();
    });
    s.once('error', reject);
  });
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (await check()) return;
  assert.fail(`timed out waiting for ${what}`);
}

test('cert create: SANs for every host, serverAuth, RSA 3072/SHA-256, key 0600, policy values printed', async () => {
  const tmp = tempDataDir();
  const out: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((s: string) => out.push(s) !== 0) as typeof process.stdout.write;
  try {
    assert.equal(await certCommand(['create', '--out', tmp.dir, '--host', 'WSUS.corp.example,10.0.0.5', '--host', 'localhost', '--days', '90']), 0);
  } finally {
    process.stdout.write = write;
  }
  try {
    const info = describeCertificate(readFileSync(`${tmp.dir}/cert.pem`));
    assert.deepEqual(info.sans, ['DNS:wsus.corp.example', 'IP Address:10.0.0.5', 'DNS:localhost']);
    assert.equal(info.subjectCN, 'wsus.corp.example');
    assert.deepEqual(info.extendedKeyUsage, ['1.3.6.1.5.5.7.3.1']);
    assert.equal(info.keyType, 'rsa');
    assert.equal(info.keyBits, 3072);
    assert.equal(info.selfSigned, true);
    assert.ok(info.daysLeft >= 89 && info.daysLeft <= 90, String(info.daysLeft));
    assert.equal(statSync(`${tmp.dir}/key.pem`).mode & 0o777, 0o600);
    const text = out.join('');
    for (const line of ['WUServer                  = https://wsus.corp.example:8531', 'WUStatusServer            = https://wsus.corp.example:8531',
      'http://wsus.corp.example:8530/Content/', '"tlsCert":', '"tlsKey":', '"httpsPort": 8531', 'Trusted Root Certification Authorities']) {
      assert.ok(text.includes(line), `output names ${line}`);
    }
    await assert.rejects(certCommand(['create', '--out', tmp.dir]), /already exists/);
    await assert.rejects(certCommand(['create', '--out', tmp.dir, '--force', '--host', 'bad host!']), UsageError);
  } finally {
    tmp.cleanup();
  }
});

test('certificate checks at start: clear errors for missing, non-PEM, encrypted and mismatched files; warnings for dates', () => {
  const a = tempTlsFiles();
  const b = lab();
  try {
    assert.throws(() => loadKeyPair(`${a.dir}/nope.pem`, a.keyFile), (e: Error) => e instanceof TlsSetupError && /certificate file not found: .*nope\.pem \(tlsCert\)/.test(e.message));
    assert.throws(() => loadKeyPair(a.certFile, `${a.dir}/nope.pem`), /private key file not found.*\(tlsKey\)/);
    assert.throws(() => loadKeyPair(a.dir, a.keyFile), /is a directory/);
    writeFileSync(`${a.dir}/other-key.pem`, b.keyPem);
    assert.throws(() => loadKeyPair(a.certFile, `${a.dir}/other-key.pem`), /does not match the certificate/);
    writeFileSync(`${a.dir}/junk.pem`, 'hello');
    assert.throws(() => loadKeyPair(`${a.dir}/junk.pem`, a.keyFile), /not a PEM certificate/);
    assert.throws(() => loadKeyPair(a.certFile, `${a.dir}/junk.pem`), /not a PEM private key/);
    writeFileSync(`${a.dir}/locked.pem`, createPrivateKey(a.pair.keyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }));
    assert.throws(() => loadKeyPair(a.certFile, `${a.dir}/locked.pem`), /private key is encrypted/);
    if (process.getuid?.() !== 0) {
      writeFileSync(`${a.dir}/secret.pem`, a.pair.keyPem, { mode: 0o000 });
      assert.throws(() => loadKeyPair(a.certFile, `${a.dir}/secret.pem`), /not readable by this process/);
    }
    assert.equal(loadKeyPair(a.certFile, a.keyFile).warnings.length, 0);
    const day = 86_400_000;
    assert.match(loadKeyPair(a.certFile, a.keyFile, new Date(Date.now() + 91 * day)).warnings.join(), /expired on/);
    assert.match(loadKeyPair(a.certFile, a.keyFile, new Date(Date.now() - 2 * day)).warnings.join(), /not valid before/);
    assert.match(loadKeyPair(a.certFile, a.keyFile, new Date(Date.now() + 85 * day)).warnings.join(), /expires in [45] days/);
  } finally {
    a.cleanup();
  }
});

test('TLS listener: HTTPS works with the generated certificate as the only trust anchor, modern TLS, no client certificate', async () => {
  const files = tempTlsFiles();
  const l = await startTlsListener({ host: '127.0.0.1', port: 0, certFile: files.certFile, keyFile: files.keyFile, handler: hello, log: captureLog() });
  const agent = new Agent({ connect: { ca: files.pair.certPem } });
  try {
    const r = await request(`https://localhost:${l.port}/x`, { dispatcher: agent });
    const body = await r.body.json() as { path: string; peer: object; protocol: string };
    assert.equal(r.statusCode, 200);
    assert.equal(body.path, '/x');
    assert.deepEqual(body.peer, {}, 'the server holds no client certificate');
    assert.equal(body.protocol, 'TLSv1.3');
    assert.equal((l.server as unknown as { requestCert: boolean }).requestCert, false);

    // TLS 1.0/1.1: the client is made willing (security level 0), so a failure is the server's refusal.
    const old = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      const s = connect({ port: l.port, host: '127.0.0.1', minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0', rejectUnauthorized: false }, () => {
        s.end();
        resolve(null);
      });
      s.once('error', resolve);
    });
    assert.ok(old, 'a TLS 1.1 handshake must fail');
    assert.match(String(old.code ?? old.message), /PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|WRONG_VERSION/i);
    const tls12 = await new Promise<string | null>((resolve, reject) => {
      const s = connect({ port: l.port, host: '127.0.0.1', servername: 'localhost', ca: files.pair.certPem, maxVersion: 'TLSv1.2' }, () => {
        resolve(s.getCipher().name);
        s.end();
      });
      s.once('error', reject);
    });
    assert.match(tls12 ?? '', /^ECDHE-RSA-AES(128|256)-GCM-SHA(256|384)$/);
  } finally {
    await agent.close();
    await l.close();
    files.cleanup();
  }
});

// OpenSSL's message trace (printed by the client on stderr) shows whether the server sent a
// CertificateRequest: the one thing that makes Windows Update fail with 0x80072F0C.
// Spawned asynchronously: the server under test runs on this process's event loop.
function handshakeTrace(port: number, version: 'TLSv1.2' | 'TLSv1.3', ca: string): Promise<string> {
  const code = `import tls from 'node:tls';
    const s = tls.connect({ port: ${port}, host: '127.0.0.1', servername: 'localhost', ca: process.env.CA, minVersion: '${version}', maxVersion: '${version}' });
    s.enableTrace();
    s.once('secureConnect', () => { process.stderr.write('HANDSHAKE-OK\\n'); s.end(); });
    s.once('error', (e) => { process.stderr.write('HANDSHAKE-FAILED ' + e.message + '\\n'); process.exit(1); });`;
  const p = spawn(process.execPath, ['--input-type=module', '-e', code], { env: { ...process.env, CA: ca }, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
  let err = '';
  p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve) => p.once('close', () => resolve(err)));
}

test('the TLS endpoint never sends a CertificateRequest (TLS 1.2 and 1.3), unlike a server that asks', async (t) => {
  const files = tempTlsFiles();
  const l = await startTlsListener({ host: '127.0.0.1', port: 0, certFile: files.certFile, keyFile: files.keyFile, handler: hello, log: captureLog() });
  const asking = createHttpsServer({ cert: files.pair.certPem, key: files.pair.keyPem, requestCert: true, rejectUnauthorized: false }, hello);
  await new Promise<void>((r) => asking.listen(0, '127.0.0.1', r));
  try {
    for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
      const control = await handshakeTrace((asking.address() as AddressInfo).port, v, files.pair.certPem);
      if (!/ServerHello/.test(control)) {
        t.skip('this Node build has no OpenSSL message trace (enableTrace)');
        return;
      }
      assert.match(control, /CertificateRequest/, `${v}: the check detects a server that asks`);
      const ours = await handshakeTrace(l.port, v, files.pair.certPem);
      assert.match(ours, /HANDSHAKE-OK/, ours.slice(-500));
      assert.match(ours, /ServerHello/, 'the trace is really on');
      assert.doesNotMatch(ours, /CertificateRequest/, `${v}: no client certificate is requested`);
    }
  } finally {
    asking.close();
    await l.close();
    files.cleanup();
  }
});

test('certificate files are reloaded on change; a broken replacement keeps the previous certificate', async () => {
  const files = tempTlsFiles();
  const log = captureLog();
  const l = await startTlsListener({ host: '127.0.0.1', port: 0, certFile: files.certFile, keyFile: files.keyFile, handler: hello, log, watchIntervalMs: 100 });
  try {
    assert.equal(await servedFingerprint(l.port), files.pair.fingerprint256);
    const second = lab(['localhost', 'renewed.example']);
    writeFileSync(files.keyFile, second.keyPem);
    writeFileSync(files.certFile, second.certPem);
    await until('the renewed certificate', async () => (await servedFingerprint(l.port)) === second.fingerprint256);
    assert.ok(log.lines.some((x) => x.message === 'TLS certificate reloaded' && JSON.stringify(x.meta).includes('renewed.example')));
    assert.ok(!log.lines.some((x) => x.level === 'error'), 'key written before certificate: no false alarm');

    // A certificate whose key is not there: refused, logged, old pair kept.
    const third = lab(['localhost', 'third.example']);
    writeFileSync(files.certFile, third.certPem);
    await until('the refusal', () => log.lines.some((x) => x.level === 'error'));
    assert.match(log.lines.find((x) => x.level === 'error')!.message, /reload refused; still serving the previous certificate/);
    assert.equal(await servedFingerprint(l.port), second.fingerprint256);
    writeFileSync(files.certFile, 'not a certificate');
    await sleep(400);
    assert.equal(await servedFingerprint(l.port), second.fingerprint256);
    // The missing half arrives later: the pair becomes valid and is taken.
    writeFileSync(files.certFile, third.certPem);
    writeFileSync(files.keyFile, third.keyPem);
    await until('the third certificate', async () => (await servedFingerprint(l.port)) === third.fingerprint256);
  } finally {
    await l.close();
    files.cleanup();
  }
});

const catalog = generateCatalog({ updates: 20, seed: 3 });
const sources = [...catalog.documents].map((d) => ({ name: d.fileName, read: () => d.xml }));

test('real server over HTTPS: GetConfig, handshake, scan; content locations stay on plain HTTP', async () => {
  await withTlsServer({}, (config) => void importInto(config, sources), async ({ server, httpsUrl, files }) => {
    const agent = new Agent({ connect: { ca: files.pair.certPem } });
    const previous = getGlobalDispatcher();
    setGlobalDispatcher(agent); // the simulated client uses undici's global dispatcher
    try {
      const r = await request(`${httpsUrl}/ClientWebService/client.asmx`, {
        method: 'POST',
        headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${CLIENT_NS}/GetConfig"` },
        body: envelope(`<GetConfig xmlns="${CLIENT_NS}"><protocolVersion>2.90</protocolVersion></GetConfig>`),
      });
      const text = await r.body.text();
      assert.equal(r.statusCode, 200, text);
      assert.match(text, /<GetConfigResult>.*<Name>ProtocolVersion<\/Name><Value>3\.2<\/Value>/s);

      const c = new WuaClient(httpsUrl, randomUUID());
      await c.handshake();
      await c.fullScan();
      const leaves = [...c.received.values()].filter((u) => u.action === 'Bundle').map((u) => u.revisionId).slice(0, 10);
      const info = await c.extendedInfo(leaves);
      const locs = child(child(info.result, 'GetExtendedUpdateInfoResult')!, 'FileLocations')!.children;
      assert.ok(locs.length > 0);
      for (const loc of locs) assert.match(child(loc, 'Url')!.text, new RegExp(`^http://localhost:${server.port}/Content/`));
    } finally {
      setGlobalDispatcher(previous);
      await agent.close();
    }
  });
});

test('requireHttps: metadata paths are recognised however they are spelled; content and selfupdate are not', () => {
  for (const p of ['/ClientWebService/client.asmx', '/clientwebservice/CLIENT.ASMX?wsdl', '//SimpleAuthWebService//SimpleAuth.asmx',
    '/ReportingWebService/WebService.asmx', '/%43lientWebService/client.asmx', '/ServerSyncWebService/ServerSyncWebService.asmx',
    '/DssAuthWebService/DssAuthWebService.asmx', '/ClientWebService', '/ClientWebService/wusserverversion.xml']) {
    assert.equal(isMetadataPath(p), true, p);
  }
  for (const p of ['/Content/AB/0123ABCD.cab', '/Content/anonymousCheckFile.txt', '/selfupdate/wuident.cab', '/', '/ClientWebServiceX/a', '/x/ClientWebService/', '/%E0%A4%A']) {
    assert.equal(isMetadataPath(p), false, p);
  }
  assert.equal(plainHttpMetadataWarning({ requireHttps: true, httpsPort: 8531 }), null);
  assert.match(plainHttpMetadataWarning({ requireHttps: false, httpsPort: null })!, /plain HTTP only.*WSUSpect.*tlsCert/);
  assert.match(plainHttpMetadataWarning({ requireHttps: false, httpsPort: 8531 })!, /also served over plain HTTP.*requireHttps/);
  const h = (): void => undefined;
  assert.equal(plainHttpHandler({ requireHttps: false, httpsPort: 8531 }, h), h, 'no wrapper without requireHttps');
});

test('requireHttps on the HTTP listener: SOAP answers 403 with a clear text, /Content and /selfupdate pass through', async () => {
  const http = createServer(plainHttpHandler({ requireHttps: true, httpsPort: 8531 }, (req, res) => res.end(`passed ${req.url}`)));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const port = (http.address() as AddressInfo).port;
  const call = (method: string, path: string): Promise<{ status: number; body: string }> => new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { host: `wsus.corp.example:${port}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.once('error', reject);
    req.end(method === 'POST' ? envelope('<GetConfig/>') : undefined);
  });
  try {
    const refused = await call('POST', '/ClientWebService/client.asmx');
    assert.equal(refused.status, 403);
    assert.match(refused.body, /HTTPS only \(requireHttps\).*https:\/\/wsus\.corp\.example:8531/s);
    assert.equal((await call('GET', '/SimpleAuthWebService/SimpleAuth.asmx')).status, 403);
    assert.equal((await call('POST', '/reportingwebservice/reportingwebservice.asmx')).status, 403);
    assert.deepEqual(await call('GET', '/Content/AB/0123ABCD.cab'), { status: 200, body: 'passed /Content/AB/0123ABCD.cab' });
    assert.deepEqual(await call('GET', '/selfupdate/wuident.cab'), { status: 200, body: 'passed /selfupdate/wuident.cab' });
  } finally {
    http.close();
  }
});

test('requireHttps around the real handler: GetConfig refused on HTTP, still answered over HTTPS; content not refused', async () => {
  await withTlsServer({}, () => undefined, async ({ server, httpsUrl, files }) => {
    const guarded = createServer(plainHttpHandler({ requireHttps: true, httpsPort: 8531 }, handlerOf(server)));
    await new Promise<void>((r) => guarded.listen(0, '127.0.0.1', r));
    const agent = new Agent({ connect: { ca: files.pair.certPem } });
    const getConfig = { method: 'POST' as const, headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${CLIENT_NS}/GetConfig"` },
      body: envelope(`<GetConfig xmlns="${CLIENT_NS}"><protocolVersion>2.90</protocolVersion></GetConfig>`) };
    try {
      const base = `http://127.0.0.1:${(guarded.address() as AddressInfo).port}`;
      const refused = await request(`${base}/ClientWebService/client.asmx`, getConfig);
      assert.equal(refused.statusCode, 403);
      assert.match(await refused.body.text(), /https:\/\/127\.0\.0\.1:8531/);
      const content = await request(`${base}/Content/anonymousCheckFile.txt`);
      await content.body.dump();
      assert.notEqual(content.statusCode, 403);
      const ok = await request(`${httpsUrl}/ClientWebService/client.asmx`, { ...getConfig, dispatcher: agent });
      assert.equal(ok.statusCode, 200);
      await ok.body.dump();
    } finally {
      guarded.close();
      await agent.close();
    }
  });
});

test('createSelfSignedCertificate refuses hosts a SAN cannot carry', () => {
  assert.throws(() => createSelfSignedCertificate({ hosts: ['a b'], days: 1, keyBits: 2048 }), UsageError);
  assert.throws(() => createSelfSignedCertificate({ hosts: [], days: 1, keyBits: 2048 }), UsageError);
});
