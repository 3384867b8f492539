import { importedBy, type TargetingPlan } from '../../core/transfer/targeting-document.js';
import type { Db } from '../../store/database.js';
import type { TargetingStore } from '../../store/targeting.store.js';
import type { TransferStore } from '../../store/transfer.store.js';

// Carries out a targeting plan in one transaction (the stores' own transactions become
// savepoints), so an import's groups, approvals and declines appear to clients together and
// a crash leaves either all or none of them; running the plan again changes nothing.

export interface TargetingOutcome {
  groupsCreated: number;
  groupsUpdated: number;
  groupsMatchedByName: number;
  approved: number;
  unapproved: number;
  declined: number;
  undeclined: number;
  unchanged: number;
  unknownUpdates: number;
  notes: string[];
}

export function applyTargetingPlan(
  deps: { db: Db; targeting: TargetingStore; store: TransferStore; clock: () => Date },
  plan: TargetingPlan,
  sourceServerId: string,
): TargetingOutcome {
  const now = deps.clock();
  const by = importedBy(sourceServerId);
  const out: TargetingOutcome = {
    groupsCreated: 0, groupsUpdated: 0, groupsMatchedByName: 0, approved: 0, unapproved: 0, declined: 0, undeclined: 0,
    unchanged: plan.unchanged, unknownUpdates: plan.unknownUpdates, notes: [...plan.notes],
  };
  deps.db.transaction(() => {
    for (const g of plan.groups) {
      if (g.op === 'create') {
        deps.store.createGroup(g.id, g.name, g.parentId, now);
        out.groupsCreated++;
      } else if (g.op === 'update') {
        deps.store.updateGroup(g.id, g.name, g.parentId);
        out.groupsUpdated++;
      } else {
        out.groupsMatchedByName++;
      }
    }
    for (const id of plan.undecline) {
      deps.targeting.setDeclined(id, false, now);
      out.undeclined++;
    }
    for (const id of plan.decline) {
      deps.targeting.setDeclined(id, true, now);
      out.declined++;
    }
    const nameOf = new Map(deps.targeting.groups().map((g) => [g.id, g.name]));
    for (const a of plan.unapprove) {
      const name = nameOf.get(a.groupId);
      if (name !== undefined && deps.targeting.unapprove(a.updateId, name, now)) out.unapproved++;
    }
    for (const a of plan.approve) {
      deps.targeting.approve(a.updateId, nameOf.get(a.groupId)!, a.action, a.deadline, by, now);
      out.approved++;
    }
  }).immediate();
  return out;
}
