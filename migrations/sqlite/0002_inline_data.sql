-- Small objects' bytes kept in the index row itself (then `segments` is '[]'). Keep in step with
-- migrations/postgres/0002_inline_data.sql. Listings never select this column.
ALTER TABLE objects ADD COLUMN inline_data BLOB;
