-- An import, restore or migration into this database that has not finished: written before
-- the first row, removed only once every table reads back as written. `serve` refuses a
-- database that holds one, so a half-copied installation is never served as if whole. Not in
-- the portable export: it describes this database, not the installation.
CREATE TABLE import_state (
    id         bigint PRIMARY KEY CHECK (id = 1),
    source     text NOT NULL,
    started_at timestamptz NOT NULL
);
