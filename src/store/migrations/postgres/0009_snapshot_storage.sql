-- A snapshot's document is stored out of line without compression: pglz compressing a
-- 700 kB document (a 1,000-user tenant) took most of a snapshot's time, for a table of
-- at most a few documents per tenant. (PostgreSQL 13 has no lz4 to choose instead.)
ALTER TABLE snapshots ALTER COLUMN data SET STORAGE EXTERNAL
