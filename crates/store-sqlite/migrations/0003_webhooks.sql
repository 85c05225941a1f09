-- Outbound webhooks and their deliveries. A webhook's `cursor` is the feed seq up to which
-- every entry is delivered, failed or not wanted; the delivery worker follows the feed from
-- there, one entry at a time, so notifications arrive in feed order and a restart resumes
-- at the first entry not yet settled.
CREATE TABLE webhooks (
    seq        INTEGER PRIMARY KEY,
    url        TEXT NOT NULL,
    -- Needed in clear to sign each delivery.
    secret     TEXT NOT NULL,
    format     TEXT NOT NULL,
    -- JSON array of feed kinds, or ["*"].
    events     TEXT NOT NULL,
    cursor     INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    deleted_at INTEGER
);

CREATE TABLE deliveries (
    seq              INTEGER PRIMARY KEY,
    webhook_id       INTEGER NOT NULL REFERENCES webhooks (seq),
    feed_seq         INTEGER NOT NULL,
    kind             TEXT NOT NULL,
    incident_id      INTEGER,
    idempotency_key  TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    last_status      INTEGER,
    last_error       TEXT,
    first_attempt_at INTEGER NOT NULL,
    last_attempt_at  INTEGER NOT NULL,
    next_attempt_at  INTEGER,
    delivered_at     INTEGER,
    CONSTRAINT deliveries_webhook_feed_key UNIQUE (webhook_id, feed_seq)
);
