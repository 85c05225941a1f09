-- Status page subscribers, the outbox of messages to them, and named cursors over the feed.
CREATE TABLE subscribers (
    seq             INTEGER PRIMARY KEY,
    channel         TEXT NOT NULL,
    address         TEXT NOT NULL,
    lang            TEXT,
    confirmed_at    INTEGER,
    unsubscribed_at INTEGER,
    created_at      INTEGER NOT NULL,
    CONSTRAINT subscribers_address_key UNIQUE (channel, address)
);

-- Written in the transaction that decides a message is owed (a subscription, a publication);
-- a worker sends what is due and records the outcome here.
CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY,
    channel         TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    subscriber_id   INTEGER,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    sent_at         INTEGER,
    failed_at       INTEGER,
    last_error      TEXT
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;

CREATE TABLE cursors (
    name TEXT PRIMARY KEY,
    seq  INTEGER NOT NULL
);
