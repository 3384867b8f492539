import type { ServerConfig } from '../config/config.js';
import type { Logger } from '../logger.js';
import type { Db } from '../store/database.js';
import type { CatalogStore } from '../store/catalog.store.js';
import type { TargetingStore } from '../store/targeting.store.js';
import type { ComputersStore } from '../store/computers.store.js';
import type { EventsStore } from '../store/events.store.js';
import type { AuditStore } from '../store/audit.store.js';
import type { CatalogViewHolder } from '../services/catalog-view.js';
import type { ContentStore } from '../services/content-store.service.js';
import type { ReportingService } from '../services/reporting.service.js';
import type { SyncService } from '../services/sync/sync.service.js';
import type { AdminTokensService } from '../services/admin/admin-tokens.service.js';

// What every feature's `registerXRoutes(router, deps)` receives: the running server's own
// objects (one database connection, one content store, one sync service), built once in the
// composition root (src/app/server.ts). Handlers call services with these; they never open
// another connection.

export interface AdminDeps {
  /** the validated configuration the server started with (config.json edits apply at restart) */
  config: ServerConfig;
  /** the server's own connection: after writing through it call `views.invalidate()` */
  db: Db;
  log: Logger;
  clock: () => Date;
  /** this server's GUID (DssAuth account, server identity) */
  serverId: string;
  catalog: CatalogStore;
  targeting: TargetingStore;
  computers: ComputersStore;
  events: EventsStore;
  reporting: ReportingService;
  /** the verified content store (verify, cleanup, stats, downloads) */
  content: ContentStore;
  /** the sync service the schedule also runs; one run at a time (Conflict while one runs) */
  sync: SyncService;
  /**
   * The catalog view clients scan against. SQLite's data_version does not report writes made on
   * this same connection, so every route that changes approvals, declines, groups or the catalog
   * through `db` must call `views.invalidate()` after its commit.
   */
  views: CatalogViewHolder;
  /** admin API tokens (create, list, revoke) */
  tokens: AdminTokensService;
  /** the audit log (the listener writes it for change routes; read it with `query`) */
  audit: AuditStore;
  /** writes buffered client reports and contact times now (before reading them) */
  flush(): void;
  /** the client listener's base URL, e.g. for messages and health probes */
  clientUrl(): string;
}
