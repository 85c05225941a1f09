-- Topics people corrected on a contact: kept (before and after, who, when) so the learned
-- classifier can be trained further on them (`frontline taxonomy train --feedback`).
CREATE TABLE topic_corrections (
    seq     INTEGER PRIMARY KEY,
    source  TEXT NOT NULL,
    ext_id  TEXT NOT NULL,
    before  TEXT NOT NULL,
    after   TEXT NOT NULL,
    actor   TEXT NOT NULL,
    at      INTEGER NOT NULL
);
CREATE INDEX topic_corrections_contact_idx ON topic_corrections (source, ext_id);
