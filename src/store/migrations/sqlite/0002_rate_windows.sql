-- Fixed-window rate-limit counters shared by every node. On SQLite (one node) the
-- limiter counts in process and leaves this table empty; it exists so that both
-- backends have the same schema.
CREATE TABLE rate_windows (
    key          TEXT PRIMARY KEY,
    window_start INTEGER NOT NULL,
    window_ms    INTEGER NOT NULL,
    hits         INTEGER NOT NULL
)
