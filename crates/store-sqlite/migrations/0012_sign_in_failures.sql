-- Failed sign-ins in a row, per account and per client, shared by every node on the database:
-- ten wrong passwords spread over three nodes lock the account as on one. Times are
-- microseconds since the Unix epoch.
CREATE TABLE sign_in_failures (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    locked_until INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
