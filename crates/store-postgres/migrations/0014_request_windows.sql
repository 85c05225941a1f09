-- Requests counted per key in fixed windows, shared by every node on the database (the public
-- subscribe form's limit per client address).
CREATE TABLE request_windows (
    key          text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    count        integer NOT NULL
);
