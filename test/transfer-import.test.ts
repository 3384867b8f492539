import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ALL_COMPUTERS_ID } from '../src/core/targeting/builtin-groups.js';
import { TargetingDocumentError, parseTargetingDocument, planTargeting, type TargetingDocument } from '../src/core/transfer/targeting-document.js';
import { createContentStore } from '../src/services/content-store.service.js';
import { createExportService } from '../src/services/transfer/export.service.js';
import { createImportPackageService } from '../src/services/transfer/import-package.service.js';
import { createTransferStore } from '../src/store/transfer.store.js';
import { validate } from '../src/config/config.js';
import { adminHandle, quietLog, tempDataDir } from './support/test-server.js';
import { approveOn, seed, signer, startNode, stopNode } from './support/transfer-env.js';
import { mkdirSync, writeFileSync } from 'node:fs';

// The import's own rules: the targeting plan (pure), and resuming a run that died part-way.

const G1 = '11111111-1111-4111-8111-111111111111';
const G2 = '22222222-2222-4222-8222-222222222222';
const U1 = 'aaaaaaaa-0000-4000-8000-000000000001';
const U2 = 'aaaaaaaa-0000-4000-8000-000000000002';
const U3 = 'aaaaaaaa-0000-4000-8000-000000000003';
const SRC = 'bbbbbbbb-0000-4000-8000-000000000000';

test('targeting document: strict parsing, parents first', () => {
  const doc = parseTargetingDocument(JSON.stringify({
    groups: [{ id: G2, name: 'Ring1', parentId: G1 }, { id: G1, name: 'Pilot', parentId: null }],
    approvals: [{ updateId: U1, groupId: G2, action: 'Install', deadline: '2026-12-24T00:00:00.000Z' }],
    declined: [U3],
  }));
  assert.deepEqual(doc.groups.map((g) => g.name), ['Pilot', 'Ring1']);
  const bad: Array<[unknown, RegExp]> = [
    [{ groups: [], approvals: [], declined: [], extra: 1 }, /unexpected field extra/],
    [{ groups: [{ id: G1, name: 'a', parentId: G2 }, { id: G2, name: 'b', parentId: G1 }], approvals: [], declined: [] }, /its own ancestor/],
    [{ groups: [{ id: ALL_COMPUTERS_ID, name: 'x', parentId: null }], approvals: [], declined: [] }, /built-in/],
    [{ groups: [], approvals: [{ updateId: U1, groupId: G1, action: 'Install', deadline: null }], declined: [] }, /not in the package/],
    [{ groups: [], approvals: [{ updateId: U1, groupId: ALL_COMPUTERS_ID, action: 'Run', deadline: null }], declined: [] }, /Install or Uninstall/],
    [{ groups: [], approvals: [{ updateId: U1, groupId: ALL_COMPUTERS_ID, action: 'Install', deadline: null }], declined: [U1] }, /both approved and declined/],
    [{ groups: [{ id: G1, name: 'a;b', parentId: null }], approvals: [], declined: [] }, /without ";"/],
  ];
  for (const [raw, why] of bad) assert.throws(() => parseTargetingDocument(JSON.stringify(raw)), (e: Error) => e instanceof TargetingDocumentError && why.test(e.message));
});

test('targeting plan: groups by GUID, then by name, else created; approvals and declines follow the source', () => {
  const doc: TargetingDocument = {
    groups: [{ id: G1, name: 'Pilot', parentId: null }, { id: G2, name: 'Ring1', parentId: G1 }],
    approvals: [
      { updateId: U1, groupId: G1, action: 'Install', deadline: '2026-12-24T00:00:00.000Z' },
      { updateId: U2, groupId: G2, action: 'Install', deadline: null },
      { updateId: 'cccccccc-0000-4000-8000-000000000000', groupId: G2, action: 'Install', deadline: null },
    ],
    declined: [U3],
  };
  const localRing = 'dddddddd-0000-4000-8000-000000000000';
  const updates = new Map([[U1, { declined: false }], [U2, { declined: false }], [U3, { declined: false }], ['eeeeeeee-0000-4000-8000-000000000000', { declined: true }]]);
  const plan = planTargeting(doc, {
    groups: [{ id: ALL_COMPUTERS_ID, name: 'All Computers', parentId: null }, { id: localRing, name: 'ring1', parentId: ALL_COMPUTERS_ID }],
    approvals: [
      // same as the source: unchanged, even with another spelling of the same instant
      { updateId: U1, groupId: G1, action: 'Install', deadline: '2026-12-24T00:00:00Z', approvedBy: 'alice' },
      // an earlier import's approval the source no longer has: removed
      { updateId: U3, groupId: localRing, action: 'Install', deadline: null, approvedBy: `import:${SRC}` },
      // a local one: kept
      { updateId: U2, groupId: ALL_COMPUTERS_ID, action: 'Install', deadline: null, approvedBy: 'bob' },
      { updateId: 'eeeeeeee-0000-4000-8000-000000000000', groupId: localRing, action: 'Install', deadline: null, approvedBy: `import:${SRC}` },
    ],
    updates,
    declinedByEarlierImport: new Set(['eeeeeeee-0000-4000-8000-000000000000']),
  }, SRC);
  assert.deepEqual(plan.groups, [
    { op: 'create', id: G1, name: 'Pilot', parentId: ALL_COMPUTERS_ID },
    { op: 'map', packageId: G2, localId: localRing, name: 'ring1' },
  ]);
  assert.deepEqual(plan.approve, [{ updateId: U2, groupId: localRing, action: 'Install', deadline: null }]);
  assert.equal(plan.unchanged, 1);
  assert.equal(plan.unknownUpdates, 1);
  assert.deepEqual(plan.decline, [U3]);
  assert.deepEqual(plan.undecline, ['eeeeeeee-0000-4000-8000-000000000000']);
  // U3's imported approval goes with the decline; the undeclined one's approval is removed too
  assert.deepEqual(plan.unapprove, [{ updateId: 'eeeeeeee-0000-4000-8000-000000000000', groupId: localRing }]);
});

test('an import that dies part-way resumes where it stopped and ends in the same state as one clean run', async () => {
  const X = await startNode('exporter');
  const pkgDir = tempDataDir();
  try {
    await seed(X);
    approveOn(X);
    const d = X.server.adminDeps;
    const file = join(pkgDir.dir, 'p.tar');
    const pkg = createExportService({ db: d.db, config: d.config, serverId: d.serverId, content: d.content, clock: d.clock, log: quietLog })
      .exportPackage({ since: null, approvals: true, content: 'all' });
    await pipeline(pkg.body, createWriteStream(file));
    assert.ok(pkg.summary.contentFiles >= 4);

    const importInto = async (dir: string, failAfterFiles: number | null) => {
      mkdirSync(join(dir, 'trust'), { recursive: true });
      writeFileSync(join(dir, 'trust', 'hq.pem'), signer.certPem);
      const config = validate({ seedDemoCatalog: false, transfer: { trustedCerts: ['trust/hq.pem'] } }, dir);
      const h = adminHandle(config);
      const content = createContentStore({ db: h.db, dir: config.contentDir, log: quietLog, clock: () => new Date() });
      let files = 0;
      const svc = createImportPackageService({
        db: h.db, config, catalog: h.catalog, targeting: h.targeting, log: quietLog, clock: () => new Date(),
        content: {
          ingestStream: (src, exp, o) => {
            if (failAfterFiles !== null && files++ >= failAfterFiles) throw new Error('power failure');
            return content.ingestStream(src, exp, o);
          },
        },
      });
      try {
        return { result: await svc.importPackage(file), figures: createTransferStore(h.db).figures() };
      } finally {
        await content.close();
        h.close();
      }
    };
    const clean = tempDataDir();
    const crashed = tempDataDir();
    try {
      const once = await importInto(clean.dir, null);
      assert.equal(once.result.resumed, false);
      await assert.rejects(importInto(crashed.dir, 2), /power failure/);
      const resumed = await importInto(crashed.dir, null);
      assert.equal(resumed.result.resumed, true);
      assert.equal(resumed.result.documents.added, 0, 'documents were committed before the crash: not read again');
      assert.equal(resumed.result.content.stored, pkg.summary.contentFiles - 2, 'the two stored files are not copied again');
      assert.ok(resumed.result.targeting && resumed.result.targeting.approved === 2);
      assert.deepEqual(resumed.figures, once.figures);
      const third = await importInto(crashed.dir, null);
      assert.equal(third.result.alreadyImported, true);
      assert.deepEqual(third.figures, once.figures);
    } finally {
      clean.cleanup();
      crashed.cleanup();
    }
  } finally {
    pkgDir.cleanup();
    await stopNode(X);
  }
});
