-- Topics people corrected on a contact: kept (before and after, who, when) so the learned
-- classifier can be trained further on them (`frontline taxonomy train --feedback`).
CREATE TABLE topic_corrections (
    seq     bigserial PRIMARY KEY,
    source  text NOT NULL,
    ext_id  text NOT NULL,
    before  jsonb NOT NULL,
    after   jsonb NOT NULL,
    actor   text NOT NULL,
    at      timestamptz NOT NULL
);
CREATE INDEX topic_corrections_contact_idx ON topic_corrections (source, ext_id);
