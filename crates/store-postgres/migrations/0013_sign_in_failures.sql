-- Failed sign-ins in a row, per account and per client, shared by every node on the database:
-- ten wrong passwords spread over three nodes lock the account as on one.
CREATE TABLE sign_in_failures (
    key          text PRIMARY KEY,
    failures     integer NOT NULL,
    locked_until timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
