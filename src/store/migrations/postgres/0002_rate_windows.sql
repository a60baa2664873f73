-- Fixed-window rate-limit counters shared by every node: one row per key, holding
-- the current window. UNLOGGED: counters need no WAL and no fsync (a database crash
-- resets them, which only forgives some requests), so a hit costs one cheap statement.
CREATE UNLOGGED TABLE rate_windows (
    key          TEXT COLLATE "C" PRIMARY KEY,
    window_start BIGINT NOT NULL,
    window_ms    BIGINT NOT NULL,
    hits         BIGINT NOT NULL
)
