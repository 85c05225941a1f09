-- Alert families: the alerts of one wave (spike, theme, cluster) share the id of its first
-- alert; a spike watched in one language names it.
ALTER TABLE alerts ADD COLUMN language TEXT;
ALTER TABLE alerts ADD COLUMN group_id TEXT;
CREATE INDEX alerts_group_id_idx ON alerts (group_id);
