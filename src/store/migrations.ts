// Versioned schema. Each entry runs once, in order, in its own transaction; never edit a
// shipped entry — append a new one.

import { PUBLISHED_UPDATES_MIGRATION } from './published-updates.store.js';
import { CONTENT_SIGNATURES_MIGRATION } from './content.store.js';

export const migrations: string[] = [
  /* 1: catalog, targeting, approvals, computers, events */ `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  INSERT INTO counters (name, value) VALUES ('catalog_generation', 0), ('change_seq', 0), ('deployment_id', 1000);

  CREATE TABLE updates (
    id INTEGER PRIMARY KEY,
    update_id TEXT NOT NULL UNIQUE,               -- lower-case GUID
    update_type TEXT NOT NULL,
    current_revision_id INTEGER,                  -- highest revision number ingested
    is_leaf INTEGER NOT NULL DEFAULT 1,           -- 0 when any visible revision names it as a prerequisite
    declined INTEGER NOT NULL DEFAULT 0,
    deployment_change_seq INTEGER NOT NULL DEFAULT 0,
    deployment_changed_at TEXT NOT NULL
  );

  -- AUTOINCREMENT: a local revision id is never reused, even after deletion, because
  -- clients cache them across scans.
  CREATE TABLE revisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    update_pk INTEGER NOT NULL REFERENCES updates(id),
    revision_number INTEGER NOT NULL,
    update_type TEXT NOT NULL,
    category_type TEXT,
    publication_state TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    kb_article_ids TEXT NOT NULL,                 -- JSON array
    msrc_severity TEXT,
    creation_date TEXT,
    handler TEXT,
    explicitly_deployable INTEGER NOT NULL,
    prerequisites TEXT NOT NULL,                  -- JSON [{updateIds:[], isCategory}]
    bundled_updates TEXT NOT NULL,                -- JSON [{updateId, revisionNumber}]
    superseded_update_ids TEXT NOT NULL,          -- JSON array
    driver TEXT,                                  -- JSON DriverInfo
    core_escaped TEXT NOT NULL,                   -- Core fragment, XML-escaped for <Xml>
    extended_escaped TEXT NOT NULL,
    document TEXT NOT NULL,                       -- the full <Update> document as ingested
    implicit_deployment_id INTEGER NOT NULL,
    change_seq INTEGER NOT NULL,
    ingested_at TEXT NOT NULL,
    UNIQUE (update_pk, revision_number)
  );
  CREATE INDEX revisions_by_update ON revisions(update_pk);

  CREATE TABLE revision_localized (
    revision_id INTEGER NOT NULL REFERENCES revisions(id) ON DELETE CASCADE,
    language TEXT NOT NULL,                       -- lower-case
    xml_escaped TEXT NOT NULL,
    PRIMARY KEY (revision_id, language)
  ) WITHOUT ROWID;

  CREATE TABLE revision_eula (
    revision_id INTEGER NOT NULL REFERENCES revisions(id) ON DELETE CASCADE,
    language TEXT NOT NULL,
    xml_escaped TEXT NOT NULL,
    PRIMARY KEY (revision_id, language)
  ) WITHOUT ROWID;

  CREATE TABLE files (
    revision_id INTEGER NOT NULL REFERENCES revisions(id) ON DELETE CASCADE,
    sha1_hex TEXT NOT NULL,                       -- upper-case hex, the content address
    sha1 TEXT NOT NULL,                           -- base64 as in metadata
    sha256 TEXT,
    file_name TEXT NOT NULL,
    size INTEGER NOT NULL,
    modified TEXT,
    patching_type TEXT,
    is_eula INTEGER NOT NULL DEFAULT 0,
    mu_url TEXT,
    PRIMARY KEY (revision_id, sha1_hex)
  ) WITHOUT ROWID;
  CREATE INDEX files_by_digest ON files(sha1_hex);

  CREATE TABLE revision_categories (
    revision_id INTEGER NOT NULL REFERENCES revisions(id) ON DELETE CASCADE,
    category_update_id TEXT NOT NULL,
    PRIMARY KEY (revision_id, category_update_id)
  ) WITHOUT ROWID;
  CREATE INDEX revision_categories_by_category ON revision_categories(category_update_id);

  CREATE TABLE target_groups (
    id TEXT PRIMARY KEY,                          -- lower-case GUID
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    parent_id TEXT REFERENCES target_groups(id),
    builtin INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
  );

  CREATE TABLE approvals (
    update_pk INTEGER NOT NULL REFERENCES updates(id),
    group_id TEXT NOT NULL REFERENCES target_groups(id),
    action TEXT NOT NULL CHECK (action IN ('Install', 'Uninstall')),
    deadline TEXT,
    deployment_id INTEGER NOT NULL UNIQUE,
    approved_at TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    PRIMARY KEY (update_pk, group_id)
  );

  CREATE TABLE computers (
    client_id TEXT PRIMARY KEY,
    dns_name TEXT NOT NULL,
    requested_groups TEXT NOT NULL DEFAULT '',    -- client-side targeting, ';'-separated as sent
    assigned_group_id TEXT REFERENCES target_groups(id),
    os_major INTEGER, os_minor INTEGER, os_build INTEGER, os_sp_major INTEGER,
    os_locale TEXT, os_description TEXT,
    manufacturer TEXT, model TEXT, bios_version TEXT, bios_name TEXT, bios_release_date TEXT,
    processor_architecture TEXT, client_version TEXT,
    registered_at TEXT NOT NULL,
    last_sync_at TEXT,
    last_report_at TEXT,
    last_address TEXT
  );

  CREATE TABLE events (
    event_instance_id TEXT PRIMARY KEY,           -- the client's GUID; dedupes replays
    client_id TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    namespace_id INTEGER NOT NULL,
    source_id INTEGER NOT NULL,
    update_id TEXT NOT NULL,
    revision_number INTEGER NOT NULL,
    time_at_target TEXT NOT NULL,
    win32_hresult INTEGER NOT NULL,
    app_name TEXT NOT NULL,
    replacement_strings TEXT NOT NULL,            -- JSON array
    misc_data TEXT NOT NULL,                      -- JSON array of "Key=Value"
    received_at TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX events_by_client ON events(client_id, time_at_target);
  `,
  /* 2: the verified content store (files addressed by SHA-1; bytes under contentDir) */ `
  CREATE TABLE content (
    sha1_hex TEXT PRIMARY KEY,                    -- upper-case hex; the file is contentDir/<last two hex>/<sha1_hex>
    size INTEGER NOT NULL,
    sha256 TEXT,                                  -- base64, checked when the file entered the store
    state TEXT NOT NULL CHECK (state IN ('present', 'quarantined')),
    stored_at TEXT NOT NULL,                      -- when it became visible: Last-Modified and ETag derive from it
    verified_at TEXT,                             -- last time both digests were computed over the bytes on disk
    error TEXT,                                   -- why it was quarantined
    quarantine_file TEXT,                         -- name under contentDir/.quarantine/, kept for inspection
    orphaned_at TEXT                              -- first seen unreferenced by any files row; deleted after the grace period
  ) WITHOUT ROWID;
  CREATE INDEX content_orphaned ON content(orphaned_at) WHERE orphaned_at IS NOT NULL;
  `,
  /* 3: server-to-server sync — upstream role (deployment history, downstream registry, rollup) and downstream role (sync state) */ `
  -- Upstream role: GetDeployments returns deployments changed and deleted between two anchors.
  ALTER TABLE approvals ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
  -- Replica: the upstream deployment GUID an approval mirrors (NULL for local approvals).
  ALTER TABLE approvals ADD COLUMN upstream_deployment_guid TEXT;
  CREATE INDEX approvals_by_change ON approvals(change_seq);
  CREATE TABLE deployment_tombstones (
    deployment_guid TEXT PRIMARY KEY,             -- the GUID downstreams saw for the deleted deployment
    change_seq INTEGER NOT NULL,
    died_at TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX deployment_tombstones_by_seq ON deployment_tombstones(change_seq);

  CREATE TABLE downstream_servers (
    server_id TEXT PRIMARY KEY,                   -- the DSS GUID (lower-case)
    fqdn TEXT NOT NULL,
    address TEXT,
    protocol_version TEXT,
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    last_sync_at TEXT,
    last_rollup_at TEXT,
    rollup TEXT                                   -- JSON: latest DownstreamServerRollupInfo as received
  ) WITHOUT ROWID;
  CREATE TABLE rollup_computers (
    server_id TEXT NOT NULL,
    computer_id TEXT NOT NULL,
    info TEXT NOT NULL,                           -- JSON: ComputerRollupInfo as received
    rolled_up_at TEXT NOT NULL,
    PRIMARY KEY (server_id, computer_id)
  ) WITHOUT ROWID;
  CREATE TABLE rollup_update_status (
    server_id TEXT NOT NULL,
    computer_id TEXT NOT NULL,
    update_id TEXT NOT NULL,
    revision_number INTEGER,
    state INTEGER NOT NULL,                       -- SummarizationState 0..6
    last_change_time TEXT,
    PRIMARY KEY (server_id, computer_id, update_id)
  ) WITHOUT ROWID;

  -- Downstream role.
  CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE sync_selection (
    kind TEXT NOT NULL CHECK (kind IN ('product', 'classification', 'language')),
    id TEXT NOT NULL,                             -- lower-case GUID, or the language's short name
    PRIMARY KEY (kind, id)
  ) WITHOUT ROWID;
  CREATE TABLE sync_exclusions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('title', 'kb', 'architecture', 'language-pack')),
    pattern TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (kind, pattern)
  );
  -- Fetched but not yet merged documents: an interrupted sync resumes from here.
  CREATE TABLE sync_staging (
    phase TEXT NOT NULL,
    update_id TEXT NOT NULL,
    revision_number INTEGER NOT NULL,
    document TEXT NOT NULL,
    file_urls TEXT NOT NULL DEFAULT '[]',         -- JSON [{digest, muUrl}]
    PRIMARY KEY (phase, update_id, revision_number)
  ) WITHOUT ROWID;
  CREATE TABLE sync_excluded (
    update_id TEXT PRIMARY KEY,
    revision_number INTEGER NOT NULL,
    title TEXT NOT NULL,
    reason TEXT NOT NULL,
    excluded_at TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE sync_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger TEXT NOT NULL,                        -- cli, schedule, admin
    upstream TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    state TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'interrupted')),
    phase TEXT,
    counts TEXT NOT NULL DEFAULT '{}',            -- JSON per phase
    error TEXT,
    pid INTEGER,
    heartbeat_at TEXT
  );
  -- One instance of a job at a time, across the server and CLI processes.
  CREATE TABLE job_locks (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    pid INTEGER NOT NULL,
    acquired_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  /* 4: upstream role — rollup bookkeeping and the replica's mirrored-approval look-up */ `
  -- GetOutOfSyncComputers compares the RollupNumber a downstream last sent for a computer.
  ALTER TABLE rollup_computers ADD COLUMN parent_server_id TEXT;
  ALTER TABLE rollup_computers ADD COLUMN last_rollup_number INTEGER;
  ALTER TABLE rollup_computers ADD COLUMN effective_last_detection_time TEXT;
  -- A replica removes a mirrored approval by the upstream's deployment GUID.
  CREATE INDEX approvals_by_upstream_guid ON approvals(upstream_deployment_guid) WHERE upstream_deployment_guid IS NOT NULL;
  `,
  /* admin tokens and audit */ `
  -- Bearer tokens of the admin API: only the SHA-256 of a token is stored; it is shown once.
  CREATE TABLE admin_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,                           -- who, in the audit log (e.g. alice, ci-pipeline)
    role TEXT NOT NULL CHECK (role IN ('admin', 'reporter')),
    token_hash TEXT NOT NULL UNIQUE,              -- lower-case hex SHA-256 of the token
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,                     -- local:<user> (wsus tokens create) or the creating token's name
    expires_at TEXT,
    revoked_at TEXT,
    last_used_at TEXT
  );
  -- One row per admin change (and per refused attempt by a known token).
  CREATE TABLE admin_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor_token_id INTEGER,                       -- NULL for local bootstrap commands
    actor_name TEXT NOT NULL,
    actor_role TEXT,
    address TEXT,                                 -- remote address of the request
    action TEXT NOT NULL,                         -- e.g. updates.approve
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',            -- JSON: path parameters (the target)
    body TEXT NOT NULL DEFAULT '{}',              -- JSON: request body, secret-looking fields redacted
    dry_run INTEGER NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL,                        -- ok, or the error code
    error TEXT,
    ms INTEGER
  );
  CREATE INDEX admin_audit_by_time ON admin_audit(at);
  CREATE INDEX admin_audit_by_actor ON admin_audit(actor_name, at);
  `,
  /* admin: updates, approvals, groups, computers (issue 5, slice "updates/groups/computers") — a per-update
     summary and relationship edges kept by triggers at ingest (so `updates list|show` never reads revision
     documents), computer sightings (duplicate SusClientId detection) and the indexes the admin lists need */ `
  -- One row per update: its current revision's listing fields. Maintained by the triggers below
  -- whenever updates.current_revision_id changes, so the ingest code needs no change.
  CREATE TABLE update_summary (
    update_pk INTEGER PRIMARY KEY,                -- updates.id
    update_id TEXT NOT NULL,
    revision_id INTEGER NOT NULL,                 -- the current revision
    update_type TEXT NOT NULL,
    category_type TEXT,
    title TEXT NOT NULL,
    kb TEXT NOT NULL,                             -- ' 5034441 5034442 ': space-delimited for exact-number matching; '' when none
    msrc_severity TEXT,
    creation_date TEXT,
    publication_state TEXT NOT NULL,
    explicitly_deployable INTEGER NOT NULL,
    arrived_at TEXT NOT NULL                      -- when the update's first revision was ingested
  );
  CREATE INDEX update_summary_by_revision ON update_summary(revision_id);
  CREATE INDEX update_summary_by_arrival ON update_summary(arrived_at);
  CREATE INDEX update_summary_by_title ON update_summary(title COLLATE NOCASE);

  -- Relationship edges of every revision (the JSON columns of revisions, as rows): who supersedes
  -- whom and which bundle contains which update, answerable in both directions by index.
  CREATE TABLE revision_supersedes (
    revision_id INTEGER NOT NULL REFERENCES revisions(id) ON DELETE CASCADE,
    superseded_update_id TEXT NOT NULL,
    PRIMARY KEY (revision_id, superseded_update_id)
  ) WITHOUT ROWID;
  CREATE INDEX revision_supersedes_by_target ON revision_supersedes(superseded_update_id);
  CREATE TABLE revision_bundles (
    revision_id INTEGER NOT NULL REFERENCES revisions(id) ON DELETE CASCADE,
    member_update_id TEXT NOT NULL,
    PRIMARY KEY (revision_id, member_update_id)
  ) WITHOUT ROWID;
  CREATE INDEX revision_bundles_by_member ON revision_bundles(member_update_id);

  CREATE TRIGGER revision_edges_on_insert AFTER INSERT ON revisions
  BEGIN
    INSERT OR IGNORE INTO revision_supersedes (revision_id, superseded_update_id)
      SELECT NEW.id, lower(j.value) FROM json_each(NEW.superseded_update_ids) j;
    INSERT OR IGNORE INTO revision_bundles (revision_id, member_update_id)
      SELECT NEW.id, lower(json_extract(j.value, '$.updateId')) FROM json_each(NEW.bundled_updates) j;
  END;
  CREATE TRIGGER update_summary_on_current AFTER UPDATE OF current_revision_id ON updates
  WHEN NEW.current_revision_id IS NOT NULL
  BEGIN
    INSERT INTO update_summary (update_pk, update_id, revision_id, update_type, category_type, title, kb, msrc_severity,
                                creation_date, publication_state, explicitly_deployable, arrived_at)
      SELECT NEW.id, NEW.update_id, r.id, r.update_type, r.category_type, r.title,
             COALESCE((SELECT ' ' || group_concat(k.value, ' ') || ' ' FROM json_each(r.kb_article_ids) k), ''),
             r.msrc_severity, r.creation_date, r.publication_state, r.explicitly_deployable, r.ingested_at
        FROM revisions r WHERE r.id = NEW.current_revision_id
    ON CONFLICT (update_pk) DO UPDATE SET revision_id = excluded.revision_id, update_type = excluded.update_type,
      category_type = excluded.category_type, title = excluded.title, kb = excluded.kb, msrc_severity = excluded.msrc_severity,
      creation_date = excluded.creation_date, publication_state = excluded.publication_state,
      explicitly_deployable = excluded.explicitly_deployable;
  END;
  CREATE TRIGGER update_summary_on_no_current AFTER UPDATE OF current_revision_id ON updates
  WHEN NEW.current_revision_id IS NULL
  BEGIN
    DELETE FROM update_summary WHERE update_pk = NEW.id;
  END;
  CREATE TRIGGER update_summary_on_delete AFTER DELETE ON updates
  BEGIN
    DELETE FROM update_summary WHERE update_pk = OLD.id;
  END;

  -- Existing catalogs: the same rows the triggers would have written.
  INSERT INTO revision_supersedes (revision_id, superseded_update_id)
    SELECT r.id, lower(j.value) FROM revisions r, json_each(r.superseded_update_ids) j WHERE true
    ON CONFLICT DO NOTHING;
  INSERT INTO revision_bundles (revision_id, member_update_id)
    SELECT r.id, lower(json_extract(j.value, '$.updateId')) FROM revisions r, json_each(r.bundled_updates) j WHERE true
    ON CONFLICT DO NOTHING;
  INSERT INTO update_summary (update_pk, update_id, revision_id, update_type, category_type, title, kb, msrc_severity,
                              creation_date, publication_state, explicitly_deployable, arrived_at)
    SELECT u.id, u.update_id, r.id, r.update_type, r.category_type, r.title,
           COALESCE((SELECT ' ' || group_concat(k.value, ' ') || ' ' FROM json_each(r.kb_article_ids) k), ''),
           r.msrc_severity, r.creation_date, r.publication_state, r.explicitly_deployable,
           (SELECT min(r0.ingested_at) FROM revisions r0 WHERE r0.update_pk = u.id)
      FROM updates u JOIN revisions r ON r.id = u.current_revision_id;

  -- Approvals by group (group delete, group listing counts, "approved for").
  CREATE INDEX approvals_by_group ON approvals(group_id);

  -- Computers: listing by group and name.
  CREATE INDEX computers_by_group ON computers(assigned_group_id);
  CREATE INDEX computers_by_name ON computers(dns_name COLLATE NOCASE);
  -- Every (name, address) a SusClientId was seen with: one client id seen with two names (or two
  -- addresses at the same time) is a cloned image. Written only when what a client sends changes
  -- (and at most hourly otherwise), never per request.
  CREATE TABLE computer_sightings (
    client_id TEXT NOT NULL,
    dns_name TEXT NOT NULL,                       -- lower-case
    address TEXT NOT NULL,                        -- '' when unknown
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    PRIMARY KEY (client_id, dns_name, address)
  ) WITHOUT ROWID;
  INSERT INTO computer_sightings (client_id, dns_name, address, first_seen_at, last_seen_at)
    SELECT client_id, lower(dns_name), COALESCE(last_address, ''), registered_at, COALESCE(last_sync_at, registered_at) FROM computers;
  -- A client's latest status report (event 156 carries the U=/V=/W=/g=/h= update lists).
  CREATE INDEX events_status_by_client ON events(client_id, time_at_target) WHERE event_id = 156 AND namespace_id = 1;
  `,
  /* maintenance (issue 5, slice "automatic rules and cleanup") — approval/decline rules, the history of
     maintenance runs, their small state (watermarks), and the indexes the "needed" look-ups use */ `
  CREATE TABLE maintenance_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('approval', 'decline')),
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    enabled INTEGER NOT NULL DEFAULT 1,
    criteria TEXT NOT NULL,                       -- JSON, see src/core/maintenance/rule-model.ts
    since_seq INTEGER NOT NULL DEFAULT 0,         -- change_seq when created: after-sync runs only see later revisions
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  -- WSUS's cleanup wizard declines expired and superseded updates; here they are two visible
  -- decline rules, on by default, that an admin can disable or edit.
  INSERT INTO maintenance_rules (kind, name, enabled, criteria, created_at, updated_at) VALUES
    ('decline', 'Expired updates', 1, '{"condition":"expired"}', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('decline', 'Superseded updates not needed for 30 days', 1, '{"condition":"superseded","days":30}', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
  -- One row per cleanup or rules run (scheduled, after a sync, or asked for): what, counts, error.
  CREATE TABLE maintenance_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT NOT NULL,                            -- cleanup, rules
    trigger TEXT NOT NULL,                        -- schedule, sync, admin, cli
    dry_run INTEGER NOT NULL,
    steps TEXT NOT NULL,                          -- JSON array: the steps asked for
    started_at TEXT NOT NULL,
    finished_at TEXT,
    state TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'interrupted')),
    counts TEXT NOT NULL DEFAULT '{}',            -- JSON per step
    error TEXT,
    actor TEXT,                                   -- the admin token name, when asked through the API
    pid INTEGER
  );
  CREATE INDEX maintenance_runs_by_job ON maintenance_runs(job, id);
  CREATE TABLE maintenance_state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  -- "Needed by a computer": recent client events about an update, downstream rollup states.
  CREATE INDEX IF NOT EXISTS events_by_update ON events(update_id, received_at);
  CREATE INDEX IF NOT EXISTS rollup_update_status_by_update ON rollup_update_status(update_id, state);
  `,
  /* reporting (issue 6): per computer × update status, the durable report inbox, event retention */ `
  -- Each computer's updates as its reports say: one row per computer, the applicable updates as
  -- a packed blob (20,000 computers × 600 applicable updates is 48 MB, read in one pass). Not
  -- applicable and Unknown are never stored: they follow from status_at and the update's arrival.
  CREATE TABLE computer_status (
    client_id TEXT PRIMARY KEY,
    status_at TEXT,                               -- client time of the status list (event 156) the cells come from; NULL: none yet
    cells BLOB NOT NULL,                          -- sorted uint32 LE: update_pk * 8 + state 2..6 (src/core/reporting/status-rules.ts)
    seq INTEGER NOT NULL,                         -- counters.status_seq of the last write: readers reload only what changed
    updated_at TEXT NOT NULL
  );
  CREATE INDEX computer_status_by_seq ON computer_status(seq);
  -- The HRESULT and time of each update a computer failed to install (its cell is state 5).
  CREATE TABLE computer_update_failures (
    client_id TEXT NOT NULL,
    update_pk INTEGER NOT NULL,
    hresult INTEGER NOT NULL,
    failed_at TEXT NOT NULL,                      -- client time
    PRIMARY KEY (client_id, update_pk)
  ) WITHOUT ROWID;
  CREATE INDEX computer_update_failures_by_time ON computer_update_failures(failed_at);
  CREATE INDEX computer_update_failures_by_update ON computer_update_failures(update_pk);
  INSERT INTO counters (name, value) VALUES ('status_seq', 0), ('status_deletes', 0);
  CREATE TRIGGER computer_status_on_computer_delete AFTER DELETE ON computers
  BEGIN
    DELETE FROM computer_status WHERE client_id = OLD.client_id;
    DELETE FROM computer_update_failures WHERE client_id = OLD.client_id;
    UPDATE counters SET value = value + 1 WHERE name = 'status_deletes';
  END;
  -- ReportEventBatch bodies, written before the client gets its answer and processed in the
  -- background: an acknowledged event survives a crash, and a backlog never slows a scan.
  CREATE TABLE report_inbox (
    id INTEGER PRIMARY KEY,
    client_id TEXT NOT NULL,
    address TEXT,
    received_at TEXT NOT NULL,
    event_count INTEGER NOT NULL,
    events TEXT NOT NULL                          -- JSON array of validated events
  );
  -- Retention pruning by receipt time; status now lives in computer_status.
  CREATE INDEX events_by_received ON events(received_at);
  DROP INDEX IF EXISTS events_status_by_client;
  `,
  /* locally published updates (issue 8, wsus publish): see published-updates.store.ts */ PUBLISHED_UPDATES_MIGRATION,
  /* Authenticode outcome per content file, serve-time fingerprint (issue 8): see content.store.ts */ CONTENT_SIGNATURES_MIGRATION,
];
