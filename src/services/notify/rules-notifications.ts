import type { RulesRunResult } from '../maintenance/maintenance-types.js';
import type { Notifier } from './webhook-notifier.js';

// "New updates matching a rule": after a sync, the automatic rules approve or decline what
// arrived; admins who watch webhooks want to know which updates a rule acted on, by name.

export function notifyRulesApplied(notifier: Notifier, r: RulesRunResult | null, maxTitles: number): void {
  if (!r || r.dryRun || (r.approved.count === 0 && r.declined.count === 0)) return;
  notifier.emit('rules.matched', {
    runId: r.runId,
    approved: r.approved.count,
    declined: r.declined.count,
    approvals: r.approved.items.slice(0, maxTitles).map((a) => ({ updateId: a.updateId, title: a.title, rule: a.ruleName, group: a.groupName, deadline: a.deadline })),
    declines: r.declined.items.slice(0, maxTitles).map((d) => ({ updateId: d.updateId, title: d.title, rule: d.ruleName, reason: d.reason })),
  });
}
