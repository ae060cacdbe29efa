-- Lifecycle worker leases: one gateway at a time applies a bucket's rules (`owner` holds the bucket until
-- `expires_ms`), resuming after the last key it finished (`cursor`; NULL: from the start).
-- Keep in step with migrations/postgres/0011_lifecycle.sql.
CREATE TABLE lifecycle_leases (
    bucket     TEXT    NOT NULL PRIMARY KEY REFERENCES buckets(name) ON DELETE CASCADE,
    owner      TEXT    NOT NULL,
    expires_ms INTEGER NOT NULL,
    cursor     TEXT
);
