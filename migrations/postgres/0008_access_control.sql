-- Access control (issue 10): object ACLs (one row per object version that has an ACL other than the owner's
-- FULL_CONTROL alone; the row goes with its version), the ACL a multipart upload was created with, and
-- account-level settings (the account's Block Public Access). Bucket policy, bucket ACL, ownership controls
-- and the bucket's Block Public Access are rows of bucket_settings.
-- Keep in step with migrations/sqlite/0008_access_control.sql.
CREATE TABLE object_acls (
    bucket     TEXT COLLATE "C" NOT NULL,
    key        TEXT COLLATE "C" NOT NULL,
    version_id TEXT COLLATE "C" NOT NULL,
    acl        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (bucket, key, version_id),
    FOREIGN KEY (bucket, key, version_id) REFERENCES objects(bucket, key, version_id) ON DELETE CASCADE
);
ALTER TABLE uploads ADD COLUMN acl TEXT;
CREATE TABLE account_settings (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name       TEXT COLLATE "C" NOT NULL,
    value      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (account_id, name)
);
