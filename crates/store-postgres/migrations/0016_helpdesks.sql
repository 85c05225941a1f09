-- Helpdesk connections (Zendesk, Intercom, Freshdesk). Credentials are sealed by the server
-- under a key kept outside the database: this table alone reveals none.
CREATE TABLE helpdesks (
    name text PRIMARY KEY,
    kind text NOT NULL,
    base_url text NOT NULL,
    auth_sealed bytea NOT NULL,
    signing_sealed bytea,
    previous_signing_sealed bytea,
    previous_until timestamptz,
    created_at timestamptz NOT NULL,
    created_by text NOT NULL,
    events bigint NOT NULL DEFAULT 0,
    last_event_at timestamptz,
    last_error text,
    last_error_at timestamptz,
    -- Where the last sweep of the vendor's API got to (its cursor or time), and when it ran.
    sweep_cursor text,
    last_sweep_at timestamptz
);

-- Event ids seen per connection, so a webhook the vendor sends again is taken once.
CREATE TABLE helpdesk_events (
    connection text NOT NULL REFERENCES helpdesks (name) ON DELETE CASCADE,
    event_id text NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (connection, event_id)
);
CREATE INDEX helpdesk_events_received ON helpdesk_events (received_at);

-- The write-back ledger: one row per (ticket, statement version, action), so each ticket gets
-- each approved version once. Status: pending, sending (written, outcome not yet known),
-- sent, failed (given up), superseded (a newer version came before it was sent).
CREATE TABLE helpdesk_writes (
    connection text NOT NULL REFERENCES helpdesks (name) ON DELETE CASCADE,
    ticket text NOT NULL,
    statement_id bigint NOT NULL,
    version integer NOT NULL,
    action text NOT NULL,
    incident_id bigint NOT NULL,
    body text NOT NULL,
    status text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    sent_at timestamptz,
    PRIMARY KEY (connection, ticket, statement_id, version, action)
);
CREATE INDEX helpdesk_writes_open ON helpdesk_writes (connection, status);
CREATE INDEX helpdesk_writes_incident ON helpdesk_writes (incident_id);
