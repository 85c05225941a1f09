-- Statements (versions, approvals and publications live in `doc`, JSON written by the shared
-- rules in frontline-core) and status page components.
CREATE TABLE statements (
    seq          INTEGER PRIMARY KEY,
    incident_id  INTEGER NOT NULL REFERENCES incidents (seq),
    audience     TEXT NOT NULL,
    -- The latest publication, for the status page and talking points.
    published_at INTEGER,
    doc          TEXT NOT NULL
);
CREATE INDEX statements_incident_idx ON statements (incident_id, seq);
CREATE INDEX statements_published_idx ON statements (audience, published_at);

CREATE TABLE components (
    name       TEXT PRIMARY KEY,
    status     TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);
