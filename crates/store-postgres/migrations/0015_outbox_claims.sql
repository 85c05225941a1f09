-- The outbox is shared, not leader-only: a node claims webhooks to follow and messages to send
-- (FOR UPDATE SKIP LOCKED, so claimers never wait on each other) under a token until a time on
-- the database's clock, and settles them only under the same token. A lapsed claim may be
-- taken by anyone.
ALTER TABLE webhooks ADD COLUMN claim_token text, ADD COLUMN claimed_until timestamptz;
ALTER TABLE outbox ADD COLUMN claim_token text, ADD COLUMN claimed_until timestamptz;
