-- The client address of changes made through the API (records before this have none).
ALTER TABLE audit_log ADD COLUMN client text;
