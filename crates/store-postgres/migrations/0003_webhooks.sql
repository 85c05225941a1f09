-- Outbound webhooks and their deliveries. A webhook's `cursor` is the feed seq up to which
-- every entry is delivered, failed or not wanted; the delivery worker follows the feed from
-- there, one entry at a time, so notifications arrive in feed order and a restart resumes
-- at the first entry not yet settled.
CREATE TABLE webhooks (
    seq        bigserial PRIMARY KEY,
    url        text NOT NULL,
    -- Needed in clear to sign each delivery.
    secret     text NOT NULL,
    format     text NOT NULL,
    -- JSON array of feed kinds, or ["*"].
    events     text NOT NULL,
    cursor     bigint NOT NULL,
    created_at timestamptz NOT NULL,
    created_by text NOT NULL,
    deleted_at timestamptz
);

CREATE TABLE deliveries (
    seq              bigserial PRIMARY KEY,
    webhook_id       bigint NOT NULL REFERENCES webhooks (seq),
    feed_seq         bigint NOT NULL,
    kind             text NOT NULL,
    incident_id      bigint,
    idempotency_key  text NOT NULL,
    status           text NOT NULL,
    attempts         integer NOT NULL,
    last_status      integer,
    last_error       text,
    first_attempt_at timestamptz NOT NULL,
    last_attempt_at  timestamptz NOT NULL,
    next_attempt_at  timestamptz,
    delivered_at     timestamptz,
    CONSTRAINT deliveries_webhook_feed_key UNIQUE (webhook_id, feed_seq)
);
