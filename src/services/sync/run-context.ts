import type { SyncConfig } from '../../config/sync-config.js';
import type { Logger } from '../../logger.js';
import type { Db } from '../../store/database.js';
import type { CatalogStore } from '../../store/catalog.store.js';
import type { SyncStore } from '../../store/sync.store.js';
import type { SyncStagingStore } from '../../store/sync-staging.store.js';
import type { SyncCatalogStore } from '../../store/sync-catalog.store.js';
import type { ServerSyncSession } from '../../upstream/server-sync-session.js';
import type { ContentStore } from '../content-store.service.js';
import type { SyncState } from './sync-state.js';
import type { BadDocument, ReplicaMirror, RunCounts, SyncPhase, SyncProgress } from './sync-types.js';

// Everything one sync attempt's phases share. Built by the service per attempt (a
// ServerChanged restart gets a fresh session but keeps the counts).

export interface RunContext {
  db: Db;
  sync: SyncConfig;
  upstream: string;
  isMicrosoftUpdate: boolean;
  session: ServerSyncSession;
  catalog: CatalogStore;
  store: SyncStore;
  state: SyncState;
  staging: SyncStagingStore;
  catalogReads: SyncCatalogStore;
  contentStore: Pick<ContentStore, 'downloadToStore'> | null;
  replica: ReplicaMirror | null;
  log: Logger;
  clock: () => Date;
  signal: AbortSignal;
  counts: RunCounts;
  /** GetUpdateData batch size: the upstream's MaxNumberOfUpdatesPerRequest */
  maxPerRequest: number;
  enterPhase(phase: SyncPhase): void;
  progress(p: SyncProgress): void;
  note(message: string): void;
  /** after a commit clients can see (see SyncServiceDeps.onCatalogChanged) */
  catalogChanged(): void;
  badDocument(d: BadDocument): void;
}

export const MAX_BAD_DOCUMENTS_KEPT = 20;

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('sync aborted');
}
