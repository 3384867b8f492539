import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createSelfSignedCertificate, writeCertificateFiles, type SelfSignedPair } from '../../src/cli/commands/cert.command.js';
import { generateCatalog, type GeneratedCatalog } from '../../src/fixtures/catalog-generator.js';
import { startServer, type RunningServer } from '../../src/app/server.js';
import type { ServerConfig } from '../../src/config/config.js';
import { createTransferStore } from '../../src/store/transfer.store.js';
import { adminHandle, importInto, quietLog, tempDataDir, testConfig } from './test-server.js';
import { WuaClient } from './wua-client.js';

// Two servers for export/import tests: X (connected, signs packages) and Y (disconnected,
// trusts X's signing certificate), both with client-side targeting so a simulated client
// names its groups; and what a client sees of each.

export const signer: SelfSignedPair = createSelfSignedCertificate({ hosts: ['wsus-hq transfer'], days: 60, keyBits: 2048, purpose: 'signing' });

export interface Node {
  dir: string;
  config: ServerConfig;
  server: RunningServer;
}

export async function startNode(kind: 'exporter' | 'importer', extra: Record<string, unknown> = {}, trust: SelfSignedPair = signer): Promise<Node> {
  const tmp = tempDataDir();
  let transfer: Record<string, unknown>;
  if (kind === 'exporter') {
    writeCertificateFiles(join(tmp.dir, 'transfer'), signer, false, { cert: 'signing-cert.pem', key: 'signing-key.pem' });
    transfer = { signingCert: 'transfer/signing-cert.pem', signingKey: 'transfer/signing-key.pem' };
  } else {
    mkdirSync(join(tmp.dir, 'trust'));
    writeFileSync(join(tmp.dir, 'trust', 'hq.pem'), trust.certPem);
    transfer = { trustedCerts: ['trust/hq.pem'] };
  }
  const config = testConfig(tmp.dir, { targetingMode: 'client', transfer, ...extra });
  const server = await startServer(config, quietLog);
  return { dir: tmp.dir, config, server };
}

export async function stopNode(n: Node): Promise<void> {
  await n.server.close();
  const { rmSync } = await import('node:fs');
  rmSync(n.dir, { recursive: true, force: true });
}

export const catalog: GeneratedCatalog = generateCatalog({ updates: 40, seed: 77, fileSize: 16 * 1024 });
export const summary = catalog.summary;

/** Updates of a kind other than the well-known ones (the summary's picks often coincide). */
function others(kind: string): string[] {
  const taken = new Set([summary.interesting.bundle?.updateId, summary.interesting.standalone?.updateId, summary.interesting.multiRevision?.updateId]);
  return [...new Set([...catalog.documents].filter((d) => d.kind === kind && !taken.has(d.updateId)).map((d) => d.updateId))];
}
/** declined on X */
export const declinedId = others('bundle')[0]!;
/** approved on X later, for a delta */
export const laterApprovedId = others('standalone')[0]!;

/** Imports documents (all, or those `keep` accepts) and every content file into a node. */
export async function seed(n: Node, keep: (d: { updateId: string; revisionNumber: number }) => boolean = () => true): Promise<void> {
  importInto(n.config, [...catalog.documents].filter(keep).map((d) => ({ name: d.fileName, read: () => d.xml })));
  for (const f of catalog.contentFiles) {
    await n.server.adminDeps.content.ingestStream(Readable.from([f.bytes()]), f.sha1Hex).catch(() => undefined);
  }
}

/** Targeting on X: Pilot > Ring1; the bundle to Pilot with a deadline, the standalone to Ring1, one declined. */
export function approveOn(n: Node): void {
  const h = adminHandle(n.config);
  try {
    const now = new Date();
    h.targeting.createGroup('Pilot', undefined, now);
    h.targeting.createGroup('Ring1', 'Pilot', now);
    const s = summary.interesting;
    h.targeting.approve(s.bundle!.updateId, 'Pilot', 'Install', '2026-12-24T00:00:00.000Z', 'test', now);
    h.targeting.approve(s.standalone!.updateId, 'Ring1', 'Install', null, 'test', now);
    h.targeting.setDeclined(declinedId, true, now);
  } finally {
    h.close();
  }
}

export function figures(n: Node): ReturnType<ReturnType<typeof createTransferStore>['figures']> {
  const h = adminHandle(n.config);
  try {
    return createTransferStore(h.db).figures();
  } finally {
    h.close();
  }
}

const identityOf = (core: string): string => {
  const m = /^<UpdateIdentity UpdateID="([^"]+)" RevisionNumber="(\d+)"/.exec(core);
  return m ? `${m[1]!.toLowerCase()}/${m[2]}` : core.slice(0, 80);
};

export interface ClientView {
  /** identity → what the client was told (server-local ids left out) */
  updates: Map<string, { isLeaf: boolean; action: string; deadline: string | null; core: string }>;
  client: WuaClient;
}

/** A fresh client in `groups` scanning a node to completion. */
export async function scan(n: Node, clientId: string, groups = 'Ring1'): Promise<ClientView> {
  const c = new WuaClient(n.server.url, clientId, { targetGroup: groups });
  await c.handshake();
  await c.fullScan();
  const updates = new Map<string, { isLeaf: boolean; action: string; deadline: string | null; core: string }>();
  for (const u of c.received.values()) updates.set(identityOf(u.core), { isLeaf: u.isLeaf, action: u.action, deadline: u.deadline, core: u.core });
  return { updates, client: c };
}

export function copyInto(file: string, dir: string, name: string): string {
  const to = join(dir, name);
  copyFileSync(file, to);
  return to;
}
