-- Incidents, their links to signals, and the feed (timeline, live stream and webhook outbox).

-- The incident's fields live in `doc` (JSON, written by the shared rules in frontline-store);
-- the columns beside it are copies kept for filtering and ordering.
CREATE TABLE incidents (
    seq       INTEGER PRIMARY KEY,
    opened_at INTEGER NOT NULL,
    state     TEXT NOT NULL,
    severity  TEXT NOT NULL,
    doc       TEXT NOT NULL
);

CREATE INDEX incidents_opened_at_idx ON incidents (opened_at, seq);

-- A signal (alert, security event, contact, report) belongs to at most one incident.
-- `source` is '' for kinds that have none.
CREATE TABLE incident_links (
    seq         INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (seq),
    kind        TEXT NOT NULL,
    source      TEXT NOT NULL,
    ref_id      TEXT NOT NULL,
    linked_at   INTEGER NOT NULL,
    linked_by   TEXT NOT NULL,
    CONSTRAINT incident_links_signal_key UNIQUE (kind, source, ref_id)
);

CREATE INDEX incident_links_incident_idx ON incident_links (incident_id, seq);

-- Every change worth hearing about, in commit order (writers are serialised by
-- BEGIN IMMEDIATE, so rowids are gapless and increase in commit order).
CREATE TABLE feed (
    seq         INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    incident_id INTEGER,
    actor       TEXT NOT NULL,
    data        TEXT NOT NULL
);

CREATE INDEX feed_incident_idx ON feed (incident_id, seq);

-- Reports CX agents file: the fields in `doc` (JSON), with copies for filtering and ordering.
CREATE TABLE reports (
    seq      INTEGER PRIMARY KEY,
    filed_at INTEGER NOT NULL,
    state    TEXT NOT NULL,
    doc      TEXT NOT NULL
);

CREATE INDEX reports_filed_at_idx ON reports (filed_at, seq);

-- Signals people unlinked from an incident: the correlator does not link them again by itself.
CREATE TABLE unlinked_signals (
    kind   TEXT NOT NULL,
    source TEXT NOT NULL,
    ref_id TEXT NOT NULL,
    PRIMARY KEY (kind, source, ref_id)
);
