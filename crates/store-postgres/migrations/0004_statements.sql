-- Statements and status page components; see the SQLite migration of the same name.
CREATE TABLE statements (
    seq          bigserial PRIMARY KEY,
    incident_id  bigint NOT NULL REFERENCES incidents (seq),
    audience     text NOT NULL,
    published_at timestamptz,
    doc          jsonb NOT NULL
);
CREATE INDEX statements_incident_idx ON statements (incident_id, seq);
CREATE INDEX statements_published_idx ON statements (audience, published_at);

CREATE TABLE components (
    name       text PRIMARY KEY,
    status     text NOT NULL,
    updated_at timestamptz NOT NULL,
    updated_by text NOT NULL
);
