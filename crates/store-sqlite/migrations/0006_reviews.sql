-- The written part of post-incident reviews (sections as JSON written by frontline-core).
CREATE TABLE reviews (
    incident_id INTEGER PRIMARY KEY REFERENCES incidents (seq),
    doc         TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
