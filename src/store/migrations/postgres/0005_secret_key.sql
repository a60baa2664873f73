-- The installation key under which secrets are hashed (HMAC-SHA256, hex), one row,
-- created by the first node that opens the database and shared by all of them.
-- A database that already holds tenants gets an empty key: its secrets were stored as
-- plain SHA-256 and keep verifying as such (a new database gets keyed hashes).
CREATE TABLE installation_secret (id INTEGER PRIMARY KEY CHECK (id = 1), hmac_key TEXT NOT NULL);
INSERT INTO installation_secret (id, hmac_key) SELECT 1, '' WHERE EXISTS (SELECT 1 FROM tenants)
