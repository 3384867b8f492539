import assert from 'node:assert/strict';
import type { ServerConfig } from '../../src/config/config.js';
import { DomainError } from '../../src/core/errors.js';
import type { ContentLocator } from '../../src/core/content/content-types.js';
import { importDocuments, type UpdateDocumentSource } from '../../src/services/import.service.js';
import { createUpstreamRoleService, type UpstreamRole } from '../../src/services/upstream-role/upstream-role.service.js';
import type { DssSession } from '../../src/services/upstream-role/upstream-role.types.js';
import { loadServerIdentity } from '../../src/store/server-identity.store.js';
import type { GeneratedDocument } from '../../src/fixtures/catalog-generator.js';
import { adminHandle, quietLog, tempDataDir, testConfig } from './test-server.js';

// The upstream role on a real SQLite file, with a settable clock and a content locator that
// records what it was asked to download.

export interface UpstreamHarness {
  config: ServerConfig;
  role: UpstreamRole;
  admin: ReturnType<typeof adminHandle>;
  serverId: string;
  requested: string[];
  /** ms since epoch the service's clock reads */
  now: { ms: number };
  importDocs(docs: Iterable<GeneratedDocument | UpdateDocumentSource>): void;
  /** authorize + getCookie + open, as a downstream does */
  session(dssId?: string, fqdn?: string): { cookie: string; session: DssSession };
  close(): void;
}

export const DSS_ID = '6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12';
export const DSS_FQDN = 'dss.lab.invalid';

export function upstreamHarness(opts: { upstreamRole?: Record<string, unknown>; content?: 'none' | 'approved' | 'all' } = {}): UpstreamHarness {
  const tmp = tempDataDir();
  const config = testConfig(tmp.dir, { upstreamRole: opts.upstreamRole ?? {} });
  const admin = adminHandle(config);
  const identity = loadServerIdentity(admin.db, new Date());
  const requested: string[] = [];
  const content: ContentLocator = { locate: () => undefined, isKnown: () => true, requestDownload: (hex) => requested.push(hex) };
  const now = { ms: Date.parse('2026-10-04T16:00:00.000Z') };
  const contentMode = opts.content ?? 'approved';
  const role = createUpstreamRoleService({
    db: admin.db,
    identity: { serverId: identity.serverId, cookieKey: identity.cookieKey, configLastChange: () => identity.configLastChange },
    config: config.upstreamRole,
    catalogOnlySync: contentMode === 'none',
    lazySync: contentMode === 'approved',
    content,
    clock: () => new Date(now.ms),
    log: quietLog,
  });
  return {
    config, role, admin, serverId: identity.serverId, requested, now,
    importDocs(docs) {
      const sources = [...docs].map((d) => ('xml' in d ? { name: d.fileName, read: () => d.xml } : d));
      const r = importDocuments({ db: admin.db, catalog: admin.catalog, log: quietLog, clock: () => new Date() }, sources);
      assert.equal(r.failed, 0, JSON.stringify(r.failures[0]));
    },
    session(dssId = DSS_ID, fqdn = DSS_FQDN) {
      const auth = role.authorize(fqdn, dssId, '192.0.2.10');
      const cookie = role.getCookie([{ plugInId: 'DssTargeting', cookieData: auth }], null, '1.20').encryptedData;
      return { cookie, session: role.open(cookie) };
    },
    close() {
      admin.close();
      tmp.cleanup();
    },
  };
}

/** The DomainError code (and detail) a call throws. */
export function fault(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof DomainError, String(e));
    return e.detail ? `${e.code}:${e.detail}` : e.code;
  }
  return 'no error';
}
