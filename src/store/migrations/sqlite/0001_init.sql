-- Tenants: one provider account each, addressed by account_id
CREATE TABLE tenants (
    account_id      TEXT PRIMARY KEY,
    provider        TEXT NOT NULL,
    plan            TEXT NOT NULL,
    rate_limits     INTEGER NOT NULL,
    clock_offset_ms INTEGER NOT NULL DEFAULT 0,
    document        TEXT NOT NULL,
    created_at      INTEGER NOT NULL
) WITHOUT ROWID;

-- Principals: the users who hold sessions
CREATE TABLE principals (
    tenant                  TEXT NOT NULL REFERENCES tenants(account_id) ON DELETE CASCADE,
    id                      TEXT NOT NULL,
    email                   TEXT NOT NULL,
    first_name              TEXT NOT NULL,
    last_name               TEXT NOT NULL,
    license                 INTEGER NOT NULL,
    role                    TEXT NOT NULL,
    status                  TEXT NOT NULL,
    attributes              TEXT NOT NULL,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    session_epoch           INTEGER NOT NULL DEFAULT 0,
    sessions_revoked_at     INTEGER,
    sessions_revoked_reason TEXT,
    warp_epoch              INTEGER NOT NULL DEFAULT 0,
    warp_revoked_at         INTEGER,
    last_login_at           INTEGER,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, email)
) WITHOUT ROWID;

-- Credentials API callers authenticate with, secrets only as hashes
CREATE TABLE credentials (
    tenant      TEXT NOT NULL REFERENCES tenants(account_id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    lookup      TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    grants      TEXT NOT NULL,
    owner       TEXT,
    status      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX credentials_lookup ON credentials (kind, lookup);

-- Every bearer token userplane issues, by hash
CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL REFERENCES tenants(account_id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    principal  TEXT,
    credential TEXT,
    grants     TEXT NOT NULL,
    epoch      INTEGER NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    subject    TEXT,
    nonce      TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX tokens_principal ON tokens (tenant, principal, kind);

-- Delegations: delegate acts for principal (Zoom assistants and schedulers)
CREATE TABLE delegations (
    tenant                        TEXT NOT NULL REFERENCES tenants(account_id) ON DELETE CASCADE,
    principal                     TEXT NOT NULL,
    delegate                      TEXT NOT NULL,
    can_manage_host_private_event INTEGER NOT NULL,
    created_at                    INTEGER NOT NULL,
    PRIMARY KEY (tenant, principal, delegate)
) WITHOUT ROWID;
CREATE INDEX delegations_delegate ON delegations (tenant, delegate);

-- Device registrations (WARP)
CREATE TABLE devices (
    tenant       TEXT NOT NULL REFERENCES tenants(account_id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    principal    TEXT NOT NULL,
    name         TEXT NOT NULL,
    os           TEXT NOT NULL,
    attributes   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER,
    revoked_at   INTEGER,
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE INDEX devices_principal ON devices (tenant, principal);

-- Applications users log in to (Access apps)
CREATE TABLE apps (
    tenant     TEXT NOT NULL REFERENCES tenants(account_id) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    name       TEXT NOT NULL,
    domain     TEXT NOT NULL,
    aud        TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;

-- Provider-specific singleton settings of a tenant (the Access organization)
CREATE TABLE settings (
    tenant     TEXT NOT NULL REFERENCES tenants(account_id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    document   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, name)
) WITHOUT ROWID;

-- Each revocation of a principal's sessions: the epoch it started and why, so that
-- introspection can say exactly when and why a given token died
CREATE TABLE revocations (
    tenant    TEXT NOT NULL REFERENCES tenants(account_id) ON DELETE CASCADE,
    principal TEXT NOT NULL,
    scope     TEXT NOT NULL,
    epoch     INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    reason    TEXT NOT NULL,
    PRIMARY KEY (tenant, principal, scope, epoch)
) WITHOUT ROWID;

-- The audit journal, written in the transaction of each change
CREATE TABLE audit (
    seq    INTEGER PRIMARY KEY, -- rowid: increasing, without AUTOINCREMENT's extra page write per insert
    tenant TEXT NOT NULL,
    at     INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_tenant ON audit (tenant, seq)
