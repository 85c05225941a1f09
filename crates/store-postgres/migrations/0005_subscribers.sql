-- Status page subscribers, the outbox of messages to them, and named cursors over the feed.
CREATE TABLE subscribers (
    seq             bigserial PRIMARY KEY,
    channel         text NOT NULL,
    address         text NOT NULL,
    lang            text,
    confirmed_at    timestamptz,
    unsubscribed_at timestamptz,
    created_at      timestamptz NOT NULL,
    CONSTRAINT subscribers_address_key UNIQUE (channel, address)
);

-- Written in the transaction that decides a message is owed (a subscription, a publication);
-- a worker sends what is due and records the outcome here.
CREATE TABLE outbox (
    seq             bigserial PRIMARY KEY,
    channel         text NOT NULL,
    recipient       text NOT NULL,
    subject         text NOT NULL,
    body            text NOT NULL,
    subscriber_id   bigint,
    created_at      timestamptz NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    sent_at         timestamptz,
    failed_at       timestamptz,
    last_error      text
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;

CREATE TABLE cursors (
    name text PRIMARY KEY,
    seq  bigint NOT NULL
);
