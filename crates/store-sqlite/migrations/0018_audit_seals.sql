-- The erasable audit record format (see frontline_core::audit): records from now on are
-- format 2, whose hash covers salted commitments to the personal fields (actor, target,
-- client) kept in `seals` (JSON: a commitment and a salt per field). Erasing a person deletes
-- the field and its salt; the chain still verifies. Records already written stay format 1.
ALTER TABLE audit_log ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit_log ADD COLUMN seals TEXT;
