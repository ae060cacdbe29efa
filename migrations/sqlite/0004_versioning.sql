-- Versioning: noncurrent versions keep their rows (is_latest = 0); a delete marker is a version row with
-- delete_marker = 1 and no data; seq orders the versions of a key (newest highest), also for "null" versions,
-- whose id says nothing about their age. Keep in step with migrations/postgres/0004_versioning.sql.
ALTER TABLE objects ADD COLUMN delete_marker INTEGER NOT NULL DEFAULT 0;
ALTER TABLE objects ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX objects_versions ON objects(bucket, key, seq);
