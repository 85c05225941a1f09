-- Requests counted per key in fixed windows, shared by every node on the database (the public
-- subscribe form's limit per client address). Times are microseconds since the Unix epoch.
CREATE TABLE request_windows (
    key          TEXT PRIMARY KEY,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL
);
