-- Helpdesk connections (Zendesk, Intercom, Freshdesk). Credentials are sealed by the server
-- under a key kept outside the database: this table alone reveals none. Times are
-- microseconds since the Unix epoch.
CREATE TABLE helpdesks (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    base_url TEXT NOT NULL,
    auth_sealed BLOB NOT NULL,
    signing_sealed BLOB,
    previous_signing_sealed BLOB,
    previous_until INTEGER,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    events INTEGER NOT NULL DEFAULT 0,
    last_event_at INTEGER,
    last_error TEXT,
    last_error_at INTEGER
);

-- Event ids seen per connection, so a webhook the vendor sends again is taken once.
CREATE TABLE helpdesk_events (
    connection TEXT NOT NULL REFERENCES helpdesks (name) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (connection, event_id)
);
CREATE INDEX helpdesk_events_received ON helpdesk_events (received_at);
