-- RestoreObject of versions in archive storage classes: the restored copy is readable from `ready_ms` (a
-- restore in progress before that) until `expiry_ms`. Keep in step with migrations/sqlite/0013_restores.sql.
CREATE TABLE object_restores (
    bucket     TEXT   NOT NULL,
    key        TEXT   NOT NULL,
    version_id TEXT   NOT NULL,
    ready_ms   BIGINT NOT NULL,
    expiry_ms  BIGINT NOT NULL,
    PRIMARY KEY (bucket, key, version_id),
    FOREIGN KEY (bucket, key, version_id) REFERENCES objects(bucket, key, version_id) ON DELETE CASCADE
);
