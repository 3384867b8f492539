import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { withServer, importInto, adminHandle } from './support/test-server.js';
import { WuaClient } from './support/wua-client.js';

// Client-side targeting (the TargetGroup policy): approvals follow the groups a client names,
// parents' approvals apply to child groups, and clients outside them see PreDeploymentCheck.

const catalog = generateCatalog({ updates: 30, seed: 5 });
const sources = [...catalog.documents].map((d) => ({ name: d.fileName, read: () => d.xml }));
const bundleId = catalog.summary.interesting.bundle!.updateId;

async function actionSeenBy(url: string, targetGroup: string | undefined): Promise<string | undefined> {
  const c = new WuaClient(url, randomUUID(), { targetGroup });
  await c.handshake();
  await c.fullScan();
  return [...c.received.values()].find((u) => u.core.toLowerCase().startsWith(`<updateidentity updateid="${bundleId}"`))?.action;
}

test('client-side targeting: an approval for a parent group reaches clients of its child groups only', async () => {
  await withServer({ targetingMode: 'client' }, (config) => {
    importInto(config, sources);
    const admin = adminHandle(config);
    try {
      admin.targeting.createGroup('Pilot', undefined, new Date());
      admin.targeting.createGroup('Ring0', 'Pilot', new Date());
      admin.targeting.createGroup('Broad', undefined, new Date());
      admin.targeting.approve(bundleId, 'Pilot', 'Install', null, 'test', new Date());
    } finally {
      admin.close();
    }
  }, async (server) => {
    assert.equal(await actionSeenBy(server.url, 'Ring0'), 'Install');
    assert.equal(await actionSeenBy(server.url, 'Broad;Ring0'), 'Install');
    assert.equal(await actionSeenBy(server.url, 'Broad'), 'PreDeploymentCheck');
    assert.equal(await actionSeenBy(server.url, undefined), 'PreDeploymentCheck');
  });
});

test('server-side targeting ignores the group a client asks for', async () => {
  await withServer({}, (config) => {
    importInto(config, sources);
    const admin = adminHandle(config);
    try {
      admin.targeting.createGroup('Pilot', undefined, new Date());
      admin.targeting.approve(bundleId, 'Pilot', 'Install', null, 'test', new Date());
    } finally {
      admin.close();
    }
  }, async (server) => {
    assert.equal(await actionSeenBy(server.url, 'Pilot'), 'PreDeploymentCheck');
  });
});

test('an Uninstall approval for All Computers is delivered as Uninstall', async () => {
  await withServer({}, (config) => {
    importInto(config, sources);
    const admin = adminHandle(config);
    try {
      admin.targeting.approve(bundleId, 'All Computers', 'Uninstall', null, 'test', new Date());
    } finally {
      admin.close();
    }
  }, async (server) => {
    assert.equal(await actionSeenBy(server.url, undefined), 'Uninstall');
  });
});
