import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyDeploymentStates, buildSnapshot, type SnapshotInput } from '../src/core/scan/catalog-snapshot.js';
import { scanSoftware } from '../src/core/scan/software-scan.js';
import { resolveDeployment } from '../src/core/scan/deployment.js';
import { effectiveGroups } from '../src/core/targeting/group-tree.js';
import { ALL_COMPUTERS_ID, UNASSIGNED_COMPUTERS_ID } from '../src/core/targeting/builtin-groups.js';

// Table-driven tests of the pure scan core on a hand-built catalog:
//   company(1) <- family(2) <- product(3); classification(4); detectoid(5, needs family)
//   bundle(6) needs product AND classification, contains child(7); update(8) needs product AND detectoid
//   declined(9) and expired(10) like 8.

const C = (id: number): string => `00000000-0000-0000-0000-${String(id).padStart(12, '0')}`;

function row(n: number, type: string, prereqs: number[][], extra: Partial<SnapshotInput> = {}): SnapshotInput {
  return {
    updateId: C(n), updateType: type, revisionId: 100 + n, revisionNumber: 200, categoryType: null,
    publicationState: 'Published', declined: false, isLeaf: true,
    prerequisites: prereqs.map((c) => ({ updateIds: c.map(C), isCategory: type !== 'Detectoid' })),
    bundledUpdates: [], driver: null, implicitDeploymentId: 5000 + n, changeSeq: 1, changedAt: '2026-10-04T10:00:00.000Z',
    ...extra,
  };
}

const rows: SnapshotInput[] = [
  row(1, 'Category', [], { isLeaf: false, categoryType: 'Company' }),
  row(2, 'Category', [[1]], { isLeaf: false, categoryType: 'ProductFamily' }),
  row(3, 'Category', [[2]], { isLeaf: false, categoryType: 'Product' }),
  row(4, 'Category', [], { isLeaf: false, categoryType: 'UpdateClassification' }),
  row(5, 'Detectoid', [[2]], { isLeaf: false }),
  row(6, 'Software', [[3], [4]], { bundledUpdates: [{ updateId: C(7), revisionNumber: 200 }] }),
  row(7, 'Software', [[3]]),
  row(8, 'Software', [[3], [5]]),
  row(9, 'Software', [[3]], { declined: true }),
  row(10, 'Software', [[3]], { publicationState: 'Expired' }),
];
const snap = buildSnapshot(rows, rows.map((r) => ({ id: r.revisionId, updateId: r.updateId })), 1, 10);
const rev = (n: number): number => 100 + n;

function fullScan(pageSize = 30, filter: string[] = []): { pages: number[][]; installed: number[]; other: number[] } {
  const installed: number[] = [];
  const other: number[] = [];
  const pages: number[][] = [];
  for (let i = 0; i < 20; i++) {
    const p = scanSoftware(snap, { installedNonLeaf: [...installed], otherCached: [...other], filterCategoryIds: filter, watermark: 10, pageSize });
    const ids = p.newEntries.map((e) => snap.entries[e]!.revisionId);
    pages.push(ids);
    for (const e of p.newEntries) (snap.entries[e]!.isLeaf ? other : installed).push(snap.entries[e]!.revisionId);
    if (!p.truncated && !p.newEntries.some((e) => !snap.entries[e]!.isLeaf)) break;
  }
  return { pages, installed, other };
}

test('staged delivery: roots first, then one prerequisite level per round', () => {
  const { pages } = fullScan();
  assert.deepEqual(pages[0], [rev(1), rev(4)]);
  assert.deepEqual(pages[1], [rev(2)]);
  assert.deepEqual(pages[2], [rev(3), rev(5)]);
  assert.deepEqual(pages[3], [rev(6), rev(7), rev(8)]);
  assert.equal(pages.length, 4, 'a page of leaves only, not truncated, ends the scan');
});

test('declined and expired updates are never delivered', () => {
  const all = fullScan().pages.flat();
  assert.ok(!all.includes(rev(9)));
  assert.ok(!all.includes(rev(10)));
});

test('pages hold at most pageSize updates and say Truncated while more remain', () => {
  const installed = [rev(1), rev(2), rev(3), rev(4), rev(5)];
  const p = scanSoftware(snap, { installedNonLeaf: installed, otherCached: [], filterCategoryIds: [], watermark: 10, pageSize: 2 });
  assert.equal(p.newEntries.length, 2);
  assert.equal(p.truncated, true);
  // bundles come before other leaves
  assert.equal(snap.entries[p.newEntries[0]!]!.revisionId, rev(6));
});

test('an up-to-date client gets nothing new; unknown and withdrawn cached ids are out of scope', () => {
  const { installed, other } = fullScan();
  const p = scanSoftware(snap, { installedNonLeaf: installed, otherCached: [...other, 999, rev(9)], filterCategoryIds: [], watermark: 10, pageSize: 30 });
  assert.deepEqual(p.newEntries, []);
  assert.equal(p.truncated, false);
  assert.deepEqual(p.outOfScope.sort(), [rev(9), 999].sort());
  assert.deepEqual(p.changed, []);
});

test('cached revisions changed after the watermark come back as changed', () => {
  const { installed, other } = fullScan();
  const p = scanSoftware(snap, { installedNonLeaf: installed, otherCached: other, filterCategoryIds: [], watermark: 0, pageSize: 30 });
  assert.equal(p.changed.length, installed.length + other.length);
});

test('FilterCategoryIds narrows the scan to the category chain and what is classified under it', () => {
  const { pages } = fullScan(30, [C(4)]);
  const all = pages.flat();
  assert.ok(all.includes(rev(4)));
  // the classification's own updates need the product chain too, so it is delivered as a dependency
  assert.ok(all.includes(rev(6)));
  assert.ok(!all.includes(rev(8)), 'update 8 is not classified under 4');
});

test('deployment actions: Evaluate, Bundle, PreDeploymentCheck, and approvals inherited by child groups', () => {
  const e = (n: number) => snap.entries[snap.byUpdateId.get(C(n))!]!;
  assert.equal(resolveDeployment(e(1), undefined, new Set([ALL_COMPUTERS_ID])).action, 'Evaluate');
  assert.equal(resolveDeployment(e(7), undefined, new Set([ALL_COMPUTERS_ID])).action, 'Bundle');
  assert.equal(resolveDeployment(e(8), undefined, new Set([ALL_COMPUTERS_ID])).action, 'PreDeploymentCheck');
  const approvals = [
    { groupId: 'pilot', action: 'Uninstall' as const, deadline: null, deploymentId: 7001, approvedAt: '2026-11-01T00:00:00Z' },
    { groupId: ALL_COMPUTERS_ID, action: 'Install' as const, deadline: '2026-12-01T00:00:00Z', deploymentId: 7002, approvedAt: '2026-11-02T08:00:00Z' },
  ];
  const d = resolveDeployment(e(6), approvals, new Set([ALL_COMPUTERS_ID, 'pilot']));
  assert.equal(d.action, 'Install', 'install wins over uninstall');
  assert.equal(d.id, 7002);
  assert.equal(d.lastChangeDate, '2026-11-02');
  assert.equal(d.deadline, '2026-12-01T00:00:00Z');
  assert.equal(resolveDeployment(e(6), approvals, new Set(['other'])).action, 'PreDeploymentCheck');
});

test('group resolution: ancestors included, unknown client-side groups fall back to Unassigned', () => {
  const groups = new Map([
    [ALL_COMPUTERS_ID, { id: ALL_COMPUTERS_ID, name: 'All Computers', parentId: null }],
    [UNASSIGNED_COMPUTERS_ID, { id: UNASSIGNED_COMPUTERS_ID, name: 'Unassigned Computers', parentId: ALL_COMPUTERS_ID }],
    ['ring0', { id: 'ring0', name: 'Ring0', parentId: 'pilot' }],
    ['pilot', { id: 'pilot', name: 'Pilot', parentId: ALL_COMPUTERS_ID }],
  ]);
  const byName = new Map([...groups.values()].map((g) => [g.name.toLowerCase(), g]));
  assert.deepEqual(effectiveGroups(groups, byName, 'client', null, 'ring0; nosuch'), [ALL_COMPUTERS_ID, 'pilot', 'ring0'].sort());
  assert.deepEqual(effectiveGroups(groups, byName, 'client', null, 'nosuch'), [ALL_COMPUTERS_ID, UNASSIGNED_COMPUTERS_ID].sort());
  assert.deepEqual(effectiveGroups(groups, byName, 'server', 'ring0', 'ignored'), [ALL_COMPUTERS_ID, 'pilot', 'ring0'].sort());
});

test('identical requests are answered from the memo, and any difference in the request is a different answer', () => {
  const { installed, other } = fullScan();
  const req = { installedNonLeaf: installed, otherCached: other, filterCategoryIds: [], watermark: 0, pageSize: 30 };
  const first = scanSoftware(snap, req);
  const second = scanSoftware(snap, { ...req, installedNonLeaf: [...installed], otherCached: [...other] });
  assert.deepEqual(second, first);
  assert.equal(scanSoftware(snap, { ...req, installedNonLeaf: [...installed], otherCached: [...other] }), second, 'kept from the second sighting on');
  assert.equal(scanSoftware(snap, { ...req, watermark: 10 }).changed.length, 0);
  const fewer = scanSoftware(snap, { ...req, otherCached: other.slice(1) });
  assert.equal(fewer.newEntries.length, 1, 'the dropped cached id is offered again');
  assert.equal(scanSoftware(snap, { ...req, filterCategoryIds: [C(4)] }).newEntries.length, 0);
});

test('a deployment refresh gives the same answers as a full rebuild with the same declines', () => {
  const states = new Map([
    [C(6), { declined: true, changeSeq: 20, changedAt: '2026-11-05T00:00:00.000Z' }],
    [C(9), { declined: false, changeSeq: 21, changedAt: '2026-11-06T00:00:00.000Z' }],
  ]);
  const refreshed = applyDeploymentStates(snap, states, 21);
  const rebuilt = buildSnapshot(rows.map((r) => {
    const st = states.get(r.updateId);
    return st ? { ...r, declined: st.declined, changeSeq: Math.max(r.changeSeq, st.changeSeq), changedAt: st.changedAt } : r;
  }), rows.map((r) => ({ id: r.revisionId, updateId: r.updateId })), 1, 21);
  const view = (s: typeof snap) => s.entries.map((e) => [e.updateId, e.delivered, e.isBundleChild, e.changeSeq, e.changedDate]);
  assert.deepEqual(view(refreshed), view(rebuilt));
  assert.equal(refreshed.entries[snap.byUpdateId.get(C(7))!]!.delivered, false, 'a declined bundle takes its member with it');
  assert.equal(refreshed.entries[snap.byUpdateId.get(C(9))!]!.delivered, true, 'undeclined');
  assert.equal(refreshed.dependents, snap.dependents, 'the catalog part is shared');
});
