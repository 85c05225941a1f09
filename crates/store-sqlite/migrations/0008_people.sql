-- People who sign in: an argon2id hash (PHC string) and whether it was set by someone else.
ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN must_change INTEGER NOT NULL DEFAULT 0;

-- Browser sessions: only a SHA-256 digest of each secret is kept.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    digest     BLOB NOT NULL,
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    client     TEXT
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
