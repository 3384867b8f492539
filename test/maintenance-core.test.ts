import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError } from '../src/core/errors.js';
import {
  validateApprovalCriteria, validateDeclineCondition, validateRuleName, describeCriteria,
  type ApprovalRule, type DeclineRule, type ApprovalCriteria, type DeclineCondition,
} from '../src/core/maintenance/rule-model.js';
import {
  approvalRuleMatches, categoryExpander, declineReason, planApprovals, planDeclines, titleMatches, type UpdateCandidate,
} from '../src/core/maintenance/rule-matching.js';
import { neededRevisionIds, selectUnusedRevisions, unneededDigests, type ContentRevision, type RevisionRef } from '../src/core/maintenance/cleanup-plan.js';
import { validateMaintenanceConfig, DEFAULT_MAINTENANCE } from '../src/config/maintenance-config.js';
import { takeRepeated } from '../src/cli/commands/rules.command.js';

// Pure tables for automatic maintenance: rule validation, approval and decline matching,
// unused revisions, needed content, the config section.

const G1 = '11111111-1111-1111-1111-111111111111';
const G2 = '22222222-2222-2222-2222-222222222222';
const SEC = '0fa1201d-4330-4fa8-8ae9-b877473b6441'; // Security Updates
const DEF = 'e0789628-ce08-4437-be74-2495b842f43b'; // Definition Updates
const WIN11 = 'aaaaaaaa-0000-0000-0000-000000000011';
const WINFAMILY = 'aaaaaaaa-0000-0000-0000-0000000000ff';
const OFFICE = 'bbbbbbbb-0000-0000-0000-000000000001';
const NOW = new Date('2026-06-01T12:00:00Z');
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86_400_000).toISOString();

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return e instanceof DomainError ? `${e.code}:${e.detail}` : `other:${(e as Error).message}`;
  }
  return 'ok';
};

function candidate(over: Partial<UpdateCandidate> = {}): UpdateCandidate {
  return {
    updateId: 'u1', title: '2026-05 Cumulative Update for Windows 11 (KB5000001)', updateType: 'Software', explicitlyDeployable: true,
    declined: false, expired: false, categories: [SEC, WIN11], kbArticleIds: ['5000001'], bundled: [], changeSeq: 100,
    approvedGroups: new Set(), lastApprovedAt: null, supersededSince: null, lastNeededAt: null, ...over,
  };
}

function approvalRule(id: number, criteria: Partial<ApprovalCriteria>, over: Partial<ApprovalRule> = {}): ApprovalRule {
  return {
    id, kind: 'approval', name: `a${id}`, enabled: true, sinceSeq: 0, createdAt: '', updatedAt: '',
    criteria: { classifications: [], products: [], title: null, groups: [G1], action: 'Install', deadlineDays: null, ...criteria }, ...over,
  };
}

function declineRule(id: number, criteria: DeclineCondition, over: Partial<DeclineRule> = {}): DeclineRule {
  return { id, kind: 'decline', name: `d${id}`, enabled: true, sinceSeq: 0, createdAt: '', updatedAt: '', criteria, ...over };
}

test('rule validation: names, approval criteria and decline conditions', () => {
  assert.equal(validateRuleName('  Pilot security '), 'Pilot security');
  assert.equal(code(() => validateRuleName('')), 'InvalidInput:name');
  assert.equal(code(() => validateRuleName('42')), 'InvalidInput:name');
  const table: Array<[Record<string, unknown>, string]> = [
    [{ groups: [G1] }, 'ok'],
    [{ groups: [] }, 'InvalidInput:groups'],
    [{ groups: ['Pilot'] }, 'InvalidInput:groups'],
    [{ groups: [G1], action: 'Uninstall' }, 'InvalidInput:action'],
    [{ groups: [G1], deadlineDays: -1 }, 'InvalidInput:deadlineDays'],
    [{ groups: [G1], deadlineDays: 1.5 }, 'InvalidInput:deadlineDays'],
    [{ groups: [G1], title: '/(unclosed/' }, 'InvalidInput:title'],
    [{ groups: [G1], classifications: ['not-a-guid'] }, 'InvalidInput:classifications'],
  ];
  for (const [input, want] of table) assert.equal(code(() => validateApprovalCriteria(input)), want, JSON.stringify(input));
  const c = validateApprovalCriteria({ groups: [G1.toUpperCase(), G1], classifications: [SEC], deadlineDays: 3, title: '' });
  assert.deepEqual(c, { classifications: [SEC], products: [], title: null, groups: [G1], action: 'Install', deadlineDays: 3 });

  const declines: Array<[Record<string, unknown>, string]> = [
    [{ condition: 'superseded' }, 'ok'],
    [{ condition: 'superseded', days: 3651 }, 'InvalidInput:days'],
    [{ condition: 'expired' }, 'ok'],
    [{ condition: 'title', pattern: '' }, 'InvalidInput:title'],
    [{ condition: 'title', pattern: '/[/' }, 'InvalidInput:title'],
    [{ condition: 'architecture', architecture: 'ARM64' }, 'ok'],
    [{ condition: 'architecture', architecture: 'mips' }, 'InvalidInput:architecture'],
    [{ condition: 'never' }, 'InvalidInput:condition'],
  ];
  for (const [input, want] of declines) assert.equal(code(() => validateDeclineCondition(input)), want, JSON.stringify(input));
  assert.deepEqual(validateDeclineCondition({ condition: 'superseded' }), { condition: 'superseded', days: 30 });
  assert.deepEqual(validateDeclineCondition({ condition: 'architecture', architecture: 'ARM64' }), { condition: 'architecture', architecture: 'arm64' });
  assert.equal(describeCriteria({ kind: 'approval', criteria: c }, (id) => ({ [SEC]: 'Security Updates', [G1]: 'Pilot' })[id] ?? id),
    'classification Security Updates → Install for Pilot, deadline 3 day(s) after approval');
});

test('approval matching: classification AND product (families expand) AND title; any value within one', () => {
  const expand = categoryExpander(new Map([[WIN11, [WINFAMILY]], [WINFAMILY, [WIN11]]])); // a cycle is cut
  const c = candidate();
  const table: Array<[Partial<ApprovalCriteria>, boolean]> = [
    [{}, true],
    [{ classifications: [SEC] }, true],
    [{ classifications: [DEF] }, false],
    [{ classifications: [DEF, SEC] }, true],
    [{ products: [WIN11] }, true],
    [{ products: [WINFAMILY] }, true],
    [{ products: [OFFICE] }, false],
    [{ classifications: [SEC], products: [OFFICE] }, false],
    [{ title: 'cumulative update' }, true],
    [{ title: 'preview' }, false],
    [{ title: '/KB500000[0-9]/' }, true],
    [{ title: '/^security/' }, false],
  ];
  for (const [criteria, want] of table) assert.equal(approvalRuleMatches(approvalRule(1, criteria), c, expand), want, JSON.stringify(criteria));
  assert.equal(titleMatches('/\\bx64\\b/', 'Update for x64-based Systems'), true);
});

test('planApprovals: one approval per update and group, first rule wins, what never gets approved, deadlines, after-sync scope', () => {
  const expand = categoryExpander(new Map());
  const groupName = (id: string) => ({ [G1]: 'Pilot', [G2]: 'Ring1' })[id];
  const rules = [
    approvalRule(2, { classifications: [SEC], groups: [G1, G2], deadlineDays: 2 }),
    approvalRule(1, { groups: [G1] }),
    approvalRule(3, { groups: ['33333333-3333-3333-3333-333333333333'] }),
    approvalRule(4, { groups: [G2] }, { enabled: false }),
  ];
  const candidates = [
    candidate({ updateId: 'sec' }),
    candidate({ updateId: 'other', categories: [DEF] }),
    candidate({ updateId: 'declined', declined: true }),
    candidate({ updateId: 'expired', expired: true }),
    candidate({ updateId: 'member', explicitlyDeployable: false }),
    candidate({ updateId: 'detectoid', updateType: 'Detectoid' }),
    candidate({ updateId: 'approved', approvedGroups: new Set([G1]) }),
    candidate({ updateId: 'skipped' }),
  ];
  const plan = planApprovals(rules, candidates, { now: NOW, expand, groupName, skip: new Set(['skipped']) });
  const got = plan.approvals.map((a) => `${a.updateId}>${a.groupName}#${a.ruleId}${a.deadline ? `@${a.deadline.slice(0, 10)}` : ''}`);
  assert.deepEqual(got, ['sec>Pilot#1', 'sec>Ring1#2@2026-06-03', 'other>Pilot#1', 'approved>Ring1#2@2026-06-03']);
  assert.deepEqual(plan.missingGroups, [{ ruleId: 3, groupId: '33333333-3333-3333-3333-333333333333' }]);

  // After a sync: only revisions newer than the watermark AND than the rule itself.
  const fresh = [candidate({ updateId: 'old', changeSeq: 50 }), candidate({ updateId: 'new', changeSeq: 150 })];
  const scoped = planApprovals([approvalRule(1, {}, { sinceSeq: 120 }), approvalRule(2, { groups: [G2] })], fresh, { now: NOW, expand, groupName, minSeq: 60 });
  assert.deepEqual(scoped.approvals.map((a) => `${a.updateId}>${a.groupName}`), ['new>Pilot', 'new>Ring1']);
});

test('decline reasons: expired, superseded N days and not needed nor approved, title, architecture', () => {
  const superseded = declineRule(1, { condition: 'superseded', days: 30 });
  const table: Array<[Partial<UpdateCandidate>, string | null]> = [
    [{}, null],
    [{ supersededSince: daysAgo(31) }, 'superseded since 2026-05-01, never reported needed'],
    [{ supersededSince: daysAgo(29) }, null],
    [{ supersededSince: daysAgo(90), lastNeededAt: daysAgo(10) }, null],
    [{ supersededSince: daysAgo(90), lastNeededAt: daysAgo(40) }, 'superseded since 2026-03-03, last needed 2026-04-22'],
    [{ supersededSince: daysAgo(90), lastApprovedAt: daysAgo(5) }, null],
  ];
  for (const [over, want] of table) assert.equal(declineReason(superseded, candidate(over), NOW), want, JSON.stringify(over));
  assert.equal(declineReason(declineRule(2, { condition: 'expired' }), candidate({ expired: true }), NOW), 'expired');
  assert.equal(declineReason(declineRule(2, { condition: 'expired' }), candidate(), NOW), null);
  const arm = declineRule(3, { condition: 'architecture', architecture: 'arm64' });
  assert.equal(declineReason(arm, candidate({ title: 'Update for Windows 11 for ARM64-based Systems' }), NOW), 'targets arm64 only');
  assert.equal(declineReason(arm, candidate({ title: 'Update', processorArchitectures: ['arm64'] }), NOW), 'targets arm64 only');
  assert.equal(declineReason(arm, candidate({ title: 'Update', processorArchitectures: ['arm64', 'x64'] }), NOW), null);
  assert.equal(declineReason(declineRule(4, { condition: 'title', pattern: '/\\bpreview\\b/' }), candidate({ title: 'Preview of Monthly Quality Rollup' }), NOW),
    'title matches /\\bpreview\\b/');
});

test('planDeclines: first enabled rule wins, members and declined updates untouched, after-sync scope except superseded', () => {
  const rules = [
    declineRule(2, { condition: 'title', pattern: 'preview' }),
    declineRule(1, { condition: 'expired' }),
    declineRule(3, { condition: 'superseded', days: 10 }),
    declineRule(4, { condition: 'title', pattern: 'cumulative' }, { enabled: false }),
  ];
  const cands = [
    candidate({ updateId: 'both', title: 'preview', expired: true }),
    candidate({ updateId: 'preview', title: 'a preview' }),
    candidate({ updateId: 'member', title: 'a preview', explicitlyDeployable: false }),
    candidate({ updateId: 'gone', title: 'a preview', declined: true }),
    candidate({ updateId: 'old', supersededSince: daysAgo(20), changeSeq: 5 }),
    candidate({ updateId: 'keep' }),
  ];
  assert.deepEqual(planDeclines(rules, cands, NOW).map((d) => `${d.updateId}#${d.ruleId}`), ['both#1', 'preview#2', 'old#3']);
  // After a sync with watermark 10: only new revisions, but "superseded" looks at time passing.
  assert.deepEqual(planDeclines(rules, cands, NOW, { minSeq: 200 }).map((d) => `${d.updateId}#${d.ruleId}`), ['old#3']);
});

test('unused revisions: never current, never pinned by a bundle, only once the current one is old enough', () => {
  const rows: RevisionRef[] = [
    { id: 1, updateId: 'a', revisionNumber: 100, isCurrent: false, currentSince: daysAgo(40) },
    { id: 2, updateId: 'a', revisionNumber: 101, isCurrent: true, currentSince: daysAgo(40) },
    { id: 3, updateId: 'b', revisionNumber: 100, isCurrent: false, currentSince: daysAgo(40) },
    { id: 4, updateId: 'c', revisionNumber: 100, isCurrent: false, currentSince: daysAgo(5) },
  ];
  assert.deepEqual(selectUnusedRevisions(rows, new Set(['b:100']), NOW, 30).map((r) => r.id), [1]);
  assert.deepEqual(selectUnusedRevisions(rows, new Set(), NOW, 0).map((r) => r.id), [1, 3, 4]);
});

test('needed content: declined and expired updates, dead bundles and old revisions free their files; live bundles keep pinned members', () => {
  const rev = (id: number, updateId: string, over: Partial<ContentRevision> = {}): ContentRevision => ({
    id, updateId, revisionNumber: 100, isCurrent: true, declined: false, expired: false, explicitlyDeployable: true, bundled: [], ...over,
  });
  const revisions: ContentRevision[] = [
    rev(1, 'live-bundle', { bundled: [{ updateId: 'm1', revisionNumber: 100 }] }),
    rev(2, 'm1', { explicitlyDeployable: false, isCurrent: false }), // pinned r100
    rev(3, 'm1', { revisionNumber: 101, explicitlyDeployable: false }), // current
    rev(4, 'dead-bundle', { declined: true, bundled: [{ updateId: 'm2', revisionNumber: 100 }] }),
    rev(5, 'm2', { explicitlyDeployable: false }),
    rev(6, 'expired', { expired: true }),
    rev(7, 'plain'),
    rev(8, 'plain', { revisionNumber: 99, isCurrent: false }),
  ];
  const needed = neededRevisionIds(revisions);
  assert.deepEqual([...needed].sort(), [1, 2, 3, 7]);
  assert.deepEqual([...neededRevisionIds(revisions, new Set(['plain']))].sort(), [1, 2, 3]);
  const files = [
    { revisionId: 2, sha1Hex: 'PINNED' }, { revisionId: 3, sha1Hex: 'CURRENT' }, { revisionId: 5, sha1Hex: 'DEADMEMBER' },
    { revisionId: 6, sha1Hex: 'EXPIRED' }, { revisionId: 6, sha1Hex: 'SHARED' }, { revisionId: 7, sha1Hex: 'SHARED' },
    { revisionId: 8, sha1Hex: 'OLDREV' },
  ];
  assert.deepEqual([...unneededDigests(files, needed)].sort(), ['DEADMEMBER', 'EXPIRED', 'OLDREV']);
});

test('maintenance config: defaults, null schedule, every bad key reported', () => {
  const problems: string[] = [];
  assert.deepEqual(validateMaintenanceConfig(undefined, problems), DEFAULT_MAINTENANCE);
  assert.equal(validateMaintenanceConfig({ schedule: null }, problems).schedule, null);
  assert.deepEqual(validateMaintenanceConfig({ schedule: { time: '23:15' }, obsoleteComputerDays: '7' }, problems),
    { ...DEFAULT_MAINTENANCE, schedule: { time: '23:15', jitterMinutes: 30 }, obsoleteComputerDays: 7 });
  assert.deepEqual(problems, []);
  validateMaintenanceConfig({ schedule: { time: '25:00', every: 1 }, obsoleteComputerDays: 0, batch: 3, rulesAfterSync: 'yes' }, problems);
  assert.deepEqual(problems, [
    'unknown key "maintenance.batch"',
    'unknown key "maintenance.schedule.every"',
    'maintenance.schedule.time must be HH:MM (got "25:00")',
    'maintenance.rulesAfterSync must be true or false (got "yes")',
    'maintenance.obsoleteComputerDays must be an integer from 1 to 3650 (got 0)',
  ]);
});

test('CLI: repeated flags are collected (product names may contain commas)', () => {
  const r = takeRepeated(['add', 'approval', 'X', '--product', 'Windows 10, version 1903 and later', '--product=Windows 11', '--group', 'Pilot', '--json'], ['product', 'group']);
  assert.deepEqual(r.rest, ['add', 'approval', 'X', '--json']);
  assert.deepEqual(r.values.get('product'), ['Windows 10, version 1903 and later', 'Windows 11']);
  assert.deepEqual(r.values.get('group'), ['Pilot']);
});
