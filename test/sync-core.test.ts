import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileExtension, upstreamContentOrigin, upstreamContentUrl } from '../src/core/sync/content-url.js';
import { dailySlotOffsets, nextRunAt, scheduleIntervalMs } from '../src/core/sync/schedule.js';
import { categoriesFilter, mergeLanguageList, planUpdatesFilter, type FilterInput } from '../src/core/sync/selection-filter.js';
import { compileRules, normalizeRule, type ExclusionRule, type UpdateFacts } from '../src/core/sync/exclusion-rules.js';
import { planExclusions } from '../src/core/sync/exclusion-plan.js';
import { chunk, missingAfter, uniqueIdentities } from '../src/core/sync/batching.js';
import { planDeploymentMerge } from '../src/core/sync/deployment-plan.js';
import { factsFromTree } from '../src/core/sync/update-facts.js';
import { parseXmlTree } from '../src/core/catalog/xml-tree.js';
import { generateCatalog } from '../src/fixtures/catalog-generator.js';
import { parseUpdateDocument } from '../src/core/catalog/parse-update.js';
import { DomainError } from '../src/core/errors.js';
import type { DeploymentsResult, SyncDeployment } from '../src/core/server-sync/server-sync-model.js';
import { ALL_COMPUTERS_ID } from '../src/core/targeting/builtin-groups.js';

// Pure tables for the downstream role: content URLs, schedule, selection → filter with Delta,
// exclusion rules (bundle members follow their bundles), batching, the replica merge plan.

test('content origin per MS-WSUSSS 2.1 and content URLs', () => {
  const table: Array<[string, string]> = [
    ['https://wsus.corp:8531', 'http://wsus.corp:8530'],
    ['https://wsus.corp', 'http://wsus.corp'],
    ['https://wsus.corp:443', 'http://wsus.corp'],
    ['http://wsus.corp:8530', 'http://wsus.corp:8530'],
    ['http://wsus.corp', 'http://wsus.corp'],
    ['https://10.1.2.3:9443/', 'http://10.1.2.3:9442'],
    ['https://[::1]:8531', 'http://[::1]:8530'],
  ];
  for (const [base, origin] of table) assert.equal(upstreamContentOrigin(base), origin, base);
  assert.equal(upstreamContentUrl('https://wsus.corp:8531', '721d4c6a1b5c3a8e0f9b7d2c3e4f5a6b7c8d9b36', 'windows10.0-kb5034441-x64.cab'),
    'http://wsus.corp:8530/Content/36/721D4C6A1B5C3A8E0F9B7D2C3E4F5A6B7C8D9B36.cab');
  assert.equal(fileExtension('a.b.psf'), '.psf');
  assert.equal(fileExtension('noext'), '');
  assert.equal(fileExtension('.hidden'), '');
});

test('schedule: slots evenly spaced from the first time, next slot strictly after now, jitter added', () => {
  const at = (d: number, h: number, m = 0) => new Date(2024, 0, d, h, m);
  const sch = (first: string, perDay: number, jitterMinutes = 0) => ({ firstSyncTime: first, perDay, jitterMinutes });
  const table: Array<[Date, ReturnType<typeof sch>, number, Date]> = [
    [at(10, 2), sch('03:00', 1), 0, at(10, 3)],
    [at(10, 3), sch('03:00', 1), 0, at(11, 3)],
    [at(10, 4), sch('03:00', 1), 0, at(11, 3)],
    [at(10, 10), sch('03:00', 4), 0, at(10, 15)],
    [at(10, 22), sch('03:00', 4), 0, at(11, 3)],
    [at(10, 10), sch('23:00', 2), 0, at(10, 11)],
    [at(10, 23, 30), sch('23:00', 2), 0, at(11, 11)],
    [at(10, 2), sch('03:00', 1, 30), 0.5, at(10, 3, 15)],
    [at(10, 0), sch('00:00', 3), 0, at(10, 8)],
  ];
  for (const [now, s, r, want] of table) {
    assert.equal(nextRunAt(now, s, () => r).getTime(), want.getTime(), `${now.toString()} ${JSON.stringify(s)} r=${r}`);
  }
  const latest = nextRunAt(at(10, 2), sch('03:00', 1, 30), () => 1).getTime();
  assert.ok(latest < at(10, 3, 30).getTime() && latest > at(10, 3, 29).getTime(), 'jitter stays below jitterMinutes');
  assert.deepEqual(dailySlotOffsets(sch('22:00', 3)).map((ms) => ms / 3_600_000), [6, 14, 22]);
  assert.equal(scheduleIntervalMs(sch('03:00', 4)), 6 * 3_600_000);
});

const LANGS = [{ id: 0, short: 'all', long: 'all', enabled: true }, { id: 1031, short: 'de', long: 'German', enabled: true }, { id: 1033, short: 'en', long: 'English', enabled: true }];

function input(over: Partial<FilterInput>): FilterInput {
  return {
    selected: { products: [], classifications: [], languages: [] },
    offered: { products: ['p1', 'p2'], classifications: ['c1', 'c2'] },
    isMicrosoftUpdate: false, lastSynced: null, languageList: LANGS, anchor: 'a1', ...over,
  };
}

test('selection → revision filter: empty selection, Microsoft Update, Delta for new entries, languages', () => {
  // a WSUS upstream with nothing selected: everything it offers
  const all = planUpdatesFilter(input({}));
  assert.equal(all.kind, 'sync');
  if (all.kind === 'sync') {
    assert.deepEqual(all.filter.categories, [{ id: 'p1', delta: false }, { id: 'p2', delta: false }]);
    assert.deepEqual(all.effective.classifications, ['c1', 'c2']);
    assert.equal(all.filter.languages, null);
    assert.equal(all.filter.getConfig, false);
    assert.equal(all.filter.anchor, 'a1');
    assert.equal(all.notes.length, 2);
  }
  // Microsoft Update with nothing selected: categories only
  const mu = planUpdatesFilter(input({ isMicrosoftUpdate: true }));
  assert.equal(mu.kind, 'skip');
  if (mu.kind === 'skip') assert.match(mu.reason, /no products and classifications selected/);
  const muHalf = planUpdatesFilter(input({ isMicrosoftUpdate: true, selected: { products: ['p1'], classifications: [], languages: [] } }));
  assert.equal(muHalf.kind, 'skip');
  if (muHalf.kind === 'skip') assert.match(muHalf.reason, /no classifications selected/);
  // an upstream that offers nothing yet
  assert.equal(planUpdatesFilter(input({ offered: { products: [], classifications: [] } })).kind, 'skip');
  // Delta: true only for what the last successful updates phase had
  const inc = planUpdatesFilter(input({
    selected: { products: ['p2', 'p1'], classifications: ['c1'], languages: ['de', 'EN', 'xx'] },
    lastSynced: { products: ['p1'], classifications: ['c1'], languages: ['en'] },
  }));
  assert.equal(inc.kind, 'sync');
  if (inc.kind === 'sync') {
    assert.deepEqual(inc.filter.categories, [{ id: 'p1', delta: true }, { id: 'p2', delta: false }]);
    assert.deepEqual(inc.filter.classifications, [{ id: 'c1', delta: true }]);
    assert.deepEqual(inc.filter.languages, [{ id: 1031, delta: false }, { id: 1033, delta: true }]);
    assert.deepEqual(inc.effective.languages, ['de', 'en']);
    assert.ok(inc.notes.some((n) => /"xx" is not offered/.test(n)));
  }
  assert.deepEqual(categoriesFilter(null), { anchor: null, getConfig: true, get63LanguageOnly: false, categories: null, classifications: null, languages: null });
  assert.deepEqual(mergeLanguageList(LANGS, [{ id: 1033, short: 'en', long: 'English', enabled: false }, { id: 1036, short: 'fr', long: 'French', enabled: true }]).map((l) => `${l.id}:${l.enabled}`),
    ['0:true', '1031:true', '1033:false', '1036:true']);
});

const facts = (id: string, title: string, o: Partial<UpdateFacts> = {}): UpdateFacts => ({
  updateId: id, revisionNumber: 1, updateType: 'Software', title, kbArticleIds: [], bundled: [], processorArchitectures: [], ...o,
});
const rules = (...r: Array<[ExclusionRule['kind'], string]>): ExclusionRule[] => r.map(([kind, pattern], i) => ({ id: i + 1, ...normalizeRule(kind, pattern) }));

test('exclusion rules: title substring and /regex/, KB, architecture (title and Processor hints), language packs', () => {
  const c = compileRules(rules(['title', 'Preview'], ['title', '/^Feature update to Windows 1[01]/'], ['kb', 'KB5005463'], ['architecture', 'ARM64'], ['language-pack', '']));
  const table: Array<[UpdateFacts, RegExp | null]> = [
    [facts('a', '2024-01 Cumulative Update Preview for Windows 11'), /rule 1: title matches Preview/],
    [facts('b', 'Feature update to Windows 11, version 23H2'), /rule 2/],
    [facts('c', 'Feature update to Windows 12'), null],
    [facts('d', 'Some update', { kbArticleIds: ['5005463'] }), /rule 3: KB5005463/],
    [facts('e', '2024-01 Cumulative Update for Windows 11 for ARM64-based Systems'), /architecture arm64/],
    [facts('f', 'Update for x64-based and ARM64-based Systems'), null],
    [facts('g', 'Servicing stack update', { processorArchitectures: ['arm64'] }), /architecture arm64/],
    [facts('h', 'Windows 10 Language Pack (de-DE)'), /language pack/],
    [facts('i', 'Windows 8.1 Language Interface Pack'), /language pack/],
    [facts('j', 'Office LIP for Catalan'), /language pack/],
    [facts('k', 'Windows 11 (arm64) category', { updateType: 'Detectoid' }), null],
    [facts('l', 'Preview of the category', { updateType: 'Category' }), null],
    [facts('m', 'Slipstream patch'), null],
  ];
  for (const [f, want] of table) {
    const got = c.reason(f);
    if (want === null) assert.equal(got, null, f.title);
    else assert.match(got ?? '', want, f.title);
  }
  assert.equal(compileRules([]).empty, true);
  assert.throws(() => normalizeRule('title', '/[unclosed/'), DomainError);
  assert.throws(() => normalizeRule('kb', 'KB12x'), DomainError);
  assert.throws(() => normalizeRule('architecture', 'mips'), DomainError);
  assert.deepEqual(normalizeRule('kb', 'kb0042'), { kind: 'kb', pattern: '42' });
});

test('exclusion plan: bundle members follow their bundles, unreferenced members are judged alone', () => {
  const c = compileRules(rules(['architecture', 'arm64']));
  const staged = [
    facts('bundle-arm', 'Cumulative Update for ARM64-based Systems', { bundled: ['m1', 'm2'] }),
    facts('bundle-x64', 'Cumulative Update for x64-based Systems', { bundled: ['m2', 'm3'] }),
    facts('m1', 'payload x64 named oddly'),     // only in the excluded bundle → excluded although its title says x64
    facts('m2', 'shared payload for ARM64'),     // also in a kept bundle → kept although its title says ARM64
    facts('m3', 'payload arm64'),                // only in a kept bundle → kept
    facts('lonely', 'standalone for ARM64'),     // no staged bundle names it → its own title decides
    facts('orphan-member', 'payload for x64'),   // judged alone: kept
  ];
  const out = planExclusions(staged, c);
  assert.deepEqual(out.map((d) => d.updateId).sort(), ['bundle-arm', 'lonely', 'm1']);
  assert.match(out.find((d) => d.updateId === 'm1')!.reason, /bundled only in excluded update: Cumulative Update for ARM64/);
  assert.deepEqual(planExclusions(staged, compileRules([])), []);
});

test('update facts from real generated documents match the full parse', () => {
  for (const d of [...generateCatalog({ updates: 8, seed: 3 }).documents].slice(-30)) {
    const f = factsFromTree(parseXmlTree(d.xml, { maxBytes: 1 << 26, maxDepth: 256 }));
    const p = parseUpdateDocument(d.xml);
    assert.equal(f.title, p.title);
    assert.deepEqual(f.kbArticleIds, p.kbArticleIds);
    assert.deepEqual(f.bundled, p.bundledUpdates.map((b) => b.updateId));
    assert.equal(f.updateType, p.updateType);
    assert.deepEqual(f, { ...f, updateId: p.identity.updateId, revisionNumber: p.identity.revisionNumber });
  }
  // a negated Processor rule says what the update is NOT for
  const xml = `<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update" xmlns:bar="http://schemas.microsoft.com/msus/2002/12/BaseApplicabilityRules" xmlns:lar="http://schemas.microsoft.com/msus/2002/12/LogicalApplicabilityRules">
    <upd:UpdateIdentity UpdateID="0b9e6e4e-6f35-4a3c-9a61-4a1d2c5f7e01" RevisionNumber="1"/><upd:Properties UpdateType="Software"/>
    <upd:ApplicabilityRules><upd:IsInstallable><lar:And><bar:Processor Architecture="9"/><lar:Not><bar:Processor Architecture="12"/></lar:Not></lar:And></upd:IsInstallable></upd:ApplicabilityRules></upd:Update>`;
  assert.deepEqual(factsFromTree(parseXmlTree(xml, { maxBytes: 1 << 20, maxDepth: 64 })).processorArchitectures, ['x64']);
});

test('batching helpers', () => {
  assert.deepEqual(chunk([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
  assert.throws(() => chunk([1], 0), RangeError);
  const ids = [{ updateId: 'A', revisionNumber: 1 }, { updateId: 'a', revisionNumber: 1 }, { updateId: 'b', revisionNumber: 2 }];
  assert.deepEqual(uniqueIdentities(ids), [{ updateId: 'a', revisionNumber: 1 }, { updateId: 'b', revisionNumber: 2 }]);
  assert.deepEqual(missingAfter(uniqueIdentities(ids), [{ updateId: 'b', revisionNumber: 2 }]), [{ updateId: 'a', revisionNumber: 1 }]);
});

test('replica merge plan: Install/Uninstall mirrored, Scan/Block ignored, dead and declined dropped, latest per group wins', () => {
  const G1 = '6c9b1b4e-0000-4000-8000-000000000001';
  const dep = (o: Partial<SyncDeployment>): SyncDeployment => ({
    updateId: 'u1', revisionNumber: 200, action: 0, adminName: 'admin', deadline: null, isAssigned: true,
    goLiveTime: '2024-01-01T00:00:00.000Z', deploymentGuid: 'd0', targetGroupId: G1, downloadPriority: 1, ...o,
  });
  const result: DeploymentsResult = {
    anchor: 'x',
    groups: [{ id: G1.toUpperCase(), parentId: ALL_COMPUTERS_ID, name: 'Pilot', isBuiltin: false }],
    deployments: [
      dep({ deploymentGuid: 'D1' }),
      dep({ deploymentGuid: 'd2', updateId: 'U2', action: 1, deadline: '2024-02-01T00:00:00.000Z' }),
      dep({ deploymentGuid: 'd3', updateId: 'u3', action: 2 }),
      dep({ deploymentGuid: 'd4', updateId: 'u4', action: 3 }),
      dep({ deploymentGuid: 'd5', updateId: 'unknown' }),
      dep({ deploymentGuid: 'd6', targetGroupId: 'ffffffff-0000-4000-8000-000000000000' }),
      dep({ deploymentGuid: 'd7', updateId: 'u5' }),
      dep({ deploymentGuid: 'd8', updateId: 'u6' }),
      dep({ deploymentGuid: 'd9', goLiveTime: '2024-03-01T00:00:00.000Z', targetGroupId: ALL_COMPUTERS_ID }),
      dep({ deploymentGuid: 'd10', goLiveTime: '2023-03-01T00:00:00.000Z', targetGroupId: ALL_COMPUTERS_ID }),
    ],
    deadDeployments: ['D8', 'old-guid'],
    hiddenUpdates: ['U5', 'u-not-here'],
    acceptedEulas: ['u1'],
  };
  const plan = planDeploymentMerge(result, new Set(['u1', 'u2', 'u3', 'u4', 'u5', 'u6']));
  assert.equal(plan.groups[0]!.id, G1);
  assert.deepEqual(plan.upserts.map((a) => `${a.upstreamDeploymentGuid}:${a.action}:${a.groupId === G1 ? 'G1' : 'ALL'}`).sort(),
    ['d1:Install:G1', 'd2:Uninstall:G1', 'd9:Install:ALL']);
  assert.equal(plan.upserts.find((a) => a.upstreamDeploymentGuid === 'd2')!.deadline, '2024-02-01T00:00:00.000Z');
  assert.equal(plan.upserts.find((a) => a.upstreamDeploymentGuid === 'd1')!.approvedBy, 'admin');
  assert.deepEqual(plan.removeDeployments, ['d8', 'old-guid']);
  assert.deepEqual(plan.declined, ['u5']);
  assert.deepEqual(plan.skipped, { scanOrBlock: 2, unknownUpdate: 1, unknownGroup: 1, declined: 1, replaced: 1, dead: 1 });
  assert.equal(plan.acceptedEulas, 1);
});
