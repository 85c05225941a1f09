-- People who sign in: an argon2id hash (PHC string) and whether it was set by someone else.
ALTER TABLE users ADD COLUMN password_hash text;
ALTER TABLE users ADD COLUMN must_change boolean NOT NULL DEFAULT false;

-- Browser sessions: only a SHA-256 digest of each secret is kept.
CREATE TABLE sessions (
    id         text PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id),
    digest     bytea NOT NULL,
    csrf       text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    client     text
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
