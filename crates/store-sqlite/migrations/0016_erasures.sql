-- The erasure ledger: each request to erase a customer's data (GDPR Article 17), by the
-- customer's pseudonym (never the id as the source sent it), who asked, when, and what was
-- removed (JSON counts). Kept so a restore from an older backup can apply it again.
-- Contacts get no index on their customer for it: erasures are rare and a scan is fine, while
-- an index would cost every contact taken in.
CREATE TABLE erasures (
    seq          INTEGER PRIMARY KEY,
    pseudonym    TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    actor        TEXT NOT NULL,
    counts       TEXT NOT NULL
);
