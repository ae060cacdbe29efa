-- Gatehouse metadata schema (Postgres). Keep in step with migrations/sqlite/0001_init.sql.
-- Object keys use COLLATE "C" so that ORDER BY and range scans follow UTF-8 byte order.

CREATE TABLE accounts (
    id            TEXT   NOT NULL PRIMARY KEY,
    name          TEXT   NOT NULL UNIQUE,
    canonical_id  TEXT   NOT NULL UNIQUE,
    display_name  TEXT   NOT NULL,
    email         TEXT   UNIQUE,
    created_ms    BIGINT NOT NULL
);

CREATE TABLE access_keys (
    access_key_id TEXT   NOT NULL PRIMARY KEY,
    secret_sealed BYTEA  NOT NULL,
    account_id    TEXT   NOT NULL REFERENCES accounts(id),
    user_name     TEXT,
    status        TEXT   NOT NULL,
    created_ms    BIGINT NOT NULL
);
CREATE INDEX access_keys_account ON access_keys(account_id, user_name);

CREATE TABLE buckets (
    name             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    owner_account_id TEXT   NOT NULL,
    region           TEXT   NOT NULL,
    created_ms       BIGINT NOT NULL
);
CREATE INDEX buckets_owner ON buckets(owner_account_id, name);

-- One row per object version; is_latest = 1 marks the current version (at most one per key).
CREATE TABLE objects (
    bucket             TEXT COLLATE "C" NOT NULL REFERENCES buckets(name),
    key                TEXT COLLATE "C" NOT NULL,
    version_id         TEXT COLLATE "C" NOT NULL,
    is_latest          INTEGER NOT NULL,
    size               BIGINT  NOT NULL,
    etag               TEXT    NOT NULL,
    last_modified_ms   BIGINT  NOT NULL,
    headers            TEXT    NOT NULL,
    user_meta          TEXT    NOT NULL,
    checksums          TEXT    NOT NULL,
    segments           TEXT    NOT NULL,
    storage_class      TEXT    NOT NULL,
    owner_canonical_id TEXT    NOT NULL,
    PRIMARY KEY (bucket, key, version_id)
);
CREATE UNIQUE INDEX objects_latest ON objects(bucket, key) WHERE is_latest = 1;

-- Blob locators of object segments (segments themselves are JSON in the object row): lets the orphan
-- sweep ask "is this blob referenced" through an index.
CREATE TABLE object_blobs (
    bucket     TEXT COLLATE "C" NOT NULL,
    key        TEXT COLLATE "C" NOT NULL,
    version_id TEXT COLLATE "C" NOT NULL,
    locator    TEXT NOT NULL,
    PRIMARY KEY (bucket, key, version_id, locator),
    FOREIGN KEY (bucket, key, version_id) REFERENCES objects(bucket, key, version_id) ON DELETE CASCADE
);
CREATE INDEX object_blobs_locator ON object_blobs(locator);

CREATE TABLE uploads (
    upload_id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    bucket             TEXT COLLATE "C" NOT NULL REFERENCES buckets(name),
    key                TEXT COLLATE "C" NOT NULL,
    initiated_ms       BIGINT NOT NULL,
    headers            TEXT   NOT NULL,
    user_meta          TEXT   NOT NULL,
    checksum_algorithm TEXT,
    checksum_type      TEXT,
    storage_class      TEXT   NOT NULL,
    owner_canonical_id TEXT   NOT NULL
);
CREATE INDEX uploads_listing ON uploads(bucket, key, initiated_ms, upload_id);

CREATE TABLE parts (
    upload_id        TEXT COLLATE "C" NOT NULL REFERENCES uploads(upload_id),
    part_number      INTEGER NOT NULL,
    size             BIGINT  NOT NULL,
    etag             TEXT    NOT NULL,
    last_modified_ms BIGINT  NOT NULL,
    checksums        TEXT    NOT NULL,
    locator          TEXT    NOT NULL,
    PRIMARY KEY (upload_id, part_number)
);
CREATE INDEX parts_locator ON parts(locator);
