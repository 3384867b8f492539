import { test } from 'node:test';
import assert from 'node:assert/strict';
import { notifyRulesApplied } from '../src/services/notify/rules-notifications.js';
import type { Notifier } from '../src/services/notify/webhook-notifier.js';
import type { RulesRunResult } from '../src/services/maintenance/maintenance-types.js';

function recorder(): { notifier: Notifier; sent: Array<{ event: string; payload: unknown }> } {
  const sent: Array<{ event: string; payload: unknown }> = [];
  const notifier = { emit: (event: string, payload: unknown) => { sent.push({ event, payload }); } } as unknown as Notifier;
  return { notifier, sent };
}

function result(over: Partial<RulesRunResult>): RulesRunResult {
  return {
    runId: 7, trigger: 'sync', dryRun: false, scope: 'new', rules: [],
    approved: { count: 0, items: [], failed: [] }, declined: { count: 0, items: [], failed: [] }, notes: [],
    ...over,
  } as RulesRunResult;
}

test('a rules run that approved new updates sends rules.matched naming the updates, rules and groups', () => {
  const { notifier, sent } = recorder();
  const items = [1, 2, 3].map((i) => ({
    updateId: `00000000-0000-0000-0000-00000000000${i}`, title: `Update ${i}`, ruleId: 1, ruleName: 'Security to Pilot',
    groupId: 'g', groupName: 'Pilot', action: 'Install' as const, deadline: null,
  }));
  notifyRulesApplied(notifier, result({ approved: { count: 3, items, failed: [] } }), 2);
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.event, 'rules.matched');
  const p = sent[0]!.payload as { approved: number; approvals: Array<{ title: string; rule: string; group: string }> };
  assert.equal(p.approved, 3);
  assert.deepEqual(p.approvals.map((a) => `${a.title}/${a.rule}/${a.group}`), ['Update 1/Security to Pilot/Pilot', 'Update 2/Security to Pilot/Pilot']);
});

test('nothing is sent for a dry run, a run that matched nothing, or no run', () => {
  const { notifier, sent } = recorder();
  notifyRulesApplied(notifier, null, 10);
  notifyRulesApplied(notifier, result({}), 10);
  notifyRulesApplied(notifier, result({ dryRun: true, declined: { count: 1, items: [{ updateId: 'x', title: 't', ruleId: 2, ruleName: 'Expired', reason: 'expired' }], failed: [] } }), 10);
  assert.equal(sent.length, 0);
});
