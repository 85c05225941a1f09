-- Foundation: people and tokens, secrets, contacts, security events, the audit log.
--
-- Times used for ordering and filtering are INTEGER microseconds since the Unix epoch (UTC):
-- they sort and compare exactly, and match PostgreSQL's timestamptz precision. The audit log
-- keeps `at` as RFC 3339 text because that text is what its hash covers.
-- Every table that is listed page by page has `seq INTEGER PRIMARY KEY`: SQLite's rowid, a
-- unique, increasing intake order that breaks ties between equal timestamps.

-- Installation secrets (pseudonym key, later session and link-signing keys), generated on
-- first start unless configuration provides them.
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT users_name_key UNIQUE (name)
);

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users (id),
    role    TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);

-- Only a SHA-256 digest of each token's secret part is kept; `id` is the public part of the
-- token string, so authentication is one lookup by id and a constant-time digest comparison.
CREATE TABLE api_tokens (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    digest     BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER,
    CONSTRAINT api_tokens_id_key UNIQUE (id)
);

-- Contacts as stored: already redacted; `customer` is a keyed pseudonym, never the raw id.
-- `ext_id` is the source's own id; (source, ext_id) makes intake idempotent.
CREATE TABLE contacts (
    seq         INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    ext_id      TEXT NOT NULL,
    channel     TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    text        TEXT NOT NULL,
    customer    TEXT,
    service     TEXT,
    region      TEXT,
    language    TEXT,
    metadata    TEXT,
    -- Topics found at intake, a JSON array of names, sorted.
    topics      TEXT NOT NULL DEFAULT '[]',
    ingested_at INTEGER NOT NULL,
    CONSTRAINT contacts_source_ext_id_key UNIQUE (source, ext_id)
);
-- The list order and the since/until filters.
CREATE INDEX contacts_received_at_idx ON contacts (received_at, seq);

-- `severity` is the rank (info = 0 … critical = 4) so "at least high" is a comparison.
CREATE TABLE security_events (
    seq         INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    ext_id      TEXT NOT NULL,
    observed_at INTEGER NOT NULL,
    severity    INTEGER NOT NULL,
    title       TEXT NOT NULL,
    service     TEXT,
    indicators  TEXT NOT NULL,
    -- Set when the finding stops (Alertmanager's `resolved`); NULL while it is active.
    resolved_at INTEGER,
    ingested_at INTEGER NOT NULL,
    CONSTRAINT security_events_source_ext_id_key UNIQUE (source, ext_id)
);
CREATE INDEX security_events_observed_at_idx ON security_events (observed_at, seq);

-- Append-only and hash-chained: `hash` = SHA-256 over this record's fields and `prev_hash`
-- (see frontline_core::audit). `seq` is assigned by the writer as last + 1, inside the write
-- transaction, so the chain has no gaps.
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    detail     TEXT NOT NULL,
    request_id TEXT,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);

-- Early-warning alerts. `id` is the detector's alert id, stable for one ongoing anomaly, so
-- re-detection (after a restart, or a replay) updates the same row and keeps its state.
CREATE TABLE alerts (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL,
    kind       TEXT NOT NULL,
    topic      TEXT,
    service    TEXT,
    channel    TEXT,
    started_at INTEGER NOT NULL,
    raised_at  INTEGER NOT NULL,
    observed   INTEGER NOT NULL,
    customers  INTEGER NOT NULL DEFAULT 0,
    expected   REAL NOT NULL,
    score      REAL NOT NULL,
    -- JSON array of {"source", "id"}.
    evidence   TEXT NOT NULL,
    text       TEXT,
    state      TEXT NOT NULL DEFAULT 'open',
    reason     TEXT,
    state_by   TEXT,
    state_at   INTEGER,
    created_at INTEGER NOT NULL,
    CONSTRAINT alerts_id_key UNIQUE (id)
);
CREATE INDEX alerts_started_at_idx ON alerts (started_at, seq);

-- Leases: background work that must run in one process at a time (detection) is done by the
-- holder of its lease, renewed on every step; another process takes over once it expires.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
