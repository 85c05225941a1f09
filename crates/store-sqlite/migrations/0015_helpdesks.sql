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
    last_error_at INTEGER,
    -- Where the last sweep of the vendor's API got to (its cursor or time), and when it ran.
    sweep_cursor TEXT,
    last_sweep_at INTEGER
);

-- Event ids seen per connection, so a webhook the vendor sends again is taken once.
CREATE TABLE helpdesk_events (
    connection TEXT NOT NULL REFERENCES helpdesks (name) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (connection, event_id)
);
CREATE INDEX helpdesk_events_received ON helpdesk_events (received_at);

-- The write-back ledger: one row per (ticket, statement version, action), so each ticket gets
-- each approved version once. Status: pending, sending (written, outcome not yet known),
-- sent, failed (given up), superseded (a newer version came before it was sent).
CREATE TABLE helpdesk_writes (
    connection TEXT NOT NULL REFERENCES helpdesks (name) ON DELETE CASCADE,
    ticket TEXT NOT NULL,
    statement_id INTEGER NOT NULL,
    version INTEGER NOT NULL,
    action TEXT NOT NULL,
    incident_id INTEGER NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    sent_at INTEGER,
    PRIMARY KEY (connection, ticket, statement_id, version, action)
);
CREATE INDEX helpdesk_writes_open ON helpdesk_writes (connection, status);
CREATE INDEX helpdesk_writes_incident ON helpdesk_writes (incident_id);
