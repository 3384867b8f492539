import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate, randomUUID } from 'node:crypto';
import { createSelfSignedCertificate } from '../src/cli/commands/cert.command.js';
import {
  GIB, certificateStatus, clientFailureStatus, diskStatus, type CheckStatus,
} from '../src/core/health/health-rules.js';
import { readHealth } from '../src/services/health/health.service.js';
import type { HealthProbes } from '../src/services/health/health-probes.js';
import { createEventsStore, type StoredEvent } from '../src/store/events.store.js';
import { adminHandle, tempDataDir, testConfig, withServer } from './support/test-server.js';
import { cliFor, runCli } from './support/admin-cli.js';

// `wsus health`: the thresholds (table-driven), each check against a real database, and the
// command through the admin API as an administrator runs it.

test('thresholds: disk, certificates, client failure rates', () => {
  const disk: Array<[number, number, CheckStatus]> = [
    [50 * GIB, 100 * GIB, 'ok'], [10 * GIB, 100 * GIB, 'ok'], [9.9 * GIB, 100 * GIB, 'warn'], [1.9 * GIB, 100 * GIB, 'red'],
    [0.9 * GIB, 5 * GIB, 'red'], [1.5 * GIB, 5 * GIB, 'ok'], [0, 0, 'warn'],
  ];
  for (const [free, total, want] of disk) assert.equal(diskStatus(free, total), want, `${free}/${total}`);
  const now = new Date('2026-05-01T00:00:00Z');
  const day = 86_400_000;
  assert.deepEqual(certificateStatus(new Date(now.getTime() + 90 * day), now), { status: 'ok', daysLeft: 90 });
  assert.deepEqual(certificateStatus(new Date(now.getTime() + 29 * day), now), { status: 'warn', daysLeft: 29 });
  assert.equal(certificateStatus(new Date(now.getTime() - 1000), now).status, 'red');
  const clients: Array<[number, number, CheckStatus]> = [[10, 10, 'ok'], [100, 9, 'ok'], [100, 10, 'warn'], [100, 50, 'red'], [0, 0, 'ok']];
  for (const [events, failures, want] of clients) assert.equal(clientFailureStatus(events, failures), want, `${failures}/${events}`);
});

function event(clientId: string, eventId: number, hresult = 0): StoredEvent {
  return {
    eventInstanceId: randomUUID(), clientId, eventId, namespaceId: 1, sourceId: 101, updateId: '00000000-0000-0000-0000-000000000000',
    revisionNumber: 0, timeAtTarget: new Date().toISOString(), win32HResult: hresult, appName: 'test', replacementStrings: [], miscData: [],
  };
}

const systemCert = (file: string): Date => new Date(new X509Certificate(readFileSync(file, 'utf8')).validTo);
const systemDiskWith = (p: HealthProbes): HealthProbes => ({ disk: p.disk, certificateValidTo: systemCert });

const okProbes: HealthProbes = { disk: (p) => ({ freeBytes: 40 * GIB, totalBytes: 100 * GIB, device: p.includes('content') ? 2 : 1 }), certificateValidTo: () => new Date(Date.now() + 365 * 86_400_000) };

test('checks against a database: client failures, certificates, self-update, maintenance, disk per volume', () => {
  const tmp = tempDataDir();
  try {
    const soon = createSelfSignedCertificate({ hosts: ['wsus.lab'], days: 10, keyBits: 2048 });
    const gone = createSelfSignedCertificate({ hosts: ['old.lab'], days: 1, keyBits: 2048, now: new Date(Date.now() - 5 * 86_400_000) });
    mkdirSync(join(tmp.dir, 'tls'));
    writeFileSync(join(tmp.dir, 'tls', 'cert.pem'), soon.certPem);
    writeFileSync(join(tmp.dir, 'tls', 'key.pem'), soon.keyPem);
    writeFileSync(join(tmp.dir, 'tls', 'old.pem'), gone.certPem);
    // The publishing certificate (wsus signing) expiring soon: publishing and unstamped signatures stop with it.
    const publishing = createSelfSignedCertificate({ hosts: ['Contoso Publishing'], days: 10, keyBits: 2048, purpose: 'codeSigning' });
    mkdirSync(join(tmp.dir, 'signing'));
    writeFileSync(join(tmp.dir, 'signing', 'cert.pem'), publishing.certPem);
    const config = testConfig(tmp.dir, { tlsCert: 'tls/cert.pem', tlsKey: 'tls/key.pem', transfer: { signingCert: 'tls/old.pem', signingKey: 'tls/key.pem' } });
    const h = adminHandle(config);
    try {
      const events = createEventsStore(h.db);
      const at = new Date().toISOString();
      // 40 events from 4 clients; 8 failures (install failed, download failed, a non-zero HRESULT): 20%
      const batch: StoredEvent[] = [];
      for (let i = 0; i < 40; i++) batch.push(event(`client-${i % 4}`, 183));
      batch[0] = event('client-0', 182);
      batch[1] = event('client-1', 161);
      for (let i = 2; i < 8; i++) batch[i] = event(`client-${i % 4}`, 147, -2145124329);
      events.insertBatch(batch, at);
      const r = readHealth(h.db, config, new Date(), systemDiskWith(okProbes));
      assert.equal(r.clients.events, 40);
      assert.equal(r.clients.failures, 8);
      assert.equal(r.clients.clientsReporting, 4);
      assert.match(r.warnings.join('\n'), /20\.0% of client events in the last 7 days report failures \(8 of 40, from 4 of 4 clients\)/);
      assert.equal(r.checks.find((c) => c.name === 'clients')!.status, 'warn');
      // certificates: TLS within 30 days (warn); the signing one expired (a warning: exports stop, the server does not)
      const tls = r.certificates.find((c) => c.role === 'tls')!;
      assert.equal(tls.status, 'warn');
      assert.ok(tls.daysLeft! <= 10);
      assert.equal(r.certificates.find((c) => c.role === 'transfer-signing')!.status, 'warn');
      assert.match(r.warnings.join('\n'), /export signing certificate .* expired/);
      const pub = r.certificates.find((c) => c.role === 'publishing')!;
      assert.equal(pub.status, 'warn');
      assert.ok(pub.daysLeft! <= 10);
      assert.match(r.warnings.join('\n'), /publishing certificate \(wsus signing\) .* expires in/);
      assert.match(r.warnings.join('\n'), /selfUpdateDir .* does not exist/);
      assert.equal(r.disk.length, 2, 'two volumes');
      assert.equal(r.healthy, true, r.problems.join('\n'));
      // a failed maintenance run is worth a look
      h.db.prepare(`INSERT INTO maintenance_runs (job, trigger, dry_run, steps, started_at, finished_at, state, error)
                    VALUES ('cleanup', 'schedule', 0, '[]', ?, ?, 'failed', 'database is locked')`).run(at, at);
      const m = readHealth(h.db, config, new Date(), okProbes);
      assert.equal(m.maintenance!.lastRun!.state, 'failed');
      assert.match(m.warnings.join('\n'), /last maintenance run \(cleanup\) failed .*: database is locked/);
      // more than half failing, an expired TLS certificate, a nearly full disk: unhealthy, each named
      events.insertBatch(Array.from({ length: 60 }, (_, i) => event(`client-${i % 4}`, 182)), at);
      writeFileSync(join(tmp.dir, 'tls', 'cert.pem'), gone.certPem);
      const red = readHealth(h.db, config, new Date(), { ...okProbes, disk: () => ({ freeBytes: 0.5 * GIB, totalBytes: 100 * GIB, device: 1 }), certificateValidTo: (f) => systemCert(f) });
      assert.equal(red.healthy, false);
      assert.equal(red.status, 'red');
      const p = red.problems.join('\n');
      assert.match(p, /68\.0% of client events/);
      assert.match(p, /the TLS certificate .*cert\.pem expired on/);
      assert.match(p, /data directory .*: 512\.0 MiB free of 100\.0 GiB \(0\.5%\)/);
      assert.equal(red.disk.length, 1, 'one volume reported once');
    } finally {
      h.close();
    }
  } finally {
    tmp.cleanup();
  }
});


test('wsus health through the admin API: a reporter may run it; human summary, JSON, exit 1 when unhealthy', async () => {
  await withServer({ sync: { upstream: 'http://127.0.0.1:9', retries: 1, connectTimeoutSeconds: 1, content: 'none' } }, () => undefined, async (server) => {
    const wsus = cliFor(server, 'reporter');
    const ok = await wsus('health');
    assert.equal(ok.status, 0, ok.stderr + ok.stdout);
    assert.match(ok.stdout, /^healthy \(with warnings\)\n/);
    assert.match(ok.stdout, /warning: the catalog is empty/);
    assert.match(ok.stdout, /\ndisk: data .* free of .*\n/);
    assert.match(ok.stdout, /\nclients \(last 7 days\): 0 events from 0 clients/);
    assert.match(ok.stdout, /\ncertificates: none configured \(plain HTTP\)\n/);
    assert.match(ok.stdout, /\nself-update tree: not installed\n/);
    assert.equal((await server.sync.run({ trigger: 'admin' })).state, 'failed');
    const bad = await wsus('health', '--json');
    assert.equal(bad.status, 1);
    const j = JSON.parse(bad.stdout) as { healthy: boolean; status: string; problems: string[]; checks: Array<{ name: string; status: string }> };
    assert.equal(j.healthy, false);
    assert.equal(j.status, 'red');
    assert.match(j.problems[0]!, /^last sync failed at \S+ during config: /);
    assert.deepEqual(j.checks.map((c) => c.name), ['sync', 'catalog', 'content', 'signatures', 'clients', 'disk', 'certificates', 'self-update', 'maintenance']);
    const human = await wsus('health');
    assert.equal(human.status, 1);
    assert.match(human.stdout, /^UNHEALTHY\n {2}problem: last sync failed/);
    // without a token: exit 5
    const none = await runCli(['health'], { WSUS_ADMIN_URL: server.admin.url, WSUS_TOKEN: '', WSUS_DATA: '/nonexistent' });
    assert.equal(none.status, 5, none.stderr);
  });
});
