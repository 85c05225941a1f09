-- Foundation: people and tokens, secrets, contacts, security events, the audit log.
-- The same tables as the SQLite backend, in PostgreSQL's own types: timestamptz (microsecond
-- precision, the precision every backend keeps), jsonb for free JSON, bytea for digests.
-- `seq` (bigserial) is the intake order that breaks ties between equal timestamps in lists.

-- Installation secrets, generated on first start unless configuration provides them.
CREATE TABLE secrets (
    name       text PRIMARY KEY,
    value      bytea NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE users (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT users_name_key UNIQUE (name)
);

CREATE TABLE user_roles (
    user_id bigint NOT NULL REFERENCES users (id),
    role    text NOT NULL,
    PRIMARY KEY (user_id, role)
);

-- Only a SHA-256 digest of each token's secret part is kept; `id` is the public part.
CREATE TABLE api_tokens (
    seq        bigserial PRIMARY KEY,
    id         text NOT NULL,
    user_id    bigint NOT NULL REFERENCES users (id),
    digest     bytea NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz,
    CONSTRAINT api_tokens_id_key UNIQUE (id)
);

-- Contacts as stored: already redacted; `customer` is a keyed pseudonym, never the raw id.
CREATE TABLE contacts (
    seq         bigserial PRIMARY KEY,
    source      text NOT NULL,
    ext_id      text NOT NULL,
    channel     text NOT NULL,
    received_at timestamptz NOT NULL,
    text        text NOT NULL,
    customer    text,
    service     text,
    region      text,
    language    text,
    metadata    jsonb,
    -- Topics found at intake, a JSON array of names, sorted.
    topics      jsonb NOT NULL DEFAULT '[]',
    ingested_at timestamptz NOT NULL,
    CONSTRAINT contacts_source_ext_id_key UNIQUE (source, ext_id)
);
-- The list order and the since/until filters.
CREATE INDEX contacts_received_at_idx ON contacts (received_at, seq);

-- `severity` is the rank (info = 0 … critical = 4) so "at least high" is a comparison.
CREATE TABLE security_events (
    seq         bigserial PRIMARY KEY,
    source      text NOT NULL,
    ext_id      text NOT NULL,
    observed_at timestamptz NOT NULL,
    severity    smallint NOT NULL,
    title       text NOT NULL,
    service     text,
    indicators  jsonb NOT NULL,
    -- Set when the finding stops (Alertmanager's `resolved`); NULL while it is active.
    resolved_at timestamptz,
    ingested_at timestamptz NOT NULL,
    CONSTRAINT security_events_source_ext_id_key UNIQUE (source, ext_id)
);
CREATE INDEX security_events_observed_at_idx ON security_events (observed_at, seq);

-- Append-only and hash-chained (see frontline_core::audit). `detail` is text, not jsonb, so
-- it is kept exactly as hashed. Writers take a transaction-scoped advisory lock before reading
-- the head, so the chain stays gapless across server processes.
CREATE TABLE audit_log (
    seq        bigint PRIMARY KEY,
    at         timestamptz NOT NULL,
    actor      text NOT NULL,
    action     text NOT NULL,
    target     text NOT NULL,
    detail     text NOT NULL,
    request_id text,
    prev_hash  text NOT NULL,
    hash       text NOT NULL
);

-- Early-warning alerts. `id` is the detector's alert id, stable for one ongoing anomaly, so
-- re-detection (after a restart, or a replay) updates the same row and keeps its state.
CREATE TABLE alerts (
    seq        bigserial PRIMARY KEY,
    id         text NOT NULL,
    kind       text NOT NULL,
    topic      text,
    service    text,
    channel    text,
    started_at timestamptz NOT NULL,
    raised_at  timestamptz NOT NULL,
    observed   bigint NOT NULL,
    customers  bigint NOT NULL DEFAULT 0,
    expected   double precision NOT NULL,
    score      double precision NOT NULL,
    -- JSON array of {"source", "id"}.
    evidence   jsonb NOT NULL,
    text       text,
    state      text NOT NULL DEFAULT 'open',
    reason     text,
    state_by   text,
    state_at   timestamptz,
    created_at timestamptz NOT NULL,
    CONSTRAINT alerts_id_key UNIQUE (id)
);
CREATE INDEX alerts_started_at_idx ON alerts (started_at, seq);

-- Leases: background work that must run in one process at a time (detection) is done by the
-- holder of its lease, renewed on every step; another process takes over once it expires.
CREATE TABLE leases (
    name       text PRIMARY KEY,
    holder     text NOT NULL,
    expires_at timestamptz NOT NULL
);
