-- Leases with fencing: an epoch that grows whenever the holder changes (a leader-only write
-- names it, and is refused once it moved on), a log of every holder's time, and the nodes
-- that share the database. Every time here is the database's clock (now()).
ALTER TABLE leases ADD COLUMN epoch bigint NOT NULL DEFAULT 0;

CREATE TABLE leadership_log (
    name    text NOT NULL,
    epoch   bigint NOT NULL,
    holder  text NOT NULL,
    from_at timestamptz NOT NULL,
    to_at   timestamptz,
    PRIMARY KEY (name, epoch)
);

CREATE TABLE nodes (
    id         text PRIMARY KEY,
    version    text NOT NULL,
    listen     text NOT NULL,
    started_at timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL
);
