import type { ServerConfig } from '../../config/config.js';
import type { Logger } from '../../logger.js';
import type { Db } from '../../store/database.js';
import type { TargetingStore } from '../../store/targeting.store.js';
import type { ContentStore } from '../content-store.service.js';
import type { PlannedApproval, PlannedDecline } from '../../core/maintenance/rule-matching.js';
import type { DeclineConditionKind } from '../../core/maintenance/rule-model.js';

// The public shapes of automatic maintenance: its dependencies, and the options and results
// of the two jobs it adds to the registry ("rules" and "cleanup").

export type MaintenanceTrigger = 'schedule' | 'sync' | 'admin' | 'cli';

/** Progress as the admin API streams it ({phase, done, total}). */
export type MaintenanceProgress = (p: { phase: string; done: number; total: number }) => void;

export interface MaintenanceDeps {
  db: Db;
  config: Pick<ServerConfig, 'sync' | 'maintenance'>;
  targeting: TargetingStore;
  /** the content store whose cleanup removes unneeded files; null: the content step only reports */
  content: Pick<ContentStore, 'cleanup'> | null;
  log: Logger;
  clock: () => Date;
  /**
   * Called after each committed batch that changed what clients see (approvals, declines,
   * revisions, computers): the server passes its catalog view's invalidate().
   */
  onChanged?: () => void;
  /** names this process in the job locks (default `<hostname>:<pid>:<random>`) */
  owner?: string;
  /** test seams */
  lockTiming?: { staleMs?: number; heartbeatMs?: number; isAlive?: (pid: number) => boolean };
  /** between batches (default: setImmediate), so scans and reports keep flowing */
  yieldToEventLoop?: () => Promise<void>;
}

/** Listed items per kind in a result (counts are always complete). */
export const MAX_LISTED = 500;

export interface RulesRunOptions {
  trigger: MaintenanceTrigger;
  dryRun: boolean;
  /** 'new': revisions that arrived since the last after-sync run (and after each rule was made); 'all': every update */
  scope: 'new' | 'all';
  /** only these rules (ids); default every enabled rule */
  ruleIds?: number[];
  /** only approval or only decline rules */
  kinds?: Array<'approval' | 'decline'>;
  /** only decline rules with these conditions (cleanup's expired/superseded steps) */
  conditions?: DeclineConditionKind[];
  actor?: string | null;
  onProgress?: MaintenanceProgress;
  signal?: AbortSignal;
}

export interface RulesRunResult {
  /** history row (0 when run as part of a cleanup) */
  runId: number;
  trigger: MaintenanceTrigger;
  dryRun: boolean;
  scope: 'new' | 'all';
  rules: Array<{ id: number; name: string; kind: 'approval' | 'decline' }>;
  declined: { count: number; items: PlannedDecline[]; failed: Array<{ updateId: string; error: string }> };
  approved: { count: number; items: PlannedApproval[]; failed: Array<{ updateId: string; groupId: string; error: string }> };
  notes: string[];
  durationMs: number;
}

export const CLEANUP_STEPS = ['superseded', 'expired', 'unused-revisions', 'obsolete-computers', 'unneeded-content'] as const;
export type CleanupStep = typeof CLEANUP_STEPS[number];

export interface CleanupRunOptions {
  trigger: MaintenanceTrigger;
  dryRun: boolean;
  /** default: every step, in the order of CLEANUP_STEPS */
  only?: CleanupStep[];
  actor?: string | null;
  onProgress?: MaintenanceProgress;
  signal?: AbortSignal;
}

export interface DeclineStepCounts {
  declined: number;
  items: PlannedDecline[];
  failed: number;
  skipped?: string;
}

export interface CleanupCounts {
  superseded?: DeclineStepCounts;
  expired?: DeclineStepCounts;
  'unused-revisions'?: { candidates: number; removed: number; items: Array<{ updateId: string; revisionNumber: number }>; batches: number };
  'obsolete-computers'?: { cutoff: string; candidates: number; removed: number; events: number; items: Array<{ clientId: string; dnsName: string; lastContact: string }> };
  'unneeded-content'?: {
    /** referenced files nothing needs (declined, expired, old revisions) */
    unneededFiles: number;
    /** newly marked (unreferenced or unneeded): deleted once the grace period has passed */
    marked: number;
    deleted: number;
    reclaimedBytes: number;
    graceHours: number;
    skipped?: string;
  };
  /** the exact error of each step that failed */
  errors?: Record<string, string>;
}

export interface CleanupRunResult {
  runId: number;
  state: 'succeeded' | 'failed' | 'interrupted';
  trigger: MaintenanceTrigger;
  dryRun: boolean;
  steps: CleanupStep[];
  counts: CleanupCounts;
  notes: string[];
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  error: string | null;
}
