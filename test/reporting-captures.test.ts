import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withServer, importInto } from './support/test-server.js';
import { WuaClient, postSoap } from './support/wua-client.js';
import { CAPTURES, SKIP, capturesPresent, loadExchange, parseXml, resultElement, skeleton } from './support/captures.js';
import { conformanceCatalog } from './support/conformance-catalog.js';
import { createUpdateStatusStore } from '../src/store/update-status.store.js';
import { unpackCells } from '../src/core/reporting/status-rules.js';
import { UpdateState as S } from '../src/core/reporting/update-state.js';

// The real ReportEventBatch requests of ../shared/captures replayed against our server (our
// cookie in place of the redacted one): the answer is the real one, and the statuses that
// follow are what those real clients went through (read in place; skipped without the captures).

const ACTION = '"http://www.microsoft.com/SoftwareDistribution/ReportEventBatch"';
const KB2267602 = 'a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe';
const HR_0x80246007 = -2145099769;
const OURS = join(CAPTURES, 'wsus-m0-ours');

const withCookie = (body: string, c: WuaClient): string => body.replace(/<cookie>[\s\S]*?<\/cookie>/, c.cookieXml());
const sid = (body: string): string => /<Sid>([^<]+)<\/Sid>/.exec(body)![1]!;

test('real ReportEventBatch requests: the real answer, and the statuses they mean', async (t) => {
  if (!capturesPresent || !existsSync(OURS)) {
    t.skip(SKIP);
    return;
  }
  await withServer({}, (config) => void importInto(config, conformanceCatalog(CAPTURES).sources), async (server) => {
    const pk = server.db.prepare<[string], number>('SELECT id FROM updates WHERE update_id = ?').pluck().get(KB2267602)!;
    const status = createUpdateStatusStore(server.db);
    const cells = (clientId: string): Map<number, number> => unpackCells(status.get(clientId)!.cells);

    await t.test('native agent (wsus-m0-native/flow 16-18): ReportEventBatchResult true, byte for byte; 182 → failed with 0x80246007', async () => {
      const first = loadExchange('wsus-m0-native/flow/000016');
      const c = new WuaClient(server.url, sid(first.requestBody));
      await c.handshake();
      let events = 0;
      for (const id of ['000016', '000017', '000018']) {
        const e = loadExchange(`wsus-m0-native/flow/${id}`);
        events += (e.requestBody.match(/<ReportingEvent>/g) ?? []).length;
        const r = await postSoap(server.url, e.path, ACTION, withCookie(e.requestBody, c), { xpress: false });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.text, e.responseBody, `${id}: the real answer`);
      }
      server.flush();
      assert.equal(server.db.prepare('SELECT count(*) FROM events WHERE client_id = ?').pluck().get(c.clientId), events);
      assert.deepEqual(cells(c.clientId), new Map([[pk, S.Failed]]));
      assert.equal(status.failuresOf(c.clientId).get(pk)?.hresult, HR_0x80246007);
      const pc = server.db.prepare('SELECT manufacturer, model, processor_architecture, os_build, os_locale, client_version, bios_name, bios_release_date FROM computers WHERE client_id = ?').get(c.clientId);
      assert.deepEqual(pc, {
        manufacturer: 'QEMU', model: 'Standard PC (Q35 + ICH9, 2009)', processor_architecture: 'AMD64', os_build: 26200, os_locale: 'en-US',
        client_version: '1507.2601.30012.0', bios_name: 'unknown', bios_release_date: '2022-02-02T00:00:00',
      });
    });

    await t.test('native agent against this server (wsus-m0-ours): scan + download, install (183 with D=1), then the closure run again', async () => {
      const real = loadExchange('wsus-m0-native/flow/000016');
      const realShape = skeleton(resultElement(real.doc)!);
      const body = (set: string): string => readFileSync(join(OURS, set, 'request.body'), 'utf8');
      const c = new WuaClient(server.url, sid(body('staged/000232')));
      await c.handshake();
      const steps: Array<[string, number]> = [['staged/000232', S.Downloaded], ['staged/000233', S.Installed], ['closure/000225', S.Downloaded], ['closure/000226', S.Installed]];
      for (const [set, expected] of steps) {
        const r = await postSoap(server.url, '/ReportingWebService/ReportingWebService.asmx', ACTION, withCookie(body(set), c), { xpress: false });
        assert.equal(r.status, 200, r.text);
        assert.equal(skeleton(resultElement(parseXml(r.text))!), realShape, `${set}: the real answer's shape`);
        assert.match(r.text, /<ReportEventBatchResult>true<\/ReportEventBatchResult>/);
        server.flush();
        assert.deepEqual(cells(c.clientId), new Map([[pk, expected]]), set);
      }
      const stored = server.db.prepare<[string], string>("SELECT misc_data FROM events WHERE client_id = ? AND event_id = 156").pluck().all(c.clientId);
      assert.deepEqual(stored, [JSON.stringify(['Q=1', 'U#=1', 'c=48']), JSON.stringify(['Q=1', 'U#=1', 'c=48'])], 'stored slim');
    });
  });
});
