-- Text compares and sorts byte by byte (COLLATE "C"), as on SQLite, whatever the
-- database's default collation: lists and pages come out in the same order on both.

-- Tenants: one provider account each, addressed by account_id
CREATE TABLE tenants (
    account_id      TEXT COLLATE "C" PRIMARY KEY,
    provider        TEXT COLLATE "C" NOT NULL,
    plan            TEXT COLLATE "C" NOT NULL,
    rate_limits     BIGINT NOT NULL,
    clock_offset_ms BIGINT NOT NULL DEFAULT 0,
    document        TEXT COLLATE "C" NOT NULL,
    created_at      BIGINT NOT NULL
);

-- Principals: the users who hold sessions
CREATE TABLE principals (
    tenant                  TEXT COLLATE "C" NOT NULL REFERENCES tenants(account_id) ON DELETE CASCADE,
    id                      TEXT COLLATE "C" NOT NULL,
    email                   TEXT COLLATE "C" NOT NULL,
    first_name              TEXT COLLATE "C" NOT NULL,
    last_name               TEXT COLLATE "C" NOT NULL,
    license                 BIGINT NOT NULL,
    role                    TEXT COLLATE "C" NOT NULL,
    status                  TEXT COLLATE "C" NOT NULL,
    attributes              TEXT COLLATE "C" NOT NULL,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL,
    session_epoch           BIGINT NOT NULL DEFAULT 0,
    sessions_revoked_at     BIGINT,
    sessions_revoked_reason TEXT COLLATE "C",
    warp_epoch              BIGINT NOT NULL DEFAULT 0,
    warp_revoked_at         BIGINT,
    last_login_at           BIGINT,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, email)
);

-- Credentials API callers authenticate with, secrets only as hashes
CREATE TABLE credentials (
    tenant      TEXT COLLATE "C" NOT NULL REFERENCES tenants(account_id) ON DELETE CASCADE,
    id          TEXT COLLATE "C" NOT NULL,
    kind        TEXT COLLATE "C" NOT NULL,
    lookup      TEXT COLLATE "C" NOT NULL,
    secret_hash TEXT COLLATE "C" NOT NULL,
    grants      TEXT COLLATE "C" NOT NULL,
    owner       TEXT COLLATE "C",
    status      TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    PRIMARY KEY (tenant, id)
);
CREATE UNIQUE INDEX credentials_lookup ON credentials (kind, lookup);

-- Every bearer token userplane issues, by hash
CREATE TABLE tokens (
    hash       TEXT COLLATE "C" PRIMARY KEY,
    tenant     TEXT COLLATE "C" NOT NULL REFERENCES tenants(account_id) ON DELETE CASCADE,
    kind       TEXT COLLATE "C" NOT NULL,
    principal  TEXT COLLATE "C",
    credential TEXT COLLATE "C",
    grants     TEXT COLLATE "C" NOT NULL,
    epoch      BIGINT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    subject    TEXT COLLATE "C",
    nonce      TEXT COLLATE "C" NOT NULL
);
CREATE INDEX tokens_principal ON tokens (tenant, principal, kind);

-- Delegations: delegate acts for principal (Zoom assistants and schedulers)
CREATE TABLE delegations (
    tenant                        TEXT COLLATE "C" NOT NULL REFERENCES tenants(account_id) ON DELETE CASCADE,
    principal                     TEXT COLLATE "C" NOT NULL,
    delegate                      TEXT COLLATE "C" NOT NULL,
    can_manage_host_private_event BIGINT NOT NULL,
    created_at                    BIGINT NOT NULL,
    PRIMARY KEY (tenant, principal, delegate)
);
CREATE INDEX delegations_delegate ON delegations (tenant, delegate);

-- Device registrations (WARP)
CREATE TABLE devices (
    tenant       TEXT COLLATE "C" NOT NULL REFERENCES tenants(account_id) ON DELETE CASCADE,
    id           TEXT COLLATE "C" NOT NULL,
    device_id    TEXT COLLATE "C" NOT NULL,
    principal    TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    os           TEXT COLLATE "C" NOT NULL,
    attributes   TEXT COLLATE "C" NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT,
    revoked_at   BIGINT,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX devices_principal ON devices (tenant, principal);

-- Applications users log in to (Access apps)
CREATE TABLE apps (
    tenant     TEXT COLLATE "C" NOT NULL REFERENCES tenants(account_id) ON DELETE CASCADE,
    id         TEXT COLLATE "C" NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,
    domain     TEXT COLLATE "C" NOT NULL,
    aud        TEXT COLLATE "C" NOT NULL,
    kind       TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- Provider-specific singleton settings of a tenant (the Access organization)
CREATE TABLE settings (
    tenant     TEXT COLLATE "C" NOT NULL REFERENCES tenants(account_id) ON DELETE CASCADE,
    name       TEXT COLLATE "C" NOT NULL,
    document   TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, name)
);

-- Each revocation of a principal's sessions: the epoch it started and why, so that
-- introspection can say exactly when and why a given token died
CREATE TABLE revocations (
    tenant    TEXT COLLATE "C" NOT NULL REFERENCES tenants(account_id) ON DELETE CASCADE,
    principal TEXT COLLATE "C" NOT NULL,
    scope     TEXT COLLATE "C" NOT NULL,
    epoch     BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    reason    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant, principal, scope, epoch)
);

-- The audit journal, written in the transaction of each change
CREATE TABLE audit (
    seq    BIGSERIAL PRIMARY KEY,
    tenant TEXT COLLATE "C" NOT NULL,
    at     BIGINT NOT NULL,
    actor  TEXT COLLATE "C" NOT NULL,
    action TEXT COLLATE "C" NOT NULL,
    target TEXT COLLATE "C" NOT NULL,
    detail TEXT COLLATE "C" NOT NULL
);
CREATE INDEX audit_tenant ON audit (tenant, seq)
