import { DomainError, invalidParameters } from '../core/errors.js';
import type { ClientCookie } from '../core/cookies/cookie-token.js';
import type { ServerConfig } from '../config/config.js';
import type { CatalogStore } from '../store/catalog.store.js';
import type { ComputersStore } from '../store/computers.store.js';
import { scanSoftware, satisfiedBy } from '../core/scan/software-scan.js';
import { scanDrivers, type DeviceSpec } from '../core/scan/driver-scan.js';
import { resolveDeployment, type Deployment } from '../core/scan/deployment.js';
import { deliveredEntry } from '../core/scan/catalog-snapshot.js';
import { effectiveGroups } from '../core/targeting/group-tree.js';
import type { CatalogView, CatalogViewHolder } from './catalog-view.js';
import type { ClientSessionService, CookieOut } from './client-session.service.js';

export interface UpdateInfoOut {
  revisionId: number;
  deployment: Deployment;
  isLeaf: boolean;
  /** escaped Core fragment; absent for ChangedUpdates */
  xmlEscaped?: string;
}

export interface SyncParams {
  installedNonLeaf: number[];
  otherCached: number[];
  cachedDriverIds: number[];
  skipSoftwareSync: boolean;
  filterCategoryIds: string[];
  devices: DeviceSpec[];
}

export interface SyncResult {
  newUpdates: UpdateInfoOut[];
  changedUpdates: UpdateInfoOut[];
  outOfScope: number[];
  truncated: boolean;
  newCookie: CookieOut;
  driverSyncNotNeeded: boolean;
}

export function createScanService(deps: {
  config: ServerConfig;
  views: CatalogViewHolder;
  catalog: CatalogStore;
  computers: ComputersStore;
  sessions: ClientSessionService;
  clock: () => Date;
}) {
  const { config, views, catalog, computers, sessions } = deps;
  const groupCache = new Map<string, Set<string>>();
  const contacts = new Map<string, { at: string; address: string | null; dnsName: string }>();
  views.onChange(() => {
    groupCache.clear();
    sessions.forgetRegistrations();
  });

  function groupsOf(view: CatalogView, cookie: ClientCookie): Set<string> {
    let g = groupCache.get(cookie.clientId);
    if (!g) {
      const t = computers.targeting(cookie.clientId);
      g = new Set(effectiveGroups(view.groups, view.groupsByName, config.targetingMode, t?.assignedGroupId ?? null,
        t?.requestedGroups ?? cookie.targetGroups));
      if (groupCache.size > 100_000) groupCache.clear();
      groupCache.set(cookie.clientId, g);
    }
    return g;
  }

  function info(view: CatalogView, ei: number, groups: Set<string>, withXml: boolean): UpdateInfoOut {
    const e = view.snapshot.entries[ei]!;
    const out: UpdateInfoOut = {
      revisionId: e.revisionId,
      deployment: resolveDeployment(e, view.approvals.get(ei), groups),
      isLeaf: e.isLeaf,
    };
    if (withXml) {
      const xml = catalog.coreEscaped(e.revisionId);
      if (xml === undefined) throw new DomainError('InternalServerError', '', `core fragment of revision ${e.revisionId} missing`);
      out.xmlEscaped = xml;
    }
    return out;
  }

  return {
    syncUpdates(cookie: ClientCookie, p: SyncParams, address: string | null): SyncResult {
      if (!sessions.isRegistered(cookie.clientId)) throw new DomainError('RegistrationRequired', '', 'computer not registered');
      if (p.installedNonLeaf.length > config.limits.maxInstalledNonLeaf) {
        throw invalidParameters('parameters.InstalledNonLeafUpdateIDs');
      }
      if (!p.skipSoftwareSync && p.devices.length > 0) throw invalidParameters('parameters.SystemSpec');
      const view = views.current();
      const snap = view.snapshot;
      const groups = groupsOf(view, cookie);
      contacts.set(cookie.clientId, { at: deps.clock().toISOString(), address, dnsName: cookie.dnsName });
      const page = p.skipSoftwareSync
        ? scanDrivers(snap, {
          installedNonLeaf: p.installedNonLeaf, cachedDriverIds: p.cachedDriverIds, devices: p.devices,
          watermark: cookie.watermark, pageSize: config.pageSize,
        }, satisfiedBy(snap, p.installedNonLeaf))
        : scanSoftware(snap, {
          installedNonLeaf: p.installedNonLeaf, otherCached: p.otherCached, filterCategoryIds: p.filterCategoryIds,
          watermark: cookie.watermark, pageSize: config.pageSize,
        });
      return {
        newUpdates: page.newEntries.map((ei) => info(view, ei, groups, true)),
        changedUpdates: page.changed.map((ei) => info(view, ei, groups, false)),
        outOfScope: page.outOfScope,
        truncated: page.truncated,
        newCookie: sessions.renew(cookie, Math.max(cookie.watermark, snap.changeSeqHigh)),
        // A filtered scan never needs the driver pass; the driver pass itself reports whether
        // any driver could apply. An unfiltered software pass leaves the decision to the client.
        driverSyncNotNeeded: p.skipSoftwareSync
          ? page.newEntries.length === 0 && !page.truncated
          : p.filterCategoryIds.length > 0,
      };
    },

    refreshCache(cookie: ClientCookie, identities: Array<{ updateId: string; revisionNumber: number }>): Array<{ revisionId: number; updateId: string; revisionNumber: number; isLeaf: boolean; deployment: Deployment }> {
      const view = views.current();
      const groups = groupsOf(view, cookie);
      const out = [];
      for (const id of identities) {
        const ei = view.snapshot.byUpdateId.get(id.updateId.toLowerCase());
        if (ei === undefined) continue;
        const e = view.snapshot.entries[ei]!;
        if (!e.delivered || e.revisionNumber !== id.revisionNumber) continue;
        const deployment = resolveDeployment(e, view.approvals.get(ei), groups);
        // Bundle members are re-learned through their bundle, as on real WSUS.
        if (deployment.action === 'Bundle') continue;
        out.push({ revisionId: e.revisionId, updateId: id.updateId, revisionNumber: e.revisionNumber, isLeaf: e.isLeaf, deployment });
      }
      return out;
    },

    /** Printer drivers for the Add Printer wizard: delivered Printer-class drivers whose prerequisites hold. */
    syncPrinterCatalog(cookie: ClientCookie, installedNonLeaf: number[], printerIds: number[]): SyncResult {
      if (!sessions.isRegistered(cookie.clientId)) throw new DomainError('RegistrationRequired', '', 'computer not registered');
      const view = views.current();
      const snap = view.snapshot;
      const groups = groupsOf(view, cookie);
      const ok = satisfiedBy(snap, installedNonLeaf);
      const cached = new Set(printerIds);
      const fresh: number[] = [];
      for (const ei of snap.driverEntries) {
        const e = snap.entries[ei]!;
        if (e.delivered && e.driver?.driverClass?.toLowerCase() === 'printer' && !cached.has(e.revisionId) && ok(e)) fresh.push(ei);
      }
      const outOfScope = printerIds.filter((id) => deliveredEntry(snap, id)?.kind !== 'Driver');
      return {
        newUpdates: fresh.slice(0, config.pageSize).map((ei) => info(view, ei, groups, true)),
        changedUpdates: [],
        outOfScope,
        truncated: fresh.length > config.pageSize,
        newCookie: sessions.renew(cookie, Math.max(cookie.watermark, snap.changeSeqHigh)),
        driverSyncNotNeeded: false,
      };
    },

    /** StartCategoryScan's DNF rules: see PROTOCOL.md §2.3. */
    startCategoryScan(requested: Array<{ index: number; categoryId: string }>): { preferred: string[]; inError: string[] } {
      if (requested.length === 0) throw invalidParameters('requestedCategories');
      if (requested.length >= 200) throw invalidParameters('requestedCategories');
      const snap = views.current().snapshot;
      const groupsByIndex = new Map<number, string[]>();
      for (const r of requested) groupsByIndex.set(r.index, [...(groupsByIndex.get(r.index) ?? []), r.categoryId]);
      const preferred: string[] = [];
      const inError: string[] = [];
      for (const ids of groupsByIndex.values()) {
        const entries = ids.map((id) => snap.byUpdateId.get(id.toLowerCase()));
        const unknown = ids.filter((_, k) => entries[k] === undefined);
        if (unknown.length) {
          inError.push(...unknown);
          continue;
        }
        const types = entries.map((ei) => snap.entries[ei!]!.categoryType);
        const products = ids.filter((_, k) => types[k] === 'Product');
        const classifications = types.filter((t) => t === 'UpdateClassification').length;
        if (products.length === 1 && products.length + classifications === ids.length && classifications <= 1) {
          if (!preferred.includes(products[0]!)) preferred.push(products[0]!);
        } else {
          preferred.length = 0;
          break;
        }
      }
      return { preferred, inError };
    },

    /** Buffered last-contact times, written in one transaction by the server's flush timer. */
    drainContacts(): Map<string, { at: string; address: string | null; dnsName: string }> {
      const copy = new Map(contacts);
      contacts.clear();
      return copy;
    },
  };
}

export type ScanService = ReturnType<typeof createScanService>;
