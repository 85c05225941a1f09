-- Every transaction that appends to the feed announces the new head on `frontline_feed` when
-- it commits (NOTIFY is transactional), once per statement, never per row: each node's
-- listener then wakes its live streams, webhook worker and status page at once instead of at
-- its next poll.
CREATE FUNCTION frontline_feed_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('frontline_feed', (SELECT max(seq) FROM appended)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER feed_notify AFTER INSERT ON feed
    REFERENCING NEW TABLE AS appended
    FOR EACH STATEMENT EXECUTE FUNCTION frontline_feed_notify();
