-- A tenant's clock can stand still: the instant it is frozen at (NULL: it runs, at the
-- wall clock plus clock_offset_ms).
ALTER TABLE tenants ADD COLUMN clock_frozen_at BIGINT;

-- Named snapshots of a tenant's whole state (src/store/snapshots.rs): one JSON document
-- per snapshot holding every tenant-scoped row, at most a few per tenant (see
-- harness::snapshots::MAX_PER_TENANT).
CREATE TABLE snapshots (
    tenant     TEXT NOT NULL REFERENCES tenants(account_id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    size       BIGINT NOT NULL,
    data       TEXT NOT NULL,
    PRIMARY KEY (tenant, name)
)
