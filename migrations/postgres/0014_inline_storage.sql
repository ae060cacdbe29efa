-- Small objects' bytes (`inline_data`, up to 64 KiB) are kept out of line in TOAST without compression: object
-- bytes are mostly already compressed or random, and trying pglz on every write cost ~10% of Postgres's CPU on
-- 4 KiB PUTs (it fails, then stores them uncompressed anyway). Postgres only: SQLite never compresses.
ALTER TABLE objects ALTER COLUMN inline_data SET STORAGE EXTERNAL;
