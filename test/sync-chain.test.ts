import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { ALL_COMPUTERS_NAME } from '../src/core/targeting/builtin-groups.js';
import { harness } from './support/sync-harness.js';
import { upstreamHarness, DSS_FQDN, DSS_ID } from './support/upstream-harness.js';
import { roleSessionOpener } from './support/sync-role-session.js';

// Downstream ← upstream, both ours, in process: the sync service against the upstream-role
// service's own filter, anchor and deployment rules (the HTTP/SOAP layer is covered elsewhere).

const currentRevisions = (db: import('../src/store/database.js').Db) =>
  (db.prepare('SELECT u.update_id AS id, r.revision_number AS rev FROM updates u JOIN revisions r ON r.id = u.current_revision_id ORDER BY 1').all() as Array<{ id: string; rev: number }>)
    .map((x) => `${x.id}:${x.rev}`);

test('a downstream of our own upstream ends with the same current revisions, incrementally, and mirrors approvals as a replica', async () => {
  const up = upstreamHarness({ content: 'none' });
  const down = harness({ mode: 'replica' });
  try {
    const docs = [...generateCatalog({ updates: 30, seed: 5 }).documents];
    up.importDocs(docs.slice(0, Math.floor(docs.length * 0.8)));
    const svc = () => down.service({ openSession: roleSessionOpener(up.role, { id: DSS_ID, fqdn: DSS_FQDN }) });
    const r1 = await svc().run({ trigger: 'cli' });
    assert.equal(r1.state, 'succeeded', r1.error ?? '');
    assert.equal(r1.counts.badDocuments.count, 0);
    assert.deepEqual(currentRevisions(down.db), currentRevisions(up.admin.db));

    up.importDocs(docs.slice(Math.floor(docs.length * 0.8)));
    const top = up.admin.db.prepare("SELECT u.update_id AS id FROM updates u JOIN revisions r ON r.id = u.current_revision_id WHERE r.bundled_updates != '[]' LIMIT 1").get() as { id: string };
    up.admin.targeting.approve(top.id, ALL_COMPUTERS_NAME, 'Install', null, 'upstream-admin', new Date());
    const r2 = await svc().run({ trigger: 'cli' });
    assert.equal(r2.state, 'succeeded', r2.error ?? '');
    assert.ok(r2.counts.updates!.fetched > 0 && r2.counts.updates!.fetched < docs.length / 2, `incremental: ${r2.counts.updates!.fetched} fetched`);
    assert.deepEqual(currentRevisions(down.db), currentRevisions(up.admin.db));
    assert.deepEqual(down.targeting.approvals().map((a) => `${a.updateId}:${a.action}`), [`${top.id}:Install`]);
  } finally {
    up.close();
    down.close();
  }
});
