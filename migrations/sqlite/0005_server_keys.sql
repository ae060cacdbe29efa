-- The server keys that have sealed secrets in this database, by fingerprint (HMAC of the key, never the key).
-- The row with the highest seq is the deployment's current key: a gateway or admin command whose keyring
-- does not hold it refuses to start. Keep in step with migrations/postgres/0005_server_keys.sql.
CREATE TABLE server_keys (
    fingerprint   TEXT    NOT NULL PRIMARY KEY,
    seq           INTEGER NOT NULL UNIQUE,
    registered_ms INTEGER NOT NULL
);
