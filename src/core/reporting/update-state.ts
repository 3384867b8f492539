// The per computer × update states, numbered as MS-WSUSSS SummarizationState (what a downstream
// rolls up to its upstream), so one number means the same thing in our tables and on the wire.
// Only the applicable states (2..6) are ever stored: Not applicable and Unknown are derived from
// whether the computer has reported status since the update arrived.

export const UpdateState = {
  Unknown: 0,
  NotApplicable: 1,
  NotInstalled: 2,
  Downloaded: 3,
  Installed: 4,
  Failed: 5,
  InstalledPendingReboot: 6,
} as const;
export type UpdateState = (typeof UpdateState)[keyof typeof UpdateState];

/** Names admins type and read (`--state needed`), in state-number order. */
export const STATE_NAMES = ['unknown', 'not-applicable', 'needed', 'downloaded', 'installed', 'failed', 'pending-reboot'] as const;
export type StateName = (typeof STATE_NAMES)[number];

export function stateName(s: UpdateState): StateName {
  return STATE_NAMES[s]!;
}

/** null when `name` is not a state name. Accepts a few WSUS spellings too. */
export function parseStateName(name: string): UpdateState | null {
  const n = name.trim().toLowerCase().replace(/[\s_]+/g, '-');
  const alias: Record<string, StateName> = {
    'not-installed': 'needed', notinstalled: 'needed', notapplicable: 'not-applicable', 'installed-pending-reboot': 'pending-reboot',
    installedpendingreboot: 'pending-reboot', pendingreboot: 'pending-reboot', 'no-status': 'unknown',
  };
  const i = STATE_NAMES.indexOf((alias[n] ?? n) as StateName);
  return i < 0 ? null : (i as UpdateState);
}

/** The stored (applicable) states. */
export function isStoredState(s: number): s is 2 | 3 | 4 | 5 | 6 {
  return s >= 2 && s <= 6;
}

/**
 * DOMAIN.md's reporting states. WSUS counts a computer as needing an update while it is not
 * installed, downloaded, failed, or installed but waiting for a reboot.
 */
export type ComplianceState = 'required' | 'not-required' | 'installed' | 'unknown';
export function complianceOf(s: UpdateState): ComplianceState {
  switch (s) {
    case UpdateState.Unknown: return 'unknown';
    case UpdateState.NotApplicable: return 'not-required';
    case UpdateState.Installed: return 'installed';
    default: return 'required';
  }
}

/** Counts per state, indexed by the state number (length 7). */
export type StateCounts = [number, number, number, number, number, number, number];
export function emptyCounts(): StateCounts {
  return [0, 0, 0, 0, 0, 0, 0];
}

export interface CountsSummary {
  unknown: number;
  notApplicable: number;
  needed: number;
  downloaded: number;
  installed: number;
  failed: number;
  pendingReboot: number;
  /** needed + downloaded + failed + pendingReboot (DOMAIN.md "Required") */
  required: number;
  /** (installed + notApplicable) / everything with a known state, in percent; null when nothing is known */
  compliancePercent: number | null;
}

export function summarize(c: Readonly<StateCounts>): CountsSummary {
  const required = c[2] + c[3] + c[5] + c[6];
  const known = c[1] + c[4] + required;
  return {
    unknown: c[0], notApplicable: c[1], needed: c[2], downloaded: c[3], installed: c[4], failed: c[5], pendingReboot: c[6],
    required,
    compliancePercent: known === 0 ? null : Math.round(((c[1] + c[4]) / known) * 1000) / 10,
  };
}

/** HRESULTs as admins search for them: 0x80246007. */
export function hresultHex(hr: number): string {
  return `0x${(hr >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}
