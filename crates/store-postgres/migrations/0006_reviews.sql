-- The written part of post-incident reviews (sections as JSON written by frontline-core).
CREATE TABLE reviews (
    incident_id bigint PRIMARY KEY REFERENCES incidents (seq),
    doc         text NOT NULL,
    updated_by  text NOT NULL,
    updated_at  timestamptz NOT NULL
);
