import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { importInto, withServer } from './support/test-server.js';
import { WuaClient } from './support/wua-client.js';
import { rawConnect, soapHead, until, type RawConn } from './support/overload-raw.js';

// Slowloris: hundreds of connections trickling their headers or their bodies one byte a
// second. Each ties up only its own connection: a slow body gives its SOAP slot up after
// slowBodyGraceSeconds, the header and request timeouts end them all, and meanwhile a normal
// client scans as usual. Timeouts are lowered through config so the test takes seconds.

const SLOW_HEADERS = 250;
const SLOW_BODIES = 250;
const catalog = generateCatalog({ updates: 12, seed: 9 });
const sources = [...catalog.documents].map((d) => ({ name: d.fileName, read: () => d.xml }));

test('500 slow connections (headers and bodies at one byte a second) do not stop a normal scan, and the timeouts end them', async () => {
  const limits = { headersTimeoutSeconds: 8, requestTimeoutSeconds: 10, slowBodyGraceSeconds: 1, maxConcurrentSoap: 16, maxQueuedSoap: 16 };
  await withServer({ limits }, (config) => void importInto(config, sources), async (server) => {
    const head = 'POST /ClientWebService/client.asmx HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nSOAPAction: "x"\r\nX-Pad: ' + 'a'.repeat(4000);
    const slowHeaders: RawConn[] = [];
    const slowBodies: RawConn[] = [];
    for (let i = 0; i < SLOW_HEADERS; i++) slowHeaders.push(await rawConnect(server.port));
    for (let i = 0; i < SLOW_BODIES; i++) {
      const c = await rawConnect(server.port);
      c.write(soapHead('/ClientWebService/client.asmx', 'x', 100_000));
      slowBodies.push(c);
    }
    let tick = 0;
    const trickle = setInterval(() => {
      for (const c of slowHeaders) c.write(head[tick % head.length]!);
      for (const c of slowBodies) c.write('<');
      tick++;
    }, 1000);
    try {
      const stats = () => server.admission.stats();
      // The slow bodies beyond the slots and the queue were refused from their headers; those
      // admitted give their slots up after the grace period.
      await until(() => stats().slowBodies + stats().refused.soapFull === SLOW_BODIES, 'every slow body to be refused or to give its slot up');
      await until(() => stats().soapActive === 0 && stats().soapQueued === 0, 'the slots to be free');
      const stillOpen = slowHeaders.filter((c) => !c.isClosed()).length + slowBodies.filter((c) => !c.isClosed()).length;
      assert.equal(slowHeaders.filter((c) => c.isClosed()).length, 0, 'the slow-header connections are still open (their timeout has not come)');
      assert.ok(stillOpen >= SLOW_HEADERS + stats().slowBodies, `${stillOpen} slow connections open during the scan`);

      const client = new WuaClient(server.url, randomUUID());
      await client.handshake();
      const pages = await client.fullScan();
      assert.ok(pages >= 1 && client.received.size > 0, 'the scan went through');

      // The timeouts end every slow connection; the ones that were never answered get 408.
      const ends = await Promise.all([...slowHeaders, ...slowBodies].map((c) => c.closed));
      const headerEnds = ends.slice(0, SLOW_HEADERS);
      assert.ok(headerEnds.every((r) => r.length === 1 && r[0]!.status === 408), 'slow headers end with 408 Request Timeout');
      const bodyStatuses = new Set(ends.slice(SLOW_HEADERS).map((r) => r[0]?.status));
      assert.deepEqual([...bodyStatuses].sort(), [408, 503], 'slow bodies end with 503 (refused at once) or 408 (cut by the request timeout)');
      assert.ok(stats().slowBodies >= 16, `${stats().slowBodies} slow bodies gave their slot up`);
    } finally {
      clearInterval(trickle);
      for (const c of [...slowHeaders, ...slowBodies]) c.end();
    }
  });
});
