import { parseUpdateDocument } from '../../src/core/catalog/parse-update.js';
import type {
  DeploymentsResult, RevisionFilter, RevisionIdList, ServerSyncConfigData, ServerUpdateData, SyncDeployment, SyncLanguage,
  SyncTargetGroup, UpdateIdentity,
} from '../../src/core/server-sync/server-sync-model.js';
import { upstreamContentUrl } from '../../src/core/sync/content-url.js';
import { sha1Base64ToHex } from '../../src/store/catalog.store.js';
import {
  UpstreamFaultError, type OpenUpstreamSession, type ServerSyncSession, type UpstreamSessionOptions,
} from '../../src/upstream/server-sync-session.js';

// An in-memory MS-WSUSSS upstream for sync tests: a map of documents with the change counter
// at which each arrived, the USS filter rules of MS-WSUSSS 3.1.5.x (highest revision per
// update; product AND classification; Delta=false ignores the anchor; bundle members follow
// their bundles), fault injection, and a call log.

interface FakeDoc {
  identity: UpdateIdentity;
  xml: string;
  seq: number;
  isConfig: boolean;
  categories: Set<string>;
  bundled: UpdateIdentity[];
  digests: string[];
}

export interface FakeCall {
  op: string;
  arg?: unknown;
}

const key = (i: UpdateIdentity) => `${i.updateId}:${i.revisionNumber}`;

export const FAKE_LANGUAGES: SyncLanguage[] = [
  { id: 0, short: 'all', long: 'all', enabled: true },
  { id: 1031, short: 'de', long: 'German', enabled: true },
  { id: 1033, short: 'en', long: 'English', enabled: true },
  { id: 1036, short: 'fr', long: 'French', enabled: true },
];

export class FakeUpstream {
  readonly docs = new Map<string, FakeDoc>();
  seq = 0;
  /** bump to simulate a rebuilt upstream: cookies from before get ServerChanged */
  epoch = 1;
  maxPerRequest = 100;
  catalogOnlySync = false;
  /** fileUrls MUUrl = `${muBase}/<SHA1HEX>.bin` */
  muBase = 'http://mu.example.test';
  calls: FakeCall[] = [];
  /** ids left out of the next GetUpdateData answer that asks for them (once each) */
  omitOnce = new Set<string>();
  /** ids GetUpdateData never returns */
  neverReturn = new Set<string>();
  /** throws this from the n-th call of an operation (1-based), once */
  failures: Array<{ op: string; call: number; error: () => Error }> = [];
  groups: SyncTargetGroup[] = [];
  deploymentLog: Array<{ seq: number; d: SyncDeployment }> = [];
  deadLog: Array<{ seq: number; guid: string }> = [];
  hidden: string[] = [];
  downloadRequests: string[][] = [];
  private cookieN = 0;
  private opCounts = new Map<string, number>();

  add(xml: string): UpdateIdentity {
    const p = parseUpdateDocument(xml);
    this.seq++;
    this.docs.set(key(p.identity), {
      identity: p.identity, xml, seq: this.seq, isConfig: p.updateType === 'Category' || p.updateType === 'Detectoid',
      categories: new Set(p.prerequisites.filter((c) => c.isCategory).flatMap((c) => c.updateIds)),
      bundled: p.bundledUpdates, digests: p.files.map((f) => f.sha1),
    });
    return p.identity;
  }

  addAll(xmls: Iterable<string>): void {
    for (const x of xmls) this.add(x);
  }

  deploy(d: Omit<SyncDeployment, 'revisionNumber' | 'isAssigned' | 'goLiveTime' | 'downloadPriority' | 'adminName'> & Partial<SyncDeployment>): void {
    this.seq++;
    this.deploymentLog.push({ seq: this.seq, d: { revisionNumber: 200, isAssigned: true, goLiveTime: new Date(this.seq * 1000).toISOString(), downloadPriority: 1, adminName: 'upstream-admin', ...d } });
  }

  killDeployment(guid: string): void {
    this.seq++;
    this.deadLog.push({ seq: this.seq, guid });
  }

  private tick(op: string, arg?: unknown): void {
    this.calls.push({ op, arg });
    const n = (this.opCounts.get(op) ?? 0) + 1;
    this.opCounts.set(op, n);
    const i = this.failures.findIndex((f) => f.op === op && f.call === n);
    if (i >= 0) {
      const [f] = this.failures.splice(i, 1);
      throw f!.error();
    }
  }

  private anchorSeq(anchor: string | null, op: string): number {
    if (anchor === null) return 0;
    const m = /^e(\d+),(\d+)$/.exec(anchor);
    if (!m) throw new UpstreamFaultError(op, 'InvalidParameters', 'filter', 500);
    return Number(m[2]);
  }

  private anchor(): string {
    return `e${this.epoch},${this.seq}`;
  }

  /** highest revision per update */
  private latest(): FakeDoc[] {
    const best = new Map<string, FakeDoc>();
    for (const d of this.docs.values()) {
      const b = best.get(d.identity.updateId);
      if (!b || d.identity.revisionNumber > b.identity.revisionNumber) best.set(d.identity.updateId, d);
    }
    return [...best.values()];
  }

  lastOptions: UpstreamSessionOptions | undefined;

  opener(): OpenUpstreamSession {
    return async (o: UpstreamSessionOptions): Promise<ServerSyncSession> => {
      this.lastOptions = o;
      this.tick('open', o.lastCookie);
      if (o.lastCookie !== null && !o.lastCookie.startsWith(`cookie-e${this.epoch}-`)) {
        throw new UpstreamFaultError('GetCookie', 'ServerChanged', '', 500);
      }
      const cookie = () => o.onCookie?.(`cookie-e${this.epoch}-${++this.cookieN}`);
      cookie();
      const checkEpoch = (op: string, anchor: string | null) => {
        if (anchor !== null && !anchor.startsWith(`e${this.epoch},`)) throw new UpstreamFaultError(op, 'ServerChanged', '', 500);
      };
      return {
        baseUrl: o.baseUrl,
        configData: async (configAnchor): Promise<ServerSyncConfigData> => {
          this.tick('configData', configAnchor);
          return {
            catalogOnlySync: this.catalogOnlySync, lazySync: true, serverHostsPsfFiles: false, maxNumberOfUpdatesPerRequest: this.maxPerRequest,
            maxNumberOfDriverSetsPerRequest: 100, maxNumberOfComputerIdsInRequest: 100, maxNumberOfPnpHardwareIdsInRequest: 100,
            maxUpdatesPerRequestInGetUpdateDecryptionData: 100, newConfigAnchor: this.anchor(), protocolVersion: '1.20',
            languages: configAnchor === null ? FAKE_LANGUAGES : FAKE_LANGUAGES.slice(0, 1),
          };
        },
        revisionIdList: async (filter: RevisionFilter): Promise<RevisionIdList> => {
          this.tick('revisionIdList', filter);
          checkEpoch('GetRevisionIdList', filter.anchor);
          const since = this.anchorSeq(filter.anchor, 'GetRevisionIdList');
          const out = new Map<string, UpdateIdentity>();
          if (filter.getConfig) {
            for (const d of this.latest()) if (d.isConfig && d.seq > since) out.set(key(d.identity), d.identity);
          } else {
            if (!filter.categories?.length || !filter.classifications?.length) throw new UpstreamFaultError('GetRevisionIdList', 'InvalidParameters', 'filter', 500);
            for (const d of this.latest()) {
              if (d.isConfig) continue;
              const p = filter.categories.filter((c) => d.categories.has(c.id));
              const c = filter.classifications.filter((x) => d.categories.has(x.id));
              if (!p.length || !c.length) continue;
              if (d.seq <= since && p.every((x) => x.delta) && c.every((x) => x.delta)) continue;
              out.set(key(d.identity), d.identity);
              for (const b of d.bundled) if (this.docs.has(key(b))) out.set(key(b), b);
            }
          }
          return { anchor: this.anchor(), revisions: [...out.values()] };
        },
        updateData: async (ids): Promise<ServerUpdateData> => {
          this.tick('updateData', ids.length);
          if (ids.length > this.maxPerRequest) throw new UpstreamFaultError('GetUpdateData', 'InvalidParameters', 'updateIds', 500);
          const updates: ServerUpdateData['updates'] = [];
          const fileUrls: ServerUpdateData['fileUrls'] = [];
          for (const id of ids) {
            const d = this.docs.get(key(id));
            if (!d) throw new UpstreamFaultError('GetUpdateData', 'InternalServerError', '', 500);
            if (this.neverReturn.has(key(id))) continue;
            if (this.omitOnce.delete(key(id))) continue;
            updates.push({ identity: d.identity, xml: d.xml, fileDigests: d.digests });
            for (const g of d.digests) fileUrls.push({ digest: g, muUrl: `${this.muBase}/${sha1Base64ToHex(g)}.bin`, ussUrl: null });
          }
          return { updates, fileUrls };
        },
        decryptionData: async () => [],
        deployments: async (deploymentAnchor, syncAnchor): Promise<DeploymentsResult> => {
          this.tick('deployments', { deploymentAnchor, syncAnchor });
          checkEpoch('GetDeployments', deploymentAnchor);
          const since = this.anchorSeq(deploymentAnchor, 'GetDeployments');
          return {
            anchor: this.anchor(), groups: this.groups,
            deployments: this.deploymentLog.filter((x) => x.seq > since).map((x) => x.d),
            deadDeployments: this.deadLog.filter((x) => x.seq > since).map((x) => x.guid),
            hiddenUpdates: this.hidden, acceptedEulas: [],
          };
        },
        downloadFiles: async (digests) => {
          this.tick('downloadFiles', digests);
          this.downloadRequests.push(digests);
        },
        rollupConfiguration: async () => { throw new Error('not used'); },
        contentUrl: (hex, fileName) => upstreamContentUrl(o.baseUrl, hex, fileName),
      };
    };
  }

  count(op: string): number {
    return this.calls.filter((c) => c.op === op).length;
  }
}
