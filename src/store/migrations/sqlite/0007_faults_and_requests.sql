-- Fault rules, per tenant (issue 10): what to match, the effect, how often. `seen` counts
-- the matching requests (the seeded draw of request n depends on the seed and n only),
-- `fired` how many were answered by the rule.
CREATE TABLE fault_rules (
    tenant      TEXT NOT NULL REFERENCES tenants(account_id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    created_seq INTEGER NOT NULL,
    rule        TEXT NOT NULL,
    seen        INTEGER NOT NULL DEFAULT 0,
    fired       INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX fault_rules_order ON fault_rules (tenant, created_seq);

-- The request journal: every dialect request of a tenant, a ring of the newest
-- --journal-size entries per tenant (written in batches, not per request)
CREATE TABLE requests (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant        TEXT NOT NULL,
    at            INTEGER NOT NULL,
    wall_at       INTEGER NOT NULL,
    request_id    TEXT NOT NULL,
    method        TEXT NOT NULL,
    path          TEXT NOT NULL,
    query         TEXT,
    credential_id TEXT,
    user_ref      TEXT,
    operation     TEXT,
    status        INTEGER NOT NULL,
    duration_us   INTEGER NOT NULL,
    error_code    TEXT,
    fault         TEXT
);
CREATE INDEX requests_tenant ON requests (tenant, seq)
