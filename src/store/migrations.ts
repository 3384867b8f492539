// Versioned schema. Each entry runs once, in order, in its own transaction; never edit a
// shipped entry — append a new one.

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
];
