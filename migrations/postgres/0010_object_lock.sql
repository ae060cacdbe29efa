-- Object Lock (WORM) per version: retention mode ('GOVERNANCE' | 'COMPLIANCE') with its retain-until time, and
-- the legal hold (NULL: never set, 0: OFF, 1: ON). An upload carries what its completed version gets (JSON).
-- Keep in step with migrations/sqlite/0010_object_lock.sql.
ALTER TABLE objects ADD COLUMN lock_mode TEXT;
ALTER TABLE objects ADD COLUMN lock_until_ms BIGINT;
ALTER TABLE objects ADD COLUMN legal_hold BIGINT;
ALTER TABLE uploads ADD COLUMN object_lock TEXT;
