import type { SnapshotEntry } from './catalog-snapshot.js';

export type DeploymentAction = 'Install' | 'Uninstall' | 'PreDeploymentCheck' | 'Evaluate' | 'Bundle';

export interface Approval {
  groupId: string;
  action: 'Install' | 'Uninstall';
  deadline: string | null;
  deploymentId: number;
  approvedAt: string;
}

export interface Deployment {
  id: number;
  action: DeploymentAction;
  isAssigned: boolean;
  /** xs:date — a full dateTime here makes the client fail with 0x80070057 */
  lastChangeDate: string;
  deadline: string | null;
}

/**
 * The deployment a client in `groups` (ancestors included) gets for one delivered revision.
 * Categories and detectoids are evaluated, bundle members come with their bundle, approved
 * updates carry their approval, and every other update goes out as PreDeploymentCheck so that
 * clients report applicability of unapproved updates ("Needed").
 */
export function resolveDeployment(
  entry: SnapshotEntry,
  approvals: readonly Approval[] | undefined,
  groups: ReadonlySet<string>,
): Deployment {
  const implicit = (action: DeploymentAction): Deployment => ({
    id: entry.implicitDeploymentId,
    action,
    isAssigned: true,
    lastChangeDate: entry.changedDate,
    deadline: null,
  });
  if (entry.kind === 'Category' || entry.kind === 'Detectoid') return implicit('Evaluate');
  let chosen: Approval | undefined;
  if (approvals) {
    for (const a of approvals) {
      if (!groups.has(a.groupId)) continue;
      chosen = better(chosen, a);
    }
  }
  if (chosen) {
    return {
      id: chosen.deploymentId,
      action: chosen.action,
      isAssigned: true,
      lastChangeDate: chosen.approvedAt.slice(0, 10),
      deadline: chosen.deadline,
    };
  }
  return implicit(entry.isBundleChild ? 'Bundle' : 'PreDeploymentCheck');
}

// When a computer's groups disagree, Install wins over Uninstall (as in WSUS), and among
// installs the earliest deadline wins because it is the one the client must honour.
function better(a: Approval | undefined, b: Approval): Approval {
  if (!a) return b;
  if (a.action !== b.action) return a.action === 'Install' ? a : b;
  if (a.deadline === null) return b.deadline === null ? (a.deploymentId <= b.deploymentId ? a : b) : b;
  if (b.deadline === null) return a;
  return a.deadline <= b.deadline ? a : b;
}
