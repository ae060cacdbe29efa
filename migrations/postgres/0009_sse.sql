-- Server-side encryption of object versions and multipart uploads (NULL sse_mode: stored in the clear).
-- sse_mode is AES256 (SSE-S3), aws:kms, aws:kms:dsse (SSE-KMS) or SSE-C; sse_key_id the KMS key (SSE-KMS);
-- sse_key the wrapped data key; sse_params the gateway's JSON (encryption context, bucket key, the salted
-- HMAC of an SSE-C key, part numbers). The blob (or inline_data) then holds only the sealed stream.
-- Keep in step with migrations/sqlite/0009_sse.sql.
ALTER TABLE objects ADD COLUMN sse_mode TEXT;
ALTER TABLE objects ADD COLUMN sse_key_id TEXT;
ALTER TABLE objects ADD COLUMN sse_key BYTEA;
ALTER TABLE objects ADD COLUMN sse_params TEXT;
ALTER TABLE uploads ADD COLUMN sse_mode TEXT;
ALTER TABLE uploads ADD COLUMN sse_key_id TEXT;
ALTER TABLE uploads ADD COLUMN sse_key BYTEA;
ALTER TABLE uploads ADD COLUMN sse_params TEXT;
