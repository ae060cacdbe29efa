-- Object tags (a JSON array of [key, value] pairs in the order given), the multipart upload an object was
-- completed from (so a repeated CompleteMultipartUpload answers like the first), the tags named when an upload
-- was created, and per-bucket settings (tagging now; later CORS, policy, ...) as one row per setting.
-- Keep in step with migrations/sqlite/0003_tags_settings.sql.
ALTER TABLE objects ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE objects ADD COLUMN upload_id TEXT;
ALTER TABLE uploads ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
CREATE TABLE bucket_settings (
    bucket TEXT COLLATE "C" NOT NULL REFERENCES buckets(name) ON DELETE CASCADE,
    name   TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (bucket, name)
);
