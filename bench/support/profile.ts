// A simulated machine with a realistic footprint. The stock WuaClient treats every non-leaf item
// as installed, so on a 20,000-revision catalog it would end up caching nearly everything. A real
// machine has one OS build, one architecture and a handful of products, so most detectoids and
// product categories evaluate to "not installed": they stay in OtherCachedUpdateIDs and the
// updates behind them are never offered. The profile decides per UpdateID, from the generator's
// plan, what this machine has installed.

import { buildPlan } from '../../src/fixtures/catalog-plan.js';
import { resolveOptions } from '../../src/fixtures/catalog-generator.js';
import type { Arch } from '../../src/fixtures/catalog-vocabulary.js';
import { PRODUCTS } from '../../src/fixtures/catalog-vocabulary.js';
import { WuaClient, type ScannedUpdate } from '../../test/support/wua-client.js';

export interface MachineProfile {
  /** product keys of the generator's vocabulary (win11, defender, edge, ...) */
  products: string[];
  arch: Arch;
  /** OS build numbers the OS detectoids match */
  osBuilds: number[];
}

/** A Windows 11 25H2 x64 desktop with Edge, Office 2019 and .NET 8: about 1,500 cached ids on the default catalog, as the native capture's 1,431. */
export const DESKTOP_PROFILE: MachineProfile = { products: ['win11', 'edge', 'office2019', 'dotnet8'], arch: 'x64', osBuilds: [26200] };

/** Lower-case UpdateIDs of the non-leaf items (categories, detectoids) the profile has installed. */
export function installedNonLeafIds(updates: number, seed: number, profile: MachineProfile): Set<string> {
  const plan = buildPlan(resolveOptions({ updates, seed }));
  const products = new Set(profile.products);
  const builds = new Set(profile.osBuilds);
  const installed = new Set<string>();
  for (const c of plan.categories) {
    if (c.kind !== 'product' || (c.product && products.has(c.product.key))) installed.add(c.updateId);
  }
  // Detectoids come parents first: a derived one holds where its parent holds.
  for (const d of plan.detectoids) {
    let ok = false;
    switch (d.rule.type) {
      case 'os': {
        const os = d.rule.os;
        const owner = PRODUCTS.find((p) => p.os?.includes(os));
        ok = d.rule.arch === profile.arch && builds.has(os.build) && owner !== undefined && products.has(owner.key);
        break;
      }
      case 'product':
        ok = d.rule.arch === profile.arch && products.has(d.rule.product.key);
        break;
      case 'derived':
        ok = d.prerequisiteId !== undefined && installed.has(d.prerequisiteId);
        break;
    }
    if (ok) installed.add(d.updateId);
  }
  return installed;
}

const UPDATE_ID_RE = /UpdateID="([0-9a-fA-F-]{36})"/;

/** WuaClient whose non-leaf items count as installed only when the machine profile says so. */
export class ProfileClient extends WuaClient {
  constructor(base: string, clientId: string, private readonly installed: ReadonlySet<string>, opts: { xpress?: boolean } = {}) {
    super(base, clientId, opts);
  }

  override async syncPage(extra = ''): ReturnType<WuaClient['syncPage']> {
    const page = await super.syncPage(extra);
    const notInstalled = new Set<number>();
    for (const u of page.newUpdates) if (!u.isLeaf && !this.isInstalled(u)) notInstalled.add(u.revisionId);
    if (notInstalled.size) {
      this.installedNonLeaf = this.installedNonLeaf.filter((id) => !notInstalled.has(id));
      this.otherCached.push(...notInstalled);
    }
    return page;
  }

  private isInstalled(u: ScannedUpdate): boolean {
    const m = UPDATE_ID_RE.exec(u.core.replaceAll('&quot;', '"'));
    return m !== null && this.installed.has(m[1]!.toLowerCase());
  }
}
