-- Incidents, their links to signals, reports, and the feed (timeline, live stream and webhook
-- outbox). See the SQLite migration of the same name for the meaning of each table.

CREATE TABLE incidents (
    seq       bigint PRIMARY KEY,
    opened_at timestamptz NOT NULL,
    state     text NOT NULL,
    severity  text NOT NULL,
    doc       jsonb NOT NULL
);
CREATE INDEX incidents_opened_at_idx ON incidents (opened_at, seq);
CREATE SEQUENCE incident_ids;

CREATE TABLE incident_links (
    seq         bigserial PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incidents (seq),
    kind        text NOT NULL,
    source      text NOT NULL,
    ref_id      text NOT NULL,
    linked_at   timestamptz NOT NULL,
    linked_by   text NOT NULL,
    CONSTRAINT incident_links_signal_key UNIQUE (kind, source, ref_id)
);
CREATE INDEX incident_links_incident_idx ON incident_links (incident_id, seq);

-- `seq` is assigned as last + 1 under the audit chain's advisory lock, so it is gapless and in
-- commit order even with several writers (a sequence would be neither).
CREATE TABLE feed (
    seq         bigint PRIMARY KEY,
    at          timestamptz NOT NULL,
    kind        text NOT NULL,
    incident_id bigint,
    actor       text NOT NULL,
    data        jsonb NOT NULL
);
CREATE INDEX feed_incident_idx ON feed (incident_id, seq);

CREATE TABLE reports (
    seq      bigserial PRIMARY KEY,
    filed_at timestamptz NOT NULL,
    state    text NOT NULL,
    doc      jsonb NOT NULL
);
CREATE INDEX reports_filed_at_idx ON reports (filed_at, seq);

-- Signals people unlinked from an incident: the correlator does not link them again by itself.
CREATE TABLE unlinked_signals (
    kind   text NOT NULL,
    source text NOT NULL,
    ref_id text NOT NULL,
    PRIMARY KEY (kind, source, ref_id)
);
