import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { syncCommand, type SyncCliDeps } from '../src/cli/commands/sync.command.js';
import { classificationsCommand, languagesCommand, productsCommand } from '../src/cli/commands/selection.command.js';
import { healthCommand } from '../src/cli/commands/health.command.js';
import { rateProgress } from '../src/cli/progress.js';
import { UsageError } from '../src/cli/args.js';
import { DomainError } from '../src/core/errors.js';
import { UpstreamTransportError } from '../src/upstream/server-sync-session.js';
import { tempDataDir } from './support/test-server.js';
import { FakeUpstream } from './support/sync-fake-upstream.js';
import { FAKE_UPSTREAM_URL } from './support/sync-harness.js';

// The sync CLI in process: run (progress, summary, exit codes), status, history, selection,
// exclusions and health, against a data directory whose config points at a fake upstream.

function capture(): Writable & { text: () => string; isTTY?: boolean } {
  let buf = '';
  const w = new Writable({ write(chunk: Buffer, _e, cb) { buf += chunk.toString(); cb(); } }) as Writable & { text: () => string; isTTY?: boolean };
  w.text = () => buf;
  return w;
}

function setup(sync: Record<string, unknown> = {}) {
  const tmp = tempDataDir();
  writeFileSync(join(tmp.dir, 'config.json'), JSON.stringify({ seedDemoCatalog: false, sync: { upstream: FAKE_UPSTREAM_URL, content: 'none', ...sync } }));
  const fake = new FakeUpstream();
  fake.addAll([...generateCatalog({ updates: 40, seed: 21 }).documents].map((d) => d.xml));
  const deps: SyncCliDeps = { openSession: fake.opener(), createDispatcher: () => ({ close: async () => {} }) as unknown as Dispatcher };
  const run = async (cmd: (argv: string[], io: { out: Writable; err: Writable }) => number | Promise<number>, argv: string[]) => {
    const out = capture();
    const err = capture();
    const code = await cmd([...argv, '--data', tmp.dir], { out, err });
    return { code, out: out.text(), err: err.text() };
  };
  // sync and selection commands run their admin routes in process (--local) against the fake upstream
  const local = async (cmd: (argv: string[], io: { out: Writable; err: Writable }, seams: SyncCliDeps) => number | Promise<number>, argv: string[]) => {
    const out = capture();
    const err = capture();
    const code = await cmd([...argv, '--local', '--data', tmp.dir], { out, err }, deps);
    return { code, out: out.text(), err: err.text() };
  };
  const sync_ = (argv: string[]) => local((a, io) => syncCommand(a, io, deps), argv);
  return { tmp, fake, run, local, sync: sync_ };
}

test('wsus sync run / status / history: summary, JSON, exit codes', async () => {
  const s = setup();
  try {
    const r = await s.sync(['run']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^sync succeeded in \d+\.\d s \(run 1, http:\/\/upstream\.test:8530\)/);
    assert.match(r.out, /categories: \d+ listed, 0 already here, \d+ fetched in \d+ requests, \d+ new, 0 excluded, 0 bad/);
    assert.match(r.out, /note: no products selected: taking all \d+ the upstream offers/);
    assert.match(r.err, /sync updates: merge \d+\/\d+ \(100\.0%\)/, 'plain progress lines when not a terminal');

    const j = await s.sync(['run', '--json']);
    assert.equal(j.code, 0);
    const parsed = JSON.parse(j.out) as { state: string; counts: { updates: { fetched: number } } };
    assert.equal(parsed.state, 'succeeded');
    assert.equal(parsed.counts.updates.fetched, 0);

    s.fake.failures.push({ op: 'revisionIdList', call: s.fake.count('revisionIdList') + 1, error: () => new UpstreamTransportError('GetRevisionIdList', 'proxy answered 407 Proxy Authentication Required', 407) });
    const f = await s.sync(['run']);
    assert.equal(f.code, 1);
    assert.match(f.err, /sync failed during categories: GetRevisionIdList: proxy answered 407 Proxy Authentication Required/);

    const st = await s.sync(['status']);
    assert.equal(st.code, 0);
    assert.match(st.out, /upstream: http:\/\/upstream\.test:8530 \(mode autonomous, content none\)/);
    assert.match(st.out, /running: no/);
    assert.match(st.out, /last run: #3 failed .* during categories: GetRevisionIdList: proxy answered 407/);
    assert.match(st.out, /last success: #2/);
    assert.match(st.out, /anchors: config saved .* ago, categories saved .* ago, updates saved .* ago, deployments none/);
    assert.match(st.out, /next scheduled: no schedule/);
    const sj = JSON.parse((await s.sync(['status', '--json'])).out) as { lastRun: { state: string } };
    assert.equal(sj.lastRun.state, 'failed');

    const h = await s.sync(['history', '--limit', '2']);
    assert.equal(h.code, 0);
    const lines = h.out.trim().split('\n');
    assert.match(lines[0]!, /^#3 .* failed .* categories/);
    assert.match(lines[1]!, /error: GetRevisionIdList: proxy answered 407/);
    assert.match(lines[2]!, /^#2 .* succeeded/);
    const hj = JSON.parse((await s.sync(['history', '--json'])).out) as Array<{ id: number; error: string | null }>;
    assert.deepEqual(hj.map((x) => x.id), [3, 2, 1]);

    await assert.rejects(s.sync(['bogus']), UsageError);
    await assert.rejects(s.sync(['run', 'extra']), UsageError);
    await assert.rejects(s.sync(['run', '--upstream', 'ftp://x']), (e: unknown) => e instanceof DomainError && e.code === 'InvalidInput');
  } finally {
    s.tmp.cleanup();
  }
});

test('wsus products / classifications / languages: list with *, select by GUID or exact title', async () => {
  const s = setup({ upstream: 'https://sws.update.microsoft.com' });
  try {
    const empty = await s.local(productsCommand, ['list']);
    assert.match(empty.out, /no products yet/);
    assert.equal((await s.sync(['run'])).code, 0);
    const list = await s.local(productsCommand, ['list']);
    assert.match(list.err, /Microsoft Update fetches categories only/);
    const first = /^ {2}([0-9a-f-]{36})  (.+)$/m.exec(list.out)!;
    assert.ok(first, list.out);
    const sel = await s.local(productsCommand, ['select', first[2]!]);
    assert.equal(sel.code, 0);
    assert.match(sel.out, new RegExp(`selected 1 products: ${first[1]}`));
    assert.match((await s.local(productsCommand, ['list'])).out, new RegExp(`^\\* ${first[1]}  `, 'm'));
    assert.match((await s.local(productsCommand, ['list', '--all'])).out, /\(ProductFamily\)/);
    await assert.rejects(s.local(productsCommand, ['select', 'No Such Product']), (e: unknown) => e instanceof DomainError && e.code === 'NotFound');
    const unknownGuid = await s.local(productsCommand, ['select', '00000000-1111-2222-3333-444444444444']);
    assert.match(unknownGuid.err, /not among the synchronized product categories/);
    assert.equal((await s.local(productsCommand, ['deselect', '00000000-1111-2222-3333-444444444444'])).code, 0);

    const c = await s.local(classificationsCommand, ['select', 'security updates', 'Critical Updates']);
    assert.match(c.out, /selected 2 classifications/);
    const cj = JSON.parse((await s.local(classificationsCommand, ['list', '--json'])).out) as Array<{ title: string; selected: boolean }>;
    assert.deepEqual(cj.filter((x) => x.selected).map((x) => x.title).sort(), ['Critical Updates', 'Security Updates']);
    await assert.rejects(s.local(classificationsCommand, ['list', '--all']), UsageError);

    const langs = await s.local(languagesCommand, ['list']);
    assert.match(langs.out, /  de +German/);
    assert.equal((await s.local(languagesCommand, ['select', 'de', 'EN'])).code, 0);
    assert.match((await s.local(languagesCommand, ['list'])).out, /\* en +English/);
    await assert.rejects(s.local(languagesCommand, ['select', 'xx']), (e: unknown) => e instanceof DomainError && e.code === 'NotFound');
    await assert.rejects(s.local(languagesCommand, ['select', 'not a language']), (e: unknown) => e instanceof DomainError && e.code === 'InvalidInput');

    const r = await s.sync(['run']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /updates: \d+ listed/);
    const filter = s.fake.calls.filter((x) => x.op === 'revisionIdList').at(-1)!.arg as { languages: Array<{ id: number }> };
    assert.deepEqual(filter.languages.map((l) => l.id), [1031, 1033]);
  } finally {
    s.tmp.cleanup();
  }
});

test('wsus sync exclude add / list / remove', async () => {
  const s = setup();
  try {
    await assert.rejects(s.sync(['exclude', 'add']), UsageError);
    await assert.rejects(s.sync(['exclude', 'add', '--kb', '1', '--title', 'x']), UsageError);
    const a = await s.sync(['exclude', 'add', '--architecture', 'x86']);
    assert.match(a.out, /added exclusion rule 1: architecture x86/);
    assert.match((await s.sync(['exclude', 'add', '--language-packs'])).out, /rule 2: language-pack/);
    await assert.rejects(s.sync(['exclude', 'add', '--architecture', 'x86']), (e: unknown) => e instanceof DomainError && e.code === 'Conflict');
    await assert.rejects(s.sync(['exclude', 'add', '--architecture', 'sparc']), (e: unknown) => e instanceof DomainError && e.code === 'InvalidInput');
    assert.equal((await s.sync(['run'])).code, 0);
    const l = await s.sync(['exclude', 'list']);
    assert.match(l.out, /^1  architecture +x86/m);
    assert.match(l.out, /\d+ updates excluded, most recent:/);
    assert.match(l.out, /rule 1: architecture x86/);
    const rm = await s.sync(['exclude', 'remove', '1']);
    assert.match(rm.out, /removed exclusion rule 1/);
    await assert.rejects(s.sync(['exclude', 'remove', '1']), (e: unknown) => e instanceof DomainError && e.code === 'NotFound');
    await assert.rejects(s.sync(['exclude', 'remove', 'x']), UsageError);
  } finally {
    s.tmp.cleanup();
  }
});

test('wsus health: healthy after a sync, unhealthy after a failure or when overdue', async () => {
  const s = setup({ schedule: { firstSyncTime: '03:00', perDay: 4 } });
  try {
    const never = await s.run(healthCommand, ['--local']);
    assert.equal(never.code, 1);
    assert.match(never.out, /UNHEALTHY\n {2}problem: no sync has succeeded yet/);
    assert.equal((await s.sync(['run'])).code, 0);
    const ok = await s.run(healthCommand, ['--local']);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /^healthy/);
    assert.match(ok.out, /catalog: \d+ revisions of \d+ updates/);
    assert.match(ok.out, /scheduled every 6\.0 h/);
    const j = JSON.parse((await s.run(healthCommand, ['--local', '--json'])).out) as { healthy: boolean; content: { approvedFiles: number } };
    assert.equal(j.healthy, true);
    s.fake.failures.push({ op: 'configData', call: s.fake.count('configData') + 1, error: () => new Error('getaddrinfo ENOTFOUND upstream.test') });
    assert.equal((await s.sync(['run'])).code, 1);
    const bad = await s.run(healthCommand, ['--local']);
    assert.equal(bad.code, 1);
    assert.match(bad.out, /problem: last sync failed at .* during config: getaddrinfo ENOTFOUND upstream\.test/);
  } finally {
    s.tmp.cleanup();
  }
});

test('rate progress: plain lines are throttled; a terminal line is redrawn in place', () => {
  let t = 0;
  const plain = capture();
  const p = rateProgress(plain, { everyMs: 5000, now: () => t });
  p.update('sync updates: fetch', 0, 1000);
  t = 1000; p.update('sync updates: fetch', 100, 1000);
  t = 6000; p.update('sync updates: fetch', 600, 1000);
  t = 7000; p.update('sync updates: fetch', 1000, 1000);
  const lines = plain.text().trim().split('\n');
  assert.equal(lines.length, 3);
  assert.equal(lines[1], 'sync updates: fetch 600/1000 (60.0%) 100/s ETA 0:04');
  assert.match(lines[2]!, /1000\/1000 \(100\.0%\) .* done$/);
  const tty = capture();
  tty.isTTY = true;
  const q = rateProgress(tty, { now: () => t });
  q.update('a', 1, 2);
  q.update('b', 1, 2);
  q.end();
  assert.equal(tty.text(), '\ra 1/2 (50.0%) 0.0/s ETA ?\x1b[K\n\rb 1/2 (50.0%) 0.0/s ETA ?\x1b[K\n');
});
