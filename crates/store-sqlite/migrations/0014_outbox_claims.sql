-- The outbox is shared, not leader-only: a node claims webhooks to follow and messages to send
-- under a token until a time (microseconds since the Unix epoch), and settles them only under
-- the same token. A lapsed claim may be taken by anyone.
ALTER TABLE webhooks ADD COLUMN claim_token TEXT;
ALTER TABLE webhooks ADD COLUMN claimed_until INTEGER;
ALTER TABLE outbox ADD COLUMN claim_token TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until INTEGER;
