import { invalidParameters } from '../../core/errors.js';
import type { DeviceSpec } from '../../core/scan/driver-scan.js';
import { child, children } from '../xml/xml-element.js';
import { CLIENT_NS } from '../soap/namespaces.js';
import { bool, cookieData, guid, identities, int, intArray, present, stringArray, text } from './request-readers.js';
import { cookieXml, deploymentXml, guidArrayXml, intArrayXml, updateInfoArrayXml } from './response-writers.js';
import type { OperationHandler } from './operation-context.js';
import type { SyncResult } from '../../services/scan.service.js';

// DeployedOutOfScopeRevisionIds is never written: a computer gets one deployment set (its groups
// merged), so no revision is in scope for one of its groups and out of scope for another.
function syncInfoXml(r: SyncResult): string {
  return updateInfoArrayXml('NewUpdates', r.newUpdates) +
    intArrayXml('OutOfScopeRevisionIDs', r.outOfScope) +
    updateInfoArrayXml('ChangedUpdates', r.changedUpdates) +
    `<Truncated>${r.truncated}</Truncated>` +
    cookieXml('NewCookie', r.newCookie) +
    `<DriverSyncNotNeeded>${r.driverSyncNotNeeded}</DriverSyncNotNeeded>`;
}

function devicesOf(spec: ReturnType<typeof child>, max: number): DeviceSpec[] {
  if (!present(spec)) return [];
  const devices = children(spec, 'Device');
  if (devices.length > max) throw invalidParameters('parameters.SystemSpec');
  return devices.map((d) => {
    const installed = child(d, 'installedDriver');
    return {
      hardwareIds: stringArray(d, 'HardwareIDs', 'parameters.SystemSpec', max) ?? [],
      compatibleIds: stringArray(d, 'CompatibleIDs', 'parameters.SystemSpec', max) ?? [],
      installed: present(installed)
        ? { driverVerDate: text(installed, 'DriverVerDate'), driverVerVersion: text(installed, 'DriverVerVersion') }
        : undefined,
    };
  });
}

export const syncUpdates: OperationHandler = (op, ctx) => {
  const cookie = ctx.services.sessions.authenticate(cookieData(op, 'cookie'), { checkConfig: true });
  const p = child(op, 'parameters');
  if (!present(p)) throw invalidParameters('parameters');
  const max = ctx.limits.maxArrayItems;
  const filter = child(p, 'FilterCategoryIds');
  const filterIds = present(filter)
    ? children(filter, 'CategoryIdentifier').map((c) => guid(text(c, 'Id'), 'parameters.FilterCategoryIds'))
    : [];
  if (filterIds.length > max) throw invalidParameters('parameters.FilterCategoryIds');
  // Validated like the real server, though never needed: see syncInfoXml on DeployedOutOfScopeRevisionIds.
  bool(p, 'NeedTwoGroupOutOfScopeUpdates', 'parameters.NeedTwoGroupOutOfScopeUpdates');
  const result = ctx.services.scan.syncUpdates(cookie, {
    installedNonLeaf: intArray(p, 'InstalledNonLeafUpdateIDs', 'parameters.InstalledNonLeafUpdateIDs', max),
    otherCached: intArray(p, 'OtherCachedUpdateIDs', 'parameters.OtherCachedUpdateIDs', max),
    cachedDriverIds: intArray(p, 'CachedDriverIDs', 'parameters.CachedDriverIDs', max),
    skipSoftwareSync: bool(p, 'SkipSoftwareSync', 'parameters.SkipSoftwareSync'),
    filterCategoryIds: filterIds,
    devices: devicesOf(child(p, 'SystemSpec'), max),
  }, ctx.address);
  return `<SyncUpdatesResponse xmlns="${CLIENT_NS}"><SyncUpdatesResult>${syncInfoXml(result)}</SyncUpdatesResult></SyncUpdatesResponse>`;
};

export const syncPrinterCatalog: OperationHandler = (op, ctx) => {
  const cookie = ctx.services.sessions.authenticate(cookieData(op, 'cookie'), { checkConfig: true });
  const max = ctx.limits.maxArrayItems;
  const result = ctx.services.scan.syncPrinterCatalog(
    cookie,
    intArray(op, 'installedNonLeafUpdateIDs', 'installedNonLeafUpdateIDs', max),
    intArray(op, 'printerUpdateIDs', 'printerUpdateIDs', max),
  );
  return `<SyncPrinterCatalogResponse xmlns="${CLIENT_NS}"><SyncPrinterCatalogResult>${syncInfoXml(result)}</SyncPrinterCatalogResult></SyncPrinterCatalogResponse>`;
};

export const startCategoryScan: OperationHandler = (op, ctx) => {
  const req = child(op, 'requestedCategories');
  if (!present(req)) throw invalidParameters('requestedCategories');
  const rel = children(req, 'CategoryRelationship').map((c) => ({
    index: int(c, 'IndexOfAndGroup', 'requestedCategories'),
    categoryId: guid(text(c, 'CategoryId'), 'requestedCategories'),
  }));
  const r = ctx.services.scan.startCategoryScan(rel);
  return `<StartCategoryScanResponse xmlns="${CLIENT_NS}">${guidArrayXml('preferredCategoryIds', r.preferred)}` +
    `${guidArrayXml('requestedCategoryIdsInError', r.inError)}</StartCategoryScanResponse>`;
};

export const refreshCache: OperationHandler = (op, ctx) => {
  const cookie = ctx.services.sessions.authenticate(cookieData(op, 'cookie'), { checkConfig: false });
  const ids = identities(op, 'globalIDs', 'globalIDs', ctx.limits.maxArrayItems);
  const results = ctx.services.scan.refreshCache(cookie, ids);
  const items = results.map((r) =>
    `<RefreshCacheResult><RevisionID>${r.revisionId}</RevisionID><GlobalID><UpdateID>${r.updateId}</UpdateID>` +
    `<RevisionNumber>${r.revisionNumber}</RevisionNumber></GlobalID><IsLeaf>${r.isLeaf}</IsLeaf>${deploymentXml(r.deployment)}</RefreshCacheResult>`).join('');
  return `<RefreshCacheResponse xmlns="${CLIENT_NS}">` +
    (items ? `<RefreshCacheResult>${items}</RefreshCacheResult>` : '') + '</RefreshCacheResponse>';
};
