import type { Db } from '../store/database.js';
import type { CatalogStore } from '../store/catalog.store.js';
import type { TargetingStore } from '../store/targeting.store.js';
import { readCounter } from '../store/server-identity.store.js';
import { applyDeploymentStates, buildSnapshot, type CatalogSnapshot } from '../core/scan/catalog-snapshot.js';
import type { Approval } from '../core/scan/deployment.js';
import type { GroupNode } from '../core/targeting/group-tree.js';

export interface CatalogView {
  snapshot: CatalogSnapshot;
  /** entry index -> approvals of that update */
  approvals: Map<number, Approval[]>;
  groups: Map<string, GroupNode>;
  groupsByName: Map<string, GroupNode>;
}

/**
 * Keeps the in-memory view of catalog and deployments in step with the database. The CLI
 * writes from other processes; SQLite's data_version tells us cheaply that someone did, and
 * the counters tell us whether anything the scan depends on changed.
 */
export function createCatalogViewHolder(db: Db, catalog: CatalogStore, targeting: TargetingStore, onReload?: (ms: number, view: CatalogView) => void) {
  const dataVersion = db.prepare('PRAGMA data_version').pluck();
  let lastDataVersion = -1;
  let lastGeneration = -1;
  let lastChangeSeq = -1;
  let view: CatalogView | null = null;
  const listeners: Array<() => void> = [];
  let checkedThisTurn = false;
  const endTurn = (): void => {
    checkedThisTurn = false;
  };

  function approvalsOf(snapshot: CatalogSnapshot): Map<number, Approval[]> {
    const approvals = new Map<number, Approval[]>();
    for (const a of targeting.approvals()) {
      const ei = snapshot.byUpdateId.get(a.updateId);
      if (ei === undefined) continue;
      const list = approvals.get(ei) ?? [];
      list.push({ groupId: a.groupId, action: a.action, deadline: a.deadline, deploymentId: a.deploymentId, approvedAt: a.approvedAt });
      approvals.set(ei, list);
    }
    return approvals;
  }

  function assemble(snapshot: CatalogSnapshot): CatalogView {
    const groupList = targeting.groups();
    return {
      snapshot,
      approvals: approvalsOf(snapshot),
      groups: new Map(groupList.map((g) => [g.id, g])),
      groupsByName: new Map(groupList.map((g) => [g.name.toLowerCase(), g])),
    };
  }

  /** Full load: after imports (the catalog itself changed). */
  function build(): CatalogView {
    const t0 = performance.now();
    const generation = readCounter(db, 'catalog_generation');
    const changeSeq = readCounter(db, 'change_seq');
    const rows = catalog.currentRevisions().map((r) => ({
      ...r,
      changeSeq: Math.max(r.changeSeq, r.deploymentChangeSeq),
      changedAt: r.deploymentChangedAt > r.ingestedAt ? r.deploymentChangedAt : r.ingestedAt,
      revisionChangeSeq: r.changeSeq,
      revisionChangedAt: r.ingestedAt,
    }));
    const v = assemble(buildSnapshot(rows, catalog.allRevisionIds(), generation, changeSeq));
    lastGeneration = generation;
    lastChangeSeq = changeSeq;
    onReload?.(performance.now() - t0, v);
    return v;
  }

  /** Deployment refresh: approvals, declines, groups changed; the catalog part is reused. */
  function refresh(prev: CatalogView): CatalogView {
    const t0 = performance.now();
    const changeSeq = readCounter(db, 'change_seq');
    const v = assemble(applyDeploymentStates(prev.snapshot, catalog.deploymentStates(), changeSeq));
    lastChangeSeq = changeSeq;
    onReload?.(performance.now() - t0, v);
    return v;
  }

  return {
    current(): CatalogView {
      // One data_version look-up per event-loop turn. Requests handled in a turn had all
      // arrived before the turn's first look-up ran, so a change committed before a request
      // was sent is always seen, and a burst of requests pays for one query.
      if (view !== null && checkedThisTurn) return view;
      checkedThisTurn = true;
      setImmediate(endTurn);
      const dv = dataVersion.get() as number;
      if (view === null || dv !== lastDataVersion) {
        lastDataVersion = dv;
        if (view === null || readCounter(db, 'catalog_generation') !== lastGeneration) view = build();
        else if (readCounter(db, 'change_seq') !== lastChangeSeq) view = refresh(view);
        // Any write by another process may have moved a computer or changed a group: caches
        // derived from those rows are dropped even when the catalog itself is unchanged.
        for (const l of listeners) l();
      }
      return view;
    },
    /** For writes made through this process's own connection (data_version does not see them). */
    invalidate(): void {
      // Keep the view: the counters decide between a deployment refresh (approvals, groups:
      // ~0.2 s on 50k revisions) and a full rebuild (catalog changes: ~1.9 s).
      checkedThisTurn = false;
      lastDataVersion = -1;
    },
    onChange(listener: () => void): void {
      listeners.push(listener);
    },
  };
}

export type CatalogViewHolder = ReturnType<typeof createCatalogViewHolder>;
