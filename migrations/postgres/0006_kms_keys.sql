-- Keys of the local (embedded) KMS backend: one row per key, one per key version (the 256-bit material sealed
-- by the server keyring, never in clear), and per-account aliases. Keys are global to the deployment (ids are
-- unique); each records its owning account. Keep in step with migrations/sqlite/0006_kms_keys.sql.
CREATE TABLE kms_keys (
    key_id      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    account_id  TEXT   NOT NULL,
    description TEXT   NOT NULL DEFAULT '',
    state       TEXT   NOT NULL,
    created_ms  BIGINT NOT NULL
);
CREATE INDEX kms_keys_account ON kms_keys (account_id, key_id);
CREATE TABLE kms_key_versions (
    key_id          TEXT COLLATE "C" NOT NULL REFERENCES kms_keys(key_id) ON DELETE CASCADE,
    version         BIGINT NOT NULL,
    material_sealed BYTEA  NOT NULL,
    created_ms      BIGINT NOT NULL,
    PRIMARY KEY (key_id, version)
);
CREATE TABLE kms_aliases (
    account_id TEXT   NOT NULL,
    alias      TEXT COLLATE "C" NOT NULL,
    key_id     TEXT COLLATE "C" NOT NULL REFERENCES kms_keys(key_id) ON DELETE CASCADE,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (account_id, alias)
);
