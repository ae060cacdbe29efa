-- The server keys that have sealed secrets in this database, by fingerprint (HMAC of the key, never the key).
-- The row with the highest seq is the deployment's current key: a gateway or admin command whose keyring
-- does not hold it refuses to start. Keep in step with migrations/sqlite/0005_server_keys.sql.
CREATE TABLE server_keys (
    fingerprint   TEXT   NOT NULL PRIMARY KEY,
    seq           BIGINT NOT NULL UNIQUE,
    registered_ms BIGINT NOT NULL
);
