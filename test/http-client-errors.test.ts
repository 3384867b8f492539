import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../src/app/server.js';
import { tempDataDir, testConfig } from './support/test-server.js';
import { captureLog } from './support/log-capture.js';
import { rawConnect } from './support/overload-raw.js';

// Requests Node's HTTP parser refuses before any handler runs (garbage request lines, oversized
// headers) are answered with the right status and show up in the log, counted, one line per
// interval rather than one per request.

test('malformed requests refused by the HTTP parser get 400/431 and are logged once with counts', async () => {
  const tmp = tempDataDir();
  const cap = captureLog();
  const server = await startServer(testConfig(tmp.dir), cap.log);
  try {
    const from = cap.mark();
    const garbage = await rawConnect(server.port);
    garbage.write('\x16\x03\x01 this is not HTTP\r\n\r\n');
    const [bad] = await garbage.closed;
    assert.equal(bad?.status, 400);

    const huge = await rawConnect(server.port);
    huge.write(`GET /ClientWebService/wusserverversion.xml HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    const [tooBig] = await huge.closed;
    assert.equal(tooBig?.status, 431);

    const logged = cap.find({ message: /malformed or timed-out HTTP requests refused/ }, from);
    assert.equal(logged.length, 1, 'one line for the interval, not one per request');
    assert.ok(Object.keys(logged[0]!.counts as object).length >= 1);
    assert.equal(logged[0]!.lastAddress, '127.0.0.1');
    const ok = await fetch(`${server.url}/ClientWebService/wusserverversion.xml`);
    assert.equal(ok.status, 200, 'the server keeps serving');
  } finally {
    await server.close();
    tmp.cleanup();
  }
});
