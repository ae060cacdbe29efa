-- Small objects' bytes kept in the index row itself (then `segments` is '[]'). Keep in step with
-- migrations/sqlite/0002_inline_data.sql. Listings never select this column (TOAST keeps it out of line).
ALTER TABLE objects ADD COLUMN inline_data BYTEA;
