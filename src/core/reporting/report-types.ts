import type { CountsSummary, StateName } from './update-state.js';

// The JSON shapes of the reports: what the admin API returns under /api/reports/*, what
// `wsus report …` prints (as a table, CSV or JSON) and what the dashboard renders. One place,
// so the three cannot drift. Times are ISO strings (UTC); ids are lower-case GUIDs.

/** Filters every report accepts where they make sense (unknown names are a 400, not ignored). */
export interface ReportFilters {
  /** group name or id; the group's subgroups are included */
  group?: string;
  /** classification titles or ids (an update matches any) */
  classifications?: string[];
  /** product titles or ids (an update matches any) */
  products?: string[];
  /** keep rows having at least one computer × update in one of these states */
  states?: StateName[];
  /** ISO date/time bounds; what they bound is documented per report */
  since?: string;
  until?: string;
  /** free text: update title/KB, or computer name/IP/client id */
  text?: string;
  /** include declined updates (hidden by default, as in WSUS) */
  includeDeclined?: boolean;
  limit?: number;
  offset?: number;
}

export interface Page<T> {
  total: number;
  offset: number;
  limit: number;
  rows: T[];
}

export interface UpdateRef {
  updateId: string;
  title: string;
  kb: string[];
  classification: string | null;
  products: string[];
  msrcSeverity: string | null;
  arrivedAt: string;
  declined: boolean;
  approved: boolean;
}

/** `report updates`: one row per update over the computers in scope; since/until bound the update's arrival. */
export interface UpdateStatusRow extends UpdateRef {
  counts: CountsSummary;
  /** the computers counted (the group's, or all) */
  computers: number;
}

export interface ComputerRef {
  clientId: string;
  name: string;
  address: string | null;
  groups: string[];
  os: string | null;
  lastContactAt: string | null;
  /** when its last status list (event 156) was made, client time */
  lastStatusAt: string | null;
  lastReportAt: string | null;
}

/** `report computers`: one row per computer over the updates in scope; since/until bound the last status report. */
export interface ComputerStatusRow extends ComputerRef {
  counts: CountsSummary;
}

/** `report groups`: one row per group (its subgroups' computers included). */
export interface GroupStatusRow {
  groupId: string;
  name: string;
  parentId: string | null;
  computers: number;
  /** computers with a status report */
  reporting: number;
  /** computers needing at least one update (required > 0) */
  needing: number;
  /** computers with at least one failed update */
  failing: number;
  /** reporting computers that need nothing and failed nothing */
  compliant: number;
  /** computer × update cells summed over the group */
  counts: CountsSummary;
}

/** Per classification over all (or the group's) computers. */
export interface ClassificationStatusRow {
  classificationId: string | null;
  name: string;
  updates: number;
  counts: CountsSummary;
}

/** `report failures`: one row per failed computer × update; since/until bound the failure time. */
export interface FailureRow {
  computer: Pick<ComputerRef, 'clientId' | 'name' | 'groups'>;
  update: Pick<UpdateRef, 'updateId' | 'title' | 'kb' | 'classification'>;
  hresult: string;
  failedAt: string;
}

/** `report not-reporting`: computers silent for `days`; why, as far as the server can tell. */
export interface NotReportingRow extends ComputerRef {
  /** days since the last contact (scan or report), or since registration */
  silentDays: number;
  reason:
    | 'never-reported'      // registered and scanned, never sent a status report
    | 'no-contact'          // stopped contacting the server
    | 'contacts-no-status'  // still scans but sends no status (WUStatusServer policy? reporting blocked?)
    | 'duplicate-client-id'; // the SusClientId is used by several machines (cloned image)
  detail: string;
}

export interface Overview {
  generatedAt: string;
  lastSync: { state: string; finishedAt: string | null; error: string | null } | null;
  computers: { total: number; reporting: number; needing: number; failing: number; notReporting: number; staleAfterDays: number };
  updates: { total: number; approved: number; needed: number; failed: number };
  byClassification: ClassificationStatusRow[];
  byGroup: GroupStatusRow[];
  notReporting: NotReportingRow[];
  recentFailures: FailureRow[];
}

/** GET /api/reports/updates/:ref */
export interface UpdateStatusDetail {
  update: UpdateRef & { description: string | null; supersededBy: string[] };
  counts: CountsSummary;
  /** computers in the state (at most `limit` each; `more` says how many were left out) */
  computers: Partial<Record<StateName, { rows: Array<ComputerRef & { hresult?: string; failedAt?: string }>; more: number }>>;
}

/** GET /api/reports/computers/:ref */
export interface ComputerStatusDetail {
  computer: ComputerRef & {
    registeredAt: string | null;
    lastSyncAt: string | null;
    inventory: {
      osDescription: string | null; osVersion: string | null; osLocale: string | null;
      manufacturer: string | null; model: string | null; biosVersion: string | null; biosName: string | null;
      biosReleaseDate: string | null; architecture: string | null; clientVersion: string | null;
    };
    duplicateOf: Array<{ name: string; address: string; lastSeenAt: string }>;
  };
  counts: CountsSummary;
  /** updates in each stored state (installed may be long: capped, `more` tells) */
  updates: Partial<Record<StateName, { rows: Array<UpdateRef & { hresult?: string; failedAt?: string }>; more: number }>>;
  recentEvents: Array<{ at: string; receivedAt: string; eventId: number; kind: string; updateId: string | null; title: string | null; hresult: string | null; detail: string }>;
}

export interface SearchResult {
  computers: ComputerRef[];
  updates: UpdateRef[];
}
