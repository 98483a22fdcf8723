-- The field app's store schema version 1 (mobile/store.py at commit 8805b52 and 2b043cf, SCHEMA_VERSION = 1),
-- frozen here so migration tests build real version-1 databases. Do not edit: it is history.
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS walks (
    
    id TEXT PRIMARY KEY,
    program_id TEXT,
    protocol TEXT NOT NULL,
    record_type TEXT NOT NULL,
    data TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    latitude REAL,
    longitude REAL,
    recorded_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 0,
    sync_state TEXT NOT NULL DEFAULT 'pending',
    sync_error TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
,
    status TEXT NOT NULL DEFAULT 'active',
    started_at TEXT NOT NULL,
    ended_at TEXT,
    paused_at REAL,
    paused_total_s REAL NOT NULL DEFAULT 0,
    segment INTEGER NOT NULL DEFAULT 0,
    distance_m REAL NOT NULL DEFAULT 0,
    point_count INTEGER NOT NULL DEFAULT 0,
    last_lat REAL, last_lon REAL, last_t REAL, last_segment INTEGER
);
CREATE TABLE IF NOT EXISTS track_points (
    walk_id TEXT NOT NULL REFERENCES walks(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    segment INTEGER NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    t REAL NOT NULL,
    accuracy_m REAL,
    altitude_m REAL,
    PRIMARY KEY (walk_id, seq)
);
CREATE TABLE IF NOT EXISTS observations (
    id TEXT PRIMARY KEY,
    program_id TEXT,
    protocol TEXT NOT NULL,
    record_type TEXT NOT NULL,
    data TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    latitude REAL,
    longitude REAL,
    recorded_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 0,
    sync_state TEXT NOT NULL DEFAULT 'pending',
    sync_error TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
, walk_id TEXT REFERENCES walks(id));
CREATE TABLE IF NOT EXISTS threats (
    id TEXT PRIMARY KEY,
    program_id TEXT,
    protocol TEXT NOT NULL,
    record_type TEXT NOT NULL,
    data TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    latitude REAL,
    longitude REAL,
    recorded_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 0,
    sync_state TEXT NOT NULL DEFAULT 'pending',
    sync_error TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
, walk_id TEXT REFERENCES walks(id));
CREATE TABLE IF NOT EXISTS deployments (
    id TEXT PRIMARY KEY,
    program_id TEXT,
    protocol TEXT NOT NULL,
    record_type TEXT NOT NULL,
    data TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    latitude REAL,
    longitude REAL,
    recorded_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 0,
    sync_state TEXT NOT NULL DEFAULT 'pending',
    sync_error TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
, deployment_id TEXT);
CREATE TABLE IF NOT EXISTS photos (
    sha256 TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    media_type TEXT,
    original_name TEXT,
    created_at TEXT NOT NULL,
    upload_offset INTEGER NOT NULL DEFAULT 0,
    uploaded INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS photo_links (
    sha256 TEXT NOT NULL REFERENCES photos(sha256),
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    PRIMARY KEY (sha256, entity, record_id)
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    mutation_id TEXT NOT NULL UNIQUE,
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    op TEXT NOT NULL,
    base_revision INTEGER NOT NULL,
    data TEXT,
    device_time TEXT NOT NULL,
    gps_time TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS ix_outbox_record ON outbox(entity, record_id);
CREATE INDEX IF NOT EXISTS ix_observations_page ON observations(updated_at, id);
CREATE INDEX IF NOT EXISTS ix_observations_walk ON observations(walk_id);
CREATE INDEX IF NOT EXISTS ix_threats_page ON threats(updated_at, id);
CREATE INDEX IF NOT EXISTS ix_deployments_page ON deployments(updated_at, id);
CREATE INDEX IF NOT EXISTS ix_walks_page ON walks(updated_at, id);
CREATE INDEX IF NOT EXISTS ix_walks_status ON walks(status);
