-- Leases with fencing: an epoch that grows whenever the holder changes (a leader-only write
-- names it, and is refused once it moved on), a log of every holder's time, and the nodes
-- that share the database. Times are microseconds since the Unix epoch.
ALTER TABLE leases ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;

CREATE TABLE leadership_log (
    name    TEXT NOT NULL,
    epoch   INTEGER NOT NULL,
    holder  TEXT NOT NULL,
    from_at INTEGER NOT NULL,
    to_at   INTEGER,
    PRIMARY KEY (name, epoch)
);

CREATE TABLE nodes (
    id         TEXT PRIMARY KEY,
    version    TEXT NOT NULL,
    listen     TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
);
