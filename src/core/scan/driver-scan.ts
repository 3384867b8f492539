import type { CatalogSnapshot, SnapshotEntry } from './catalog-snapshot.js';
import { deliveredEntry } from './catalog-snapshot.js';

export interface InstalledDriver {
  driverVerDate?: string;
  /** the client's 64-bit packed version (4 × 16 bits), as decimal text */
  driverVerVersion?: string;
}

export interface DeviceSpec {
  hardwareIds: string[];
  compatibleIds: string[];
  installed?: InstalledDriver;
}

export interface DriverScanRequest {
  installedNonLeaf: readonly number[];
  cachedDriverIds: readonly number[];
  devices: readonly DeviceSpec[];
  watermark: number;
  pageSize: number;
}

const indexCache = new WeakMap<CatalogSnapshot, Map<string, number[]>>();

function hardwareIndex(s: CatalogSnapshot): Map<string, number[]> {
  let idx = indexCache.get(s);
  if (!idx) {
    idx = new Map();
    for (const ei of s.driverEntries) {
      for (const hw of s.entries[ei]!.driver?.hardwareIds ?? []) {
        const k = hw.toLowerCase();
        const list = idx.get(k) ?? [];
        list.push(ei);
        idx.set(k, list);
      }
    }
    indexCache.set(s, idx);
  }
  return idx;
}

/** "a.b.c.d" -> the packed 64-bit form clients send */
export function packDriverVersion(v: string | undefined): bigint {
  if (!v) return 0n;
  if (/^\d+$/.test(v)) return BigInt(v);
  const parts = v.split('.').slice(0, 4).map((p) => BigInt(Math.min(65535, Number.parseInt(p, 10) || 0)));
  while (parts.length < 4) parts.push(0n);
  return (parts[0]! << 48n) | (parts[1]! << 32n) | (parts[2]! << 16n) | parts[3]!;
}

function newer(date: string | undefined, version: bigint, than: InstalledDriver | undefined): boolean {
  if (!than) return true;
  const d = (date ?? '').slice(0, 10);
  const td = (than.driverVerDate ?? '').slice(0, 10);
  if (d !== td) return d > td;
  return version > packDriverVersion(than.driverVerVersion);
}

/**
 * The driver pass: for each device the best matching delivered driver (earlier hardware id
 * in the device's list first, then newer date, then higher version), offered only when it is
 * better than the installed one and not cached already.
 */
export function scanDrivers(
  snap: CatalogSnapshot,
  req: DriverScanRequest,
  isSatisfied: (e: SnapshotEntry) => boolean,
): { newEntries: number[]; truncated: boolean; outOfScope: number[]; changed: number[] } {
  const cached = new Set(req.cachedDriverIds);
  const chosen = new Set<number>();
  if (snap.driverEntries.length > 0) {
    const idx = hardwareIndex(snap);
    for (const dev of req.devices) {
      let best: { e: SnapshotEntry; rank: number; version: bigint } | undefined;
      const ids = [...dev.hardwareIds, ...dev.compatibleIds];
      ids.forEach((hw, rank) => {
        for (const ei of idx.get(hw.toLowerCase()) ?? []) {
          const e = snap.entries[ei]!;
          if (!e.delivered || !isSatisfied(e)) continue;
          const version = packDriverVersion(e.driver?.driverVerVersion);
          if (
            !best || rank < best.rank ||
            (rank === best.rank && ((e.driver?.driverVerDate ?? '') > (best.e.driver?.driverVerDate ?? '') ||
              ((e.driver?.driverVerDate ?? '') === (best.e.driver?.driverVerDate ?? '') && version > best.version)))
          ) {
            best = { e, rank, version };
          }
        }
      });
      if (best && newer(best.e.driver?.driverVerDate, best.version, dev.installed) && !cached.has(best.e.revisionId)) {
        chosen.add(best.e.index);
      }
    }
  }
  const sorted = [...chosen].sort((a, b) => snap.entries[a]!.revisionId - snap.entries[b]!.revisionId);
  const outOfScope: number[] = [];
  const changed: number[] = [];
  for (const id of cached) {
    const e = deliveredEntry(snap, id);
    if (!e || e.kind !== 'Driver') outOfScope.push(id);
    else if (e.changeSeq > req.watermark) changed.push(e.index);
  }
  return {
    newEntries: sorted.slice(0, req.pageSize),
    truncated: sorted.length > req.pageSize,
    outOfScope,
    changed,
  };
}
