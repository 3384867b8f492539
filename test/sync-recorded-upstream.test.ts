import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { planUpdatesFilter } from '../src/core/sync/selection-filter.js';
import { escapeText } from '../src/protocol/xml/escape.js';
import { productsCommand, classificationsCommand } from '../src/cli/commands/selection.command.js';
import { createSyncAdmin } from '../src/services/sync/sync-admin.js';
import { createSyncCatalogStore } from '../src/store/sync-catalog.store.js';
import { syncState } from '../src/services/sync/sync-state.js';
import { createSyncStore } from '../src/store/sync.store.js';
import type { SyncRunResult } from '../src/services/sync/sync-types.js';
import type { Db } from '../src/store/database.js';
import { startRecordedUpstream, type RecordedUpstream } from './support/recorded-upstream.js';
import { updateDataBody, WSUSSS_DIR, WSUSSS_SKIP, wsusssPresent } from './support/recorded-shapes.js';
import {
  assertSameCatalog, capturingLog, downstreamSettings, fullState, startNode, textSink, type CapturedLog, type Node,
} from './support/sync-loopback.js';

// A real server's sync (the code path it runs against Microsoft Update: DssAuth handshake,
// xpress answers, CAB/LZX and plain blobs, MUUrl file locations) against an upstream that
// answers in the shapes recorded from a real WSUS. The nine real documents must arrive with
// the very fragments the real WSUS served a real client, and every fault the recorded
// upstream can stage (ServerBusy, refused cookies, dropped and cut connections, short
// GetUpdateData answers, a rebuilt upstream) must still end in the same catalog.

const skip = !wsusssPresent && WSUSSS_SKIP;
const DEFENDER = '8c3fcc84-7410-4a95-8b89-a166a0190486';
const DEFINITION_UPDATES = 'e0789628-ce08-4437-be74-2495b842f43b';
const REFS = join(WSUSSS_DIR, 'wusp-reference');

const unescape = (s: string): string => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
// The published references had the localized SupportUrl's LinkId redacted (see fragments-real.test.ts).
const redactSupportLink = (s: string): string => s.replace(/(<SupportUrl>[^<]*LinkId=)[^<&]*/g, '$1REDACTED');

interface Rig { u: RecordedUpstream; B: Node; captured: CapturedLog }

async function rig(): Promise<Rig> {
  const u = await startRecordedUpstream();
  const captured = capturingLog();
  const B = await startNode(downstreamSettings(u.url, { retries: 3 }), { log: captured.log });
  return { u, B, captured };
}

async function unrig(r: Rig): Promise<void> {
  await r.B.close();
  await r.u.close();
}

function select(db: Db): void {
  const admin = createSyncAdmin(db);
  admin.select('product', [DEFENDER], true);
  admin.select('classification', [DEFINITION_UPDATES], true);
}

async function sync(r: Rig): Promise<SyncRunResult> {
  const run = await r.B.server.sync.run({ trigger: 'admin' });
  assert.equal(run.state, 'succeeded', `${run.phase}: ${run.error}`);
  assert.equal(run.counts.badDocuments.count, 0, JSON.stringify(run.counts.badDocuments.first));
  return run;
}

const ops = (u: RecordedUpstream, from = 0): string[] => u.calls.slice(from).map((c) => c.operation);

/** The catalog of a downstream that synchronized the recorded upstream without faults (computed once). */
let cleanState: Promise<string[]> | undefined;
function reference(): Promise<string[]> {
  cleanState ??= (async () => {
    const clean = await rig();
    try {
      select(clean.B.server.db);
      await sync(clean);
      const state = fullState(clean.B.server.db);
      assert.equal(state.length, 9);
      return state;
    } finally {
      await unrig(clean);
    }
  })();
  return cleanState;
}

test('the recorded real shapes: CAB/LZX and plain blobs ingested, fragments identical to real WSUS, MUUrl kept', { skip }, async () => {
  const r = await rig();
  try {
    const db = r.B.server.db;
    // nothing selected and no classification offered: categories only, and the run says why
    const first = await sync(r);
    assert.equal(first.counts.categories!.merged, r.u.documents.filter((d) => d.isCategory).length);
    assert.equal(first.counts.updates, undefined);
    assert.ok(first.counts.notes.some((n) => /updates phase skipped: the upstream offers no classifications/.test(n)), first.counts.notes.join('\n'));

    // the admin selects, as with WSUS: by GUID (not offered by this upstream: a warning) and by exact title
    const out = textSink();
    const err = textSink();
    // through the running downstream's admin API
    const api = ['--server', r.B.server.admin.url, '--token', r.B.server.adminDeps.tokens.create({ name: 'admin', role: 'admin', createdBy: 'test' }).token];
    assert.equal(await productsCommand(['select', DEFENDER, 'OOBE ZDP', ...api], { out: out.stream, err: err.stream }), 0);
    assert.equal(await classificationsCommand(['select', DEFINITION_UPDATES, ...api], { out: out.stream, err: err.stream }), 0);
    assert.match(err.text(), new RegExp(`warning: ${DEFENDER} is not among the synchronized product categories`));
    assert.match(out.text(), /selected 2 products: 8c3fcc84-7410-4a95-8b89-a166a0190486, dd78b8a1-0b20-45c1-add6-4da72e9364cf/);

    const from = r.u.calls.length;
    const second = await sync(r);
    assert.equal(second.counts.updates!.merged, r.u.documents.filter((d) => !d.isCategory).length);
    const list = r.u.calls.slice(from).find((c) => c.operation === 'GetRevisionIdList' && /<GetConfig>false<\/GetConfig>/.test(c.body))!;
    assert.match(list.body, new RegExp(`<Categories><IdAndDelta><Id>${DEFENDER}</Id><Delta>false</Delta></IdAndDelta><IdAndDelta><Id>dd78b8a1-0b20-45c1-add6-4da72e9364cf</Id><Delta>false</Delta>`));
    assert.match(list.body, new RegExp(`<Classifications><IdAndDelta><Id>${DEFINITION_UPDATES}</Id><Delta>false</Delta></IdAndDelta></Classifications>`));
    assert.ok(r.u.calls.every((c) => c.xpress), 'every answer came xpress-compressed');

    // both blob kinds went over the wire for these documents (what updateDataBody sends for them)
    const wire = updateDataBody(r.u.documents);
    assert.ok((wire.match(/<XmlUpdateBlobCompressed>TVNDRg/g) ?? []).length >= 3, 'cabinet blobs');
    assert.ok((wire.match(/<XmlUpdateBlob>/g) ?? []).length >= 1, 'plain blobs');

    // all nine documents, as the real WSUS had them, with its client fragments byte for byte
    for (const d of r.u.documents) {
      const base = `${d.identity.updateId}-r${d.identity.revisionNumber}`;
      const row = db.prepare(
        `SELECT r.id, r.document, r.core_escaped AS core, r.extended_escaped AS extended FROM revisions r JOIN updates u ON u.id = r.update_pk
          WHERE u.update_id = ? AND r.revision_number = ?`,
      ).get(d.identity.updateId, d.identity.revisionNumber) as { id: number; document: string; core: string; extended: string } | undefined;
      assert.ok(row, `${base} ingested`);
      assert.equal(row.document, d.xml, `${base}: the document decoded from its blob`);
      assert.equal(row.core, escapeText(readFileSync(join(REFS, `${base}.core.xml`), 'utf8')), `${base}: Core`);
      assert.equal(row.extended, escapeText(readFileSync(join(REFS, `${base}.extended.xml`), 'utf8')), `${base}: Extended`);
      const en = db.prepare("SELECT xml_escaped AS x FROM revision_localized WHERE revision_id = ? AND language = 'en'").get(row.id) as { x: string };
      assert.equal(redactSupportLink(unescape(en.x)), redactSupportLink(readFileSync(join(REFS, `${base}.localized-en.xml`), 'utf8')), `${base}: LocalizedProperties en`);
    }

    // GetUpdateData's fileUrls: each file's MUUrl is stored with it
    const muUrls = new Map([...wire.matchAll(/<ServerSyncUrlData><FileDigest>([^<]+)<\/FileDigest><MUUrl>([^<]+)<\/MUUrl>/g)].map((m) => [m[1]!, m[2]!]));
    const files = db.prepare('SELECT sha1, mu_url AS mu FROM files').all() as Array<{ sha1: string; mu: string | null }>;
    assert.equal(files.length, r.u.documents.reduce((n, d) => n + d.files.length, 0));
    assert.ok(files.length >= 3);
    for (const f of files) assert.equal(f.mu, muUrls.get(f.sha1), f.sha1);
    assert.ok(files.some((f) => f.mu === 'http://download.windowsupdate.com/c/msdownload/update/software/defu/2026/10/am_delta_87f5bd0469585006aa5d3a77d1c662fd2895ddcd.exe'),
      'the recorded MUUrl (000014)');

    // a later run lists with the anchors and the delta flags it saved, and finds nothing new
    const third = await sync(r);
    assert.equal(third.counts.updates!.listed, 0);
    assert.equal(third.counts.categories!.listed, 0);
  } finally {
    await unrig(r);
  }
});

test('from Microsoft Update the same categories with nothing selected mean categories only; with a selection, everything selected with Delta=false', { skip }, async () => {
  const r = await rig();
  try {
    await sync(r);
    const offered = { products: [] as string[], classifications: [] as string[] };
    for (const c of createSyncCatalogStore(r.B.server.db).categories()) {
      if (c.categoryType === 'UpdateClassification') offered.classifications.push(c.updateId);
      else offered.products.push(c.updateId);
    }
    assert.ok(offered.products.length >= 3);
    const base = { offered, lastSynced: null, languageList: syncState(createSyncStore(r.B.server.db)).languages(), anchor: null };
    const none = { products: [], classifications: [], languages: [] };
    const mu = planUpdatesFilter({ ...base, selected: none, isMicrosoftUpdate: true });
    assert.equal(mu.kind, 'skip');
    if (mu.kind === 'skip') assert.match(mu.reason, /no products and classifications selected: synchronized categories only/);
    // products offered but no classification: also skipped, from any upstream
    assert.equal(planUpdatesFilter({ ...base, selected: none, isMicrosoftUpdate: false }).kind, 'skip');
    const chosen = planUpdatesFilter({ ...base, selected: { products: [DEFENDER], classifications: [DEFINITION_UPDATES], languages: ['en'] }, isMicrosoftUpdate: true });
    assert.equal(chosen.kind, 'sync');
    if (chosen.kind === 'sync') {
      assert.deepEqual(chosen.filter.categories, [{ id: DEFENDER, delta: false }]);
      assert.deepEqual(chosen.filter.classifications, [{ id: DEFINITION_UPDATES, delta: false }]);
      assert.deepEqual(chosen.filter.languages, [{ id: 1033, delta: false }], 'en as the LCID of the recorded language list');
    }
  } finally {
    await unrig(r);
  }
});

interface FaultCase {
  name: string;
  arm: (u: RecordedUpstream) => void;
  check: (run: SyncRunResult, r: Rig, from: number) => void;
}

const retried = (r: Rig, re: RegExp, times = 1): void => {
  const got = r.captured.retries().filter((x) => re.test(x));
  assert.equal(got.length, times, r.captured.retries().join('\n'));
};

const FAULTS: FaultCase[] = [
  {
    name: 'ServerBusy on GetUpdateData (twice) and GetConfigData',
    arm: (u) => {
      u.serverBusy(2, 'GetUpdateData');
      u.serverBusy(1, 'GetConfigData');
    },
    check: (_run, r) => {
      retried(r, /^GetUpdateData: ServerBusy$/, 2);
      retried(r, /^GetConfigData: ServerBusy$/, 1);
    },
  },
  {
    name: 'InvalidCookie on GetRevisionIdList and GetUpdateData: re-authentication, then the call again',
    arm: (u) => {
      u.invalidCookie(1, 'GetRevisionIdList');
      u.invalidCookie(1, 'GetUpdateData');
    },
    check: (_run, r, from) => {
      const seq = ops(r.u, from).join(' ');
      assert.match(seq, /GetRevisionIdList GetAuthConfig GetAuthorizationCookie GetCookie GetRevisionIdList/);
      assert.match(seq, /GetUpdateData GetAuthConfig GetAuthorizationCookie GetCookie GetUpdateData/);
      assert.equal(r.captured.entries.filter((e) => e.message === 'upstream refused the cookie; authenticating again').length, 2);
      assert.deepEqual(r.captured.retries(), []);
    },
  },
  {
    name: 'dropped connections (GetAuthConfig, GetConfigData)',
    arm: (u) => {
      u.dropConnection(1, 'GetAuthConfig');
      u.dropConnection(1, 'GetConfigData');
    },
    check: (_run, r) => {
      retried(r, /^GetAuthConfig: /);
      retried(r, /^GetConfigData: /);
    },
  },
  {
    name: 'cut bodies (GetUpdateData, GetRevisionIdList) and a 502 from a proxy in front (GetCookie)',
    arm: (u) => {
      u.truncateBody(1, 'GetUpdateData');
      u.truncateBody(1, 'GetRevisionIdList');
      u.badGateway(1, 'GetCookie');
    },
    check: (_run, r) => {
      retried(r, /^GetUpdateData: /);
      retried(r, /^GetRevisionIdList: /);
      retried(r, /^GetCookie: HTTP 502/);
    },
  },
  {
    name: 'GetUpdateData answering two items at most: the rest asked again',
    arm: (u) => u.limitUpdateData(2),
    check: (run, r) => {
      // categories: 3 asked → 2 + 1; updates: 6 asked → 2 + 2 + 2
      assert.equal(run.counts.categories!.reRequested, 1);
      assert.equal(run.counts.updates!.reRequested, 4 + 2);
      assert.equal(ops(r.u).filter((o) => o === 'GetUpdateData').length, 2 + 3);
    },
  },
];

test('every fault the recorded upstream stages is survived, ending in the same catalog', { skip, concurrency: true }, async (t) => {
  const expected = await reference();
  await Promise.all(FAULTS.map((f) => t.test(f.name, async () => {
    const r = await rig();
    try {
      select(r.B.server.db);
      const from = r.u.calls.length;
      f.arm(r.u);
      const run = await sync(r);
      f.check(run, r, from);
      assertSameCatalog(fullState(r.B.server.db), expected, 'catalog after the faults');
    } finally {
      await unrig(r);
    }
  })));
});

test('a rebuilt upstream (new identity): ServerChanged at GetCookie, anchors and cookie dropped, full resync in the same run', { skip }, async () => {
  const r = await rig();
  try {
    select(r.B.server.db);
    await sync(r);
    const before = fullState(r.B.server.db);
    const st = syncState(createSyncStore(r.B.server.db));
    const oldCookie = st.cookie()!;
    r.u.newServerIdentity();
    const from = r.u.calls.length;
    const run = await sync(r);
    assert.ok(run.counts.notes.some((n) => /ServerChanged during config: anchors cleared, full resynchronization/.test(n)), run.counts.notes.join('\n'));
    assert.ok(r.captured.entries.some((e) => e.level === 'warn' && /ServerChanged/.test(e.message)));
    const calls = r.u.calls.slice(from);
    assert.deepEqual(calls.slice(0, 7).map((c) => c.operation),
      ['GetAuthConfig', 'GetAuthorizationCookie', 'GetCookie', 'GetAuthConfig', 'GetAuthorizationCookie', 'GetCookie', 'GetConfigData']);
    assert.ok(calls[2]!.body.includes(`<EncryptedData>${oldCookie}</EncryptedData>`), 'the first GetCookie presented the old cookie');
    assert.doesNotMatch(calls[5]!.body, /<oldCookie>/);
    assert.doesNotMatch(calls[6]!.body, /<configAnchor>/);
    const lists = calls.filter((c) => c.operation === 'GetRevisionIdList');
    assert.equal(lists.length, 2);
    for (const l of lists) assert.doesNotMatch(l.body, /<Anchor>/);
    // everything listed again, nothing fetched again: it is all here
    assert.equal(run.counts.categories!.listed + run.counts.updates!.listed, 9);
    assert.equal(run.counts.categories!.fetched + run.counts.updates!.fetched, 0);
    assert.ok(!calls.some((c) => c.operation === 'GetUpdateData'));
    assert.notEqual(st.cookie(), oldCookie);
    assert.ok(st.anchor('updates'));
    assertSameCatalog(fullState(r.B.server.db), before, 'catalog after the resync');
  } finally {
    await unrig(r);
  }
});

test('a real-shaped upstream rebuilt during the updates phase: InvalidCookie, ServerChanged on re-authentication, full resync in the same run', { skip }, async () => {
  const expected = await reference();
  const r = await rig();
  try {
    select(r.B.server.db);
    r.u.limitUpdateData(2);
    let flipped = false;
    const run = await r.B.server.sync.run({
      trigger: 'admin',
      onProgress: (p) => {
        if (flipped || p.phase !== 'updates' || p.step !== 'fetch' || p.done < 2) return;
        flipped = true;
        r.u.newServerIdentity();
      },
    });
    assert.ok(flipped);
    assert.equal(run.state, 'succeeded', run.error ?? '');
    assert.ok(run.counts.notes.some((n) => /ServerChanged during updates: anchors cleared, full resynchronization/.test(n)), run.counts.notes.join('\n'));
    const seq = ops(r.u);
    const at = seq.join(' ').indexOf('GetUpdateData GetAuthConfig GetAuthorizationCookie GetCookie GetAuthConfig GetAuthorizationCookie GetCookie GetConfigData');
    assert.ok(at >= 0, seq.join(' '));
    const cookies = r.u.calls.filter((c) => c.operation === 'GetCookie');
    assert.equal(cookies.length, 3);
    assert.match(cookies[1]!.body, /<oldCookie>/, 'the re-authentication presents the refused cookie');
    assert.doesNotMatch(cookies[2]!.body, /<oldCookie>/, 'after ServerChanged it starts without');
    // the two documents staged before the rebuild were kept; the others fetched in rounds of two
    assert.equal(run.counts.updates!.alreadyStaged, 2);
    assert.equal(run.counts.updates!.fetched, 4);
    assert.equal(run.counts.categories!.fetched, 0);
    assertSameCatalog(fullState(r.B.server.db), expected, 'catalog after the resync');
  } finally {
    await unrig(r);
  }
});
