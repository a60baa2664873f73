-- Fault rules, per tenant (issue 10): what to match, the effect, how often. `seen` counts
-- the matching requests (the seeded draw of request n depends on the seed and n only),
-- `fired` how many were answered by the rule.
CREATE TABLE fault_rules (
    tenant      TEXT COLLATE "C" NOT NULL REFERENCES tenants(account_id) ON DELETE CASCADE,
    id          TEXT COLLATE "C" NOT NULL,
    created_seq BIGINT NOT NULL,
    rule        TEXT COLLATE "C" NOT NULL,
    seen        BIGINT NOT NULL DEFAULT 0,
    fired       BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX fault_rules_order ON fault_rules (tenant, created_seq);

-- The request journal: every dialect request of a tenant, a ring of the newest
-- --journal-size entries per tenant (written in batches, not per request)
CREATE TABLE requests (
    seq           BIGSERIAL PRIMARY KEY,
    tenant        TEXT COLLATE "C" NOT NULL,
    at            BIGINT NOT NULL,
    wall_at       BIGINT NOT NULL,
    request_id    TEXT COLLATE "C" NOT NULL,
    method        TEXT COLLATE "C" NOT NULL,
    path          TEXT COLLATE "C" NOT NULL,
    query         TEXT COLLATE "C",
    credential_id TEXT COLLATE "C",
    user_ref      TEXT COLLATE "C",
    operation     TEXT COLLATE "C",
    status        BIGINT NOT NULL,
    duration_us   BIGINT NOT NULL,
    error_code    TEXT COLLATE "C",
    fault         TEXT COLLATE "C"
);
CREATE INDEX requests_tenant ON requests (tenant, seq)
