-- The tenant document leaves the tenants row: every authenticated lookup and every
-- foreign-key check reads that row, and with a large document (a 100k-user world)
-- each of them copied megabytes. Only create, reset and the control plane read it.
CREATE TABLE tenant_documents (
    account_id TEXT PRIMARY KEY REFERENCES tenants(account_id) ON DELETE CASCADE,
    document   TEXT NOT NULL
);
INSERT INTO tenant_documents (account_id, document) SELECT account_id, document FROM tenants;
ALTER TABLE tenants DROP COLUMN document;

-- How many principals each tenant has by status and role, kept in the transaction of
-- every insert, delete and status or role change: a page's total without a count(*)
-- over the tenant
CREATE TABLE principal_counts (
    tenant TEXT NOT NULL REFERENCES tenants(account_id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    role   TEXT NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (tenant, status, role)
) WITHOUT ROWID;
INSERT INTO principal_counts (tenant, status, role, n)
    SELECT tenant, status, role, count(*) FROM principals GROUP BY tenant, status, role;

-- Pages by status (and role) in email order, found without walking other users
CREATE INDEX principals_status_email ON principals (tenant, status, email);
CREATE INDEX principals_status_role_email ON principals (tenant, status, role, email);

-- Retention: a tenant's expired tokens, oldest first
CREATE INDEX tokens_expiry ON tokens (tenant, expires_at);

-- Retention: a tenant's revocations, oldest first
CREATE INDEX revocations_at ON revocations (tenant, at)
