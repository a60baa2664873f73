//! One function per query, in SQL both backends accept. Each takes the connection (a
//! transaction for writes) and returns domain types.

use serde_json::{Map, Value as Json};

use super::{Conn, Row, StoreError, Value};
use crate::domain::{
    App, AuditRecord, Credential, CredentialKind, Delegation, Device, IssuedToken, NewPrincipal, Principal, Provider,
    Status, Tenant, Timestamp, TokenKind,
};

type Result<T> = std::result::Result<T, StoreError>;

fn json_text(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

fn json_map(text: &str) -> Map<String, Json> {
    serde_json::from_str(text).unwrap_or_default()
}

fn json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

// ---------------------------------------------------------------- tenants

// The document lives in its own table (`tenant_documents`): requests read the tenant
// row all the time and need none of it; only create, reset and the control plane do.
const TENANT_COLUMNS: &str = "account_id, provider, plan, rate_limits, clock_offset_ms, created_at, clock_frozen_at";

fn tenant_from(row: &Row) -> Result<Tenant> {
    tenant_at(row, 0)
}

/// A tenant from [`TENANT_COLUMNS`] starting at column `at` (for joins).
fn tenant_at(row: &Row, at: usize) -> Result<Tenant> {
    let provider = Provider::parse(&row.text(at + 1)).ok_or_else(|| StoreError::other("unknown provider"))?;
    Ok(Tenant {
        account_id: row.text(at),
        provider,
        plan: row.text(at + 2),
        rate_limits: row.bool(at + 3),
        clock_offset_ms: row.int(at + 4),
        created_at: row.int(at + 5),
        clock_frozen_at: row.opt_int(at + 6),
    })
}

/// A tenant's (redacted) document: what it was created from, and what a reset restores.
pub fn get_tenant_document(c: &mut dyn Conn, account_id: &str) -> Result<Option<Json>> {
    let rows = c.query("SELECT document FROM tenant_documents WHERE account_id = $1", &[account_id.into()])?;
    rows.first()
        .map(|r| serde_json::from_str(&r.text(0)).map_err(|e| StoreError::other(format!("tenant document: {e}"))))
        .transpose()
}

pub fn insert_tenant(c: &mut dyn Conn, tenant: &Tenant, document: &Json) -> Result<()> {
    c.execute(
        "INSERT INTO tenants (account_id, provider, plan, rate_limits, clock_offset_ms, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            tenant.account_id.as_str().into(),
            tenant.provider.as_str().into(),
            tenant.plan.as_str().into(),
            tenant.rate_limits.into(),
            tenant.clock_offset_ms.into(),
            tenant.created_at.into(),
        ],
    )?;
    c.execute(
        "INSERT INTO tenant_documents (account_id, document) VALUES ($1, $2)",
        &[tenant.account_id.as_str().into(), json_text(document).into()],
    )?;
    Ok(())
}

pub fn get_tenant(c: &mut dyn Conn, account_id: &str) -> Result<Option<Tenant>> {
    let rows = c.query(&format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE account_id = $1"), &[account_id.into()])?;
    rows.first().map(tenant_from).transpose()
}

/// Reads a tenant to change it: on PostgreSQL the row stays locked until the
/// transaction ends, so concurrent changes from several nodes (clock advances, resets)
/// queue instead of overwriting each other.
pub fn get_tenant_for_update(c: &mut dyn Conn, account_id: &str) -> Result<Option<Tenant>> {
    let lock = for_update(c);
    let rows =
        c.query(&format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE account_id = $1{lock}"), &[account_id.into()])?;
    rows.first().map(tenant_from).transpose()
}

pub fn list_tenants(c: &mut dyn Conn) -> Result<Vec<Tenant>> {
    let rows = c.query(&format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY created_at, account_id"), &[])?;
    rows.iter().map(tenant_from).collect()
}

/// Deletes everything a tenant holds except the tenant row itself (for reset and delete).
pub fn clear_tenant_state(c: &mut dyn Conn, account_id: &str) -> Result<()> {
    for table in [
        "tokens",
        "revocations",
        "delegations",
        "devices",
        "apps",
        "settings",
        "credentials",
        "principals",
        "principal_counts",
    ] {
        c.execute(&format!("DELETE FROM {table} WHERE tenant = $1"), &[account_id.into()])?;
    }
    Ok(())
}

pub fn delete_tenant(c: &mut dyn Conn, account_id: &str) -> Result<bool> {
    clear_tenant_state(c, account_id)?;
    c.execute("DELETE FROM audit WHERE tenant = $1", &[account_id.into()])?;
    c.execute("DELETE FROM tenant_documents WHERE account_id = $1", &[account_id.into()])?;
    Ok(c.execute("DELETE FROM tenants WHERE account_id = $1", &[account_id.into()])? > 0)
}

/// Sets the clock running at the wall clock plus `offset_ms` (unfrozen).
pub fn set_clock_offset(c: &mut dyn Conn, account_id: &str, offset_ms: i64) -> Result<()> {
    c.execute(
        "UPDATE tenants SET clock_offset_ms = $1, clock_frozen_at = NULL WHERE account_id = $2",
        &[offset_ms.into(), account_id.into()],
    )?;
    Ok(())
}

// ---------------------------------------------------------------- principals

const PRINCIPAL_COLUMNS: &str = "tenant, id, email, first_name, last_name, license, role, status, attributes, \
     created_at, updated_at, session_epoch, sessions_revoked_at, sessions_revoked_reason, warp_epoch, \
     warp_revoked_at, last_login_at";

fn principal_from(row: &Row) -> Principal {
    Principal {
        tenant: row.text(0),
        id: row.text(1),
        email: row.text(2),
        first_name: row.text(3),
        last_name: row.text(4),
        license: row.int(5),
        role: row.text(6),
        status: Status::parse(&row.text(7)).unwrap_or(Status::Inactive),
        attributes: json_map(&row.text(8)),
        created_at: row.int(9),
        updated_at: row.int(10),
        session_epoch: row.int(11),
        sessions_revoked_at: row.opt_int(12),
        sessions_revoked_reason: row.opt_text(13),
        warp_epoch: row.int(14),
        warp_revoked_at: row.opt_int(15),
        last_login_at: row.opt_int(16),
    }
}

fn principal_row(tenant: &str, p: &NewPrincipal, now: Timestamp) -> Vec<Value> {
    vec![
        tenant.into(),
        p.id.as_str().into(),
        p.email.as_str().into(),
        p.first_name.as_str().into(),
        p.last_name.as_str().into(),
        p.license.into(),
        p.role.as_str().into(),
        p.status.as_str().into(),
        json_text(&p.attributes).into(),
        now.into(),
        now.into(),
    ]
}

const INSERT_PRINCIPALS: &str = "INSERT INTO principals (tenant, id, email, first_name, last_name, license, role, \
     status, attributes, created_at, updated_at)";

pub fn insert_principal(c: &mut dyn Conn, tenant: &str, p: &NewPrincipal, now: Timestamp) -> Result<()> {
    insert_principals(c, tenant, std::slice::from_ref(p), now)
}

/// Inserts many principals with few statements (a world of 100k users is a few hundred
/// multi-row inserts) and counts them in [`principal_counts`](count_principals).
pub fn insert_principals(c: &mut dyn Conn, tenant: &str, principals: &[NewPrincipal], now: Timestamp) -> Result<()> {
    insert_rows(c, INSERT_PRINCIPALS, principals.iter().map(|p| principal_row(tenant, p, now)))?;
    let mut counts: std::collections::BTreeMap<(&str, &str), i64> = Default::default();
    for p in principals {
        *counts.entry((p.status.as_str(), p.role.as_str())).or_default() += 1;
    }
    for ((status, role), n) in counts {
        add_to_count(c, tenant, status, role, n)?;
    }
    Ok(())
}

/// Rows per multi-row INSERT: few statements for a large world, well under both
/// backends' limits on bound parameters (SQLite 32,766; PostgreSQL 65,535).
const ROWS_PER_INSERT: usize = 500;

/// `head VALUES (...), (...), ...` in chunks of [`ROWS_PER_INSERT`] rows of equal width.
fn insert_rows(c: &mut dyn Conn, head: &str, rows: impl Iterator<Item = Vec<Value>>) -> Result<()> {
    let mut rows = rows.peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Value>> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        let width = chunk[0].len();
        let mut sql = String::with_capacity(head.len() + chunk.len() * width * 6);
        sql.push_str(head);
        sql.push_str(" VALUES ");
        for i in 0..chunk.len() {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for j in 0..width {
                if j > 0 {
                    sql.push_str(", ");
                }
                sql.push('$');
                sql.push_str(&(i * width + j + 1).to_string());
            }
            sql.push(')');
        }
        let params: Vec<Value> = chunk.into_iter().flatten().collect();
        c.execute(&sql, &params)?;
    }
    Ok(())
}

/// Adds `n` (negative to remove) to the number of a tenant's principals with this status and role.
fn add_to_count(c: &mut dyn Conn, tenant: &str, status: &str, role: &str, n: i64) -> Result<()> {
    c.execute(
        "INSERT INTO principal_counts (tenant, status, role, n) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant, status, role) DO UPDATE SET n = principal_counts.n + excluded.n",
        &[tenant.into(), status.into(), role.into(), n.into()],
    )?;
    Ok(())
}

/// ` FOR UPDATE` on PostgreSQL (SQLite has one writer, and no such clause).
fn for_update(c: &dyn Conn) -> &'static str {
    match c.backend() {
        super::Backend::Postgres => " FOR UPDATE",
        super::Backend::Sqlite => "",
    }
}

pub fn get_principal(c: &mut dyn Conn, tenant: &str, id: &str) -> Result<Option<Principal>> {
    let rows = c.query(
        &format!("SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE tenant = $1 AND id = $2"),
        &[tenant.into(), id.into()],
    )?;
    Ok(rows.first().map(principal_from))
}

/// Reads a principal to change it: on PostgreSQL the row stays locked until the
/// transaction ends, so concurrent updates from other nodes queue instead of losing
/// each other's changes (SQLite has one writer already).
pub fn get_principal_for_update(c: &mut dyn Conn, tenant: &str, id: &str) -> Result<Option<Principal>> {
    let lock = for_update(c);
    let rows = c.query(
        &format!("SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE tenant = $1 AND id = $2{lock}"),
        &[tenant.into(), id.into()],
    )?;
    Ok(rows.first().map(principal_from))
}

pub fn find_principal_by_email(c: &mut dyn Conn, tenant: &str, email: &str) -> Result<Option<Principal>> {
    let rows = c.query(
        &format!("SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE tenant = $1 AND email = $2"),
        &[tenant.into(), email.to_ascii_lowercase().into()],
    )?;
    Ok(rows.first().map(principal_from))
}

/// Which principals a status page lists: one status and, optionally, one role.
#[derive(Debug, Clone, Copy)]
pub struct StatusScope<'a> {
    pub status: Status,
    pub role: Option<&'a str>,
}

impl StatusScope<'_> {
    /// The WHERE clause (served by the `principals_status[_role]_email` indexes) and its
    /// parameters; further parameters start at `$len + 1`.
    fn condition(&self, tenant: &str) -> (&'static str, Vec<Value>) {
        let mut params = vec![tenant.into(), self.status.as_str().into()];
        match self.role {
            Some(role) => {
                params.push(role.into());
                ("tenant = $1 AND status = $2 AND role = $3", params)
            }
            None => ("tenant = $1 AND status = $2", params),
        }
    }
}

/// How many principals a scope holds, from the maintained counters (no scan).
pub fn count_principals(c: &mut dyn Conn, tenant: &str, scope: StatusScope) -> Result<i64> {
    let (condition, params) = scope.condition(tenant);
    let rows = c.query(
        &format!("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM principal_counts WHERE {condition}"),
        &params,
    )?;
    Ok(rows.first().map_or(0, |r| r.int(0)))
}

/// The email of the principal at `index` (from 0) of a scope in email order: where a
/// numbered page starts. Walks the index only, never loads the rows it skips.
pub fn email_at(c: &mut dyn Conn, tenant: &str, scope: StatusScope, index: u64) -> Result<Option<String>> {
    let (condition, mut params) = scope.condition(tenant);
    params.push(offset_value(index));
    let n = params.len();
    let rows = c.query(
        &format!("SELECT email FROM principals WHERE {condition} ORDER BY email LIMIT 1 OFFSET ${n}"),
        &params,
    )?;
    Ok(rows.first().map(|r| r.text(0)))
}

/// Up to `limit` principals of a scope in email order after `after_email` (a keyset page).
pub fn list_principals(
    c: &mut dyn Conn,
    tenant: &str,
    scope: StatusScope,
    after_email: &str,
    limit: u32,
) -> Result<Vec<Principal>> {
    let (condition, mut params) = scope.condition(tenant);
    params.push(after_email.into());
    params.push(i64::from(limit).into());
    let (after, limit) = (params.len() - 1, params.len());
    let rows = c.query(
        &format!(
            "SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE {condition} AND email > ${after}
             ORDER BY email LIMIT ${limit}"
        ),
        &params,
    )?;
    Ok(rows.iter().map(principal_from).collect())
}

/// An OFFSET as bound: past `i64::MAX` is past any table's end anyway.
fn offset_value(offset: u64) -> Value {
    i64::try_from(offset).unwrap_or(i64::MAX).into()
}

/// Every principal of a tenant (for summaries; tenants are small).
pub fn all_principals(c: &mut dyn Conn, tenant: &str) -> Result<Vec<Principal>> {
    let rows = c.query(&format!("SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE tenant = $1"), &[tenant.into()])?;
    Ok(rows.iter().map(principal_from).collect())
}

/// Stores a principal's profile, status and license as given, keeping the counters
/// right when its status or role changes.
pub fn update_principal(c: &mut dyn Conn, p: &Principal) -> Result<bool> {
    let lock = for_update(c);
    let before = c.query(
        &format!("SELECT status, role FROM principals WHERE tenant = $1 AND id = $2{lock}"),
        &[p.tenant.as_str().into(), p.id.as_str().into()],
    )?;
    let Some(before) = before.first() else { return Ok(false) };
    let (old_status, old_role) = (before.text(0), before.text(1));
    let changed = c.execute(
        "UPDATE principals SET email = $1, first_name = $2, last_name = $3, license = $4, role = $5, status = $6,
                attributes = $7, updated_at = $8, last_login_at = $9
         WHERE tenant = $10 AND id = $11",
        &[
            p.email.as_str().into(),
            p.first_name.as_str().into(),
            p.last_name.as_str().into(),
            p.license.into(),
            p.role.as_str().into(),
            p.status.as_str().into(),
            json_text(&p.attributes).into(),
            p.updated_at.into(),
            p.last_login_at.into(),
            p.tenant.as_str().into(),
            p.id.as_str().into(),
        ],
    )?;
    if changed > 0 && (old_status != p.status.as_str() || old_role != p.role) {
        // Counter rows are always locked in key order: two nodes moving users in
        // opposite directions (activate, deactivate) then queue instead of deadlocking.
        let mut moves = [((old_status.as_str(), old_role.as_str()), -1), ((p.status.as_str(), p.role.as_str()), 1)];
        moves.sort();
        for ((status, role), n) in moves {
            add_to_count(c, &p.tenant, status, role, n)?;
        }
    }
    Ok(changed > 0)
}

/// Ends every session of a principal: one increment, whatever their number, and one
/// row that remembers when and why. Returns false if there is no such principal.
pub fn revoke_sessions(c: &mut dyn Conn, tenant: &str, id: &str, at: Timestamp, reason: &str) -> Result<bool> {
    let changed = c.execute(
        "UPDATE principals SET session_epoch = session_epoch + 1, sessions_revoked_at = $1,
                sessions_revoked_reason = $2, updated_at = $1
         WHERE tenant = $3 AND id = $4",
        &[at.into(), reason.into(), tenant.into(), id.into()],
    )?;
    if changed == 0 {
        return Ok(false);
    }
    c.execute(
        "INSERT INTO revocations (tenant, principal, scope, epoch, at, reason)
         SELECT tenant, id, 'sessions', session_epoch, $1, $2 FROM principals WHERE tenant = $3 AND id = $4",
        &[at.into(), reason.into(), tenant.into(), id.into()],
    )?;
    Ok(true)
}

/// Ends every WARP session of a principal (they must log in again).
pub fn revoke_warp_sessions(c: &mut dyn Conn, tenant: &str, id: &str, at: Timestamp) -> Result<bool> {
    let changed = c.execute(
        "UPDATE principals SET warp_epoch = warp_epoch + 1, warp_revoked_at = $1 WHERE tenant = $2 AND id = $3",
        &[at.into(), tenant.into(), id.into()],
    )?;
    if changed == 0 {
        return Ok(false);
    }
    c.execute(
        "INSERT INTO revocations (tenant, principal, scope, epoch, at, reason)
         SELECT tenant, id, 'warp', warp_epoch, $1, 'warp_reauth_required' FROM principals
         WHERE tenant = $2 AND id = $3",
        &[at.into(), tenant.into(), id.into()],
    )?;
    Ok(true)
}

/// The revocation that started `epoch` of a principal's `scope` (`sessions` or `warp`):
/// when, and why.
pub fn find_revocation(
    c: &mut dyn Conn,
    tenant: &str,
    principal: &str,
    scope: &str,
    epoch: i64,
) -> Result<Option<(Timestamp, String)>> {
    let rows = c.query(
        "SELECT at, reason FROM revocations WHERE tenant = $1 AND principal = $2 AND scope = $3 AND epoch = $4",
        &[tenant.into(), principal.into(), scope.into(), epoch.into()],
    )?;
    Ok(rows.first().map(|r| (r.int(0), r.text(1))))
}

/// Retention: deletes up to `limit` of a tenant's revocations made before `before` that
/// no remaining token can need (introspection reads the revocation that ended a token's
/// epoch, so one is kept while any token of an older epoch of that principal remains).
pub fn prune_revocations(c: &mut dyn Conn, tenant: &str, before: Timestamp, limit: u32) -> Result<u64> {
    c.execute(
        "DELETE FROM revocations WHERE tenant = $1 AND (principal, scope, epoch) IN
             (SELECT r.principal, r.scope, r.epoch FROM revocations r
              WHERE r.tenant = $1 AND r.at < $2
                AND NOT EXISTS (SELECT 1 FROM tokens t
                                WHERE t.tenant = r.tenant AND t.principal = r.principal AND t.epoch < r.epoch)
              ORDER BY r.at LIMIT $3)",
        &[tenant.into(), before.into(), i64::from(limit).into()],
    )
}

pub fn delete_principal(c: &mut dyn Conn, tenant: &str, id: &str) -> Result<bool> {
    c.execute(
        "DELETE FROM delegations WHERE tenant = $1 AND (principal = $2 OR delegate = $2)",
        &[tenant.into(), id.into()],
    )?;
    c.execute("DELETE FROM devices WHERE tenant = $1 AND principal = $2", &[tenant.into(), id.into()])?;
    let deleted = c.query(
        "DELETE FROM principals WHERE tenant = $1 AND id = $2 RETURNING status, role",
        &[tenant.into(), id.into()],
    )?;
    let Some(row) = deleted.first() else { return Ok(false) };
    add_to_count(c, tenant, &row.text(0), &row.text(1), -1)?;
    Ok(true)
}

// ---------------------------------------------------------------- credentials

const CREDENTIAL_COLUMNS: &str = "tenant, id, kind, lookup, secret_hash, grants, owner, status, created_at, expires_at";

fn credential_from(row: &Row) -> Result<Credential> {
    Ok(Credential {
        tenant: row.text(0),
        id: row.text(1),
        kind: CredentialKind::parse(&row.text(2)).ok_or_else(|| StoreError::other("unknown credential kind"))?,
        lookup: row.text(3),
        secret_hash: row.text(4),
        grants: json_list(&row.text(5)),
        owner: row.opt_text(6),
        status: row.text(7),
        created_at: row.int(8),
        expires_at: row.opt_int(9),
    })
}

pub fn insert_credential(c: &mut dyn Conn, cred: &Credential) -> Result<()> {
    c.execute(
        "INSERT INTO credentials (tenant, id, kind, lookup, secret_hash, grants, owner, status, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            cred.tenant.as_str().into(),
            cred.id.as_str().into(),
            cred.kind.as_str().into(),
            cred.lookup.as_str().into(),
            cred.secret_hash.as_str().into(),
            json_text(&cred.grants).into(),
            cred.owner.clone().into(),
            cred.status.as_str().into(),
            cred.created_at.into(),
            cred.expires_at.into(),
        ],
    )?;
    Ok(())
}

/// Finds a credential by kind and lookup key (client id, token hash, key email).
pub fn find_credential(c: &mut dyn Conn, kind: CredentialKind, lookup: &str) -> Result<Option<Credential>> {
    let rows = c.query(
        &format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE kind = $1 AND lookup = $2"),
        &[kind.as_str().into(), lookup.into()],
    )?;
    rows.first().map(credential_from).transpose()
}

// ---------------------------------------------------------------- tokens

const TOKEN_COLUMNS: &str = "hash, tenant, kind, principal, credential, grants, epoch, issued_at, expires_at, subject, nonce, device_generation";

fn token_from(row: &Row) -> Result<IssuedToken> {
    Ok(IssuedToken {
        hash: row.text(0),
        tenant: row.text(1),
        kind: TokenKind::parse(&row.text(2)).ok_or_else(|| StoreError::other("unknown token kind"))?,
        principal: row.opt_text(3),
        credential: row.opt_text(4),
        grants: json_list(&row.text(5)),
        epoch: row.int(6),
        issued_at: row.int(7),
        expires_at: row.int(8),
        subject: row.opt_text(9),
        nonce: row.text(10),
        device_generation: row.opt_int(11),
    })
}

pub fn insert_token(c: &mut dyn Conn, token: &IssuedToken) -> Result<()> {
    c.execute(
        "INSERT INTO tokens (hash, tenant, kind, principal, credential, grants, epoch, issued_at, expires_at, subject, nonce,
                             device_generation)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            token.hash.as_str().into(),
            token.tenant.as_str().into(),
            token.kind.as_str().into(),
            token.principal.clone().into(),
            token.credential.clone().into(),
            json_text(&token.grants).into(),
            token.epoch.into(),
            token.issued_at.into(),
            token.expires_at.into(),
            token.subject.clone().into(),
            token.nonce.as_str().into(),
            token.device_generation.into(),
        ],
    )?;
    Ok(())
}

/// A token with its tenant and, if a credential issued it, whether that credential is
/// still active: what every authenticated request needs, in one query.
pub fn find_token_in_context(c: &mut dyn Conn, hash: &str) -> Result<Option<(IssuedToken, Tenant, Option<bool>)>> {
    let rows = c.query(
        "SELECT t.hash, t.tenant, t.kind, t.principal, t.credential, t.grants, t.epoch, t.issued_at, t.expires_at,
                t.subject, t.nonce, t.device_generation,
                n.account_id, n.provider, n.plan, n.rate_limits, n.clock_offset_ms, n.created_at, n.clock_frozen_at,
                CASE WHEN t.credential IS NULL THEN NULL WHEN c.status = 'active' THEN 1 ELSE 0 END
         FROM tokens t
         JOIN tenants n ON n.account_id = t.tenant
         LEFT JOIN credentials c ON c.tenant = t.tenant AND c.id = t.credential
         WHERE t.hash = $1",
        &[hash.into()],
    )?;
    let Some(row) = rows.first() else { return Ok(None) };
    let credential_alive = row.opt_int(19).map(|alive| alive != 0);
    Ok(Some((token_from(row)?, tenant_at(row, 12)?, credential_alive)))
}

/// A principal's tokens of one kind issued under `epoch` that have not expired.
pub fn live_tokens(
    c: &mut dyn Conn,
    tenant: &str,
    principal: &str,
    kind: TokenKind,
    epoch: i64,
    now: Timestamp,
) -> Result<Vec<IssuedToken>> {
    let rows = c.query(
        &format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens
             WHERE tenant = $1 AND principal = $2 AND kind = $3 AND epoch = $4 AND expires_at > $5
             ORDER BY issued_at, nonce"
        ),
        &[tenant.into(), principal.into(), kind.as_str().into(), epoch.into(), now.into()],
    )?;
    rows.iter().map(token_from).collect()
}

/// A principal's token of one kind by its nonce.
pub fn find_token_by_nonce(
    c: &mut dyn Conn,
    tenant: &str,
    principal: &str,
    nonce: &str,
) -> Result<Option<IssuedToken>> {
    let rows = c.query(
        &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE tenant = $1 AND principal = $2 AND nonce = $3"),
        &[tenant.into(), principal.into(), nonce.into()],
    )?;
    rows.first().map(token_from).transpose()
}

/// Retention: deletes up to `limit` of a tenant's tokens that expired before `before`;
/// returns how many went.
pub fn prune_expired_tokens(c: &mut dyn Conn, tenant: &str, before: Timestamp, limit: u32) -> Result<u64> {
    c.execute(
        "DELETE FROM tokens WHERE hash IN
             (SELECT hash FROM tokens WHERE tenant = $1 AND expires_at < $2 ORDER BY expires_at LIMIT $3)",
        &[tenant.into(), before.into(), i64::from(limit).into()],
    )
}

// ---------------------------------------------------------------- delegations

fn delegation_from(row: &Row) -> Delegation {
    Delegation {
        principal: row.text(0),
        delegate: row.text(1),
        can_manage_host_private_event: row.bool(2),
        created_at: row.int(3),
    }
}

/// Adds a delegation; returns false if it already existed.
pub fn insert_delegation(c: &mut dyn Conn, tenant: &str, d: &Delegation) -> Result<bool> {
    let added = c.execute(
        "INSERT INTO delegations (tenant, principal, delegate, can_manage_host_private_event, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant, principal, delegate) DO NOTHING",
        &[
            tenant.into(),
            d.principal.as_str().into(),
            d.delegate.as_str().into(),
            d.can_manage_host_private_event.into(),
            d.created_at.into(),
        ],
    )?;
    Ok(added > 0)
}

/// The delegates (assistants) of a principal.
pub fn delegates_of(c: &mut dyn Conn, tenant: &str, principal: &str) -> Result<Vec<Delegation>> {
    let rows = c.query(
        "SELECT principal, delegate, can_manage_host_private_event, created_at FROM delegations
         WHERE tenant = $1 AND principal = $2 ORDER BY created_at, delegate",
        &[tenant.into(), principal.into()],
    )?;
    Ok(rows.iter().map(delegation_from).collect())
}

/// The principals a delegate acts for (the delegate's schedulers).
pub fn principals_delegating_to(c: &mut dyn Conn, tenant: &str, delegate: &str) -> Result<Vec<Delegation>> {
    let rows = c.query(
        "SELECT principal, delegate, can_manage_host_private_event, created_at FROM delegations
         WHERE tenant = $1 AND delegate = $2 ORDER BY created_at, principal",
        &[tenant.into(), delegate.into()],
    )?;
    Ok(rows.iter().map(delegation_from).collect())
}

/// Removes delegations by principal and/or delegate; returns how many went.
pub fn delete_delegations(
    c: &mut dyn Conn,
    tenant: &str,
    principal: Option<&str>,
    delegate: Option<&str>,
) -> Result<u64> {
    c.execute(
        "DELETE FROM delegations WHERE tenant = $1 AND (CAST($2 AS TEXT) IS NULL OR principal = $2) AND (CAST($3 AS TEXT) IS NULL OR delegate = $3)",
        &[tenant.into(), principal.into(), delegate.into()],
    )
}

// ---------------------------------------------------------------- devices

const DEVICE_COLUMNS: &str =
    "tenant, id, device_id, principal, name, os, attributes, created_at, last_seen_at, revoked_at, generation";

fn device_from(row: &Row) -> Device {
    Device {
        tenant: row.text(0),
        id: row.text(1),
        device_id: row.text(2),
        principal: row.text(3),
        name: row.text(4),
        os: row.text(5),
        attributes: json_map(&row.text(6)),
        created_at: row.int(7),
        last_seen_at: row.opt_int(8),
        revoked_at: row.opt_int(9),
        generation: row.int(10),
    }
}

pub fn insert_device(c: &mut dyn Conn, d: &Device) -> Result<()> {
    c.execute(
        "INSERT INTO devices (tenant, id, device_id, principal, name, os, attributes, created_at, last_seen_at, revoked_at,
                              generation)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            d.tenant.as_str().into(),
            d.id.as_str().into(),
            d.device_id.as_str().into(),
            d.principal.as_str().into(),
            d.name.as_str().into(),
            d.os.as_str().into(),
            json_text(&d.attributes).into(),
            d.created_at.into(),
            d.last_seen_at.into(),
            d.revoked_at.into(),
            d.generation.into(),
        ],
    )?;
    Ok(())
}

/// Every device registration of a tenant, or of one principal, in id order.
pub fn list_devices(c: &mut dyn Conn, tenant: &str, principal: Option<&str>) -> Result<Vec<Device>> {
    list_devices_locked(c, tenant, principal, "created_at, id", "")
}

/// The device registrations of one principal, to change them: locked until the
/// transaction ends, in id order (as [`get_device_for_update`] callers lock several,
/// so that two transactions never wait on each other's rows).
pub fn list_devices_for_update(c: &mut dyn Conn, tenant: &str, principal: &str) -> Result<Vec<Device>> {
    let lock = for_update(c);
    list_devices_locked(c, tenant, Some(principal), "id", lock)
}

fn list_devices_locked(
    c: &mut dyn Conn,
    tenant: &str,
    principal: Option<&str>,
    order: &str,
    lock: &str,
) -> Result<Vec<Device>> {
    let rows = c.query(
        &format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE tenant = $1 AND (CAST($2 AS TEXT) IS NULL OR principal = $2)
             ORDER BY {order}{lock}"
        ),
        &[tenant.into(), principal.into()],
    )?;
    Ok(rows.iter().map(device_from).collect())
}

pub fn get_device(c: &mut dyn Conn, tenant: &str, id: &str) -> Result<Option<Device>> {
    get_device_locked(c, tenant, id, "")
}

/// [`get_device`] to change it: locked until the transaction ends.
pub fn get_device_for_update(c: &mut dyn Conn, tenant: &str, id: &str) -> Result<Option<Device>> {
    let lock = for_update(c);
    get_device_locked(c, tenant, id, lock)
}

fn get_device_locked(c: &mut dyn Conn, tenant: &str, id: &str, lock: &str) -> Result<Option<Device>> {
    let rows = c.query(
        &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE tenant = $1 AND id = $2{lock}"),
        &[tenant.into(), id.into()],
    )?;
    Ok(rows.first().map(device_from))
}

pub fn touch_device(c: &mut dyn Conn, tenant: &str, id: &str, at: Timestamp) -> Result<()> {
    c.execute(
        "UPDATE devices SET last_seen_at = $1 WHERE tenant = $2 AND id = $3",
        &[at.into(), tenant.into(), id.into()],
    )?;
    Ok(())
}

// ---------------------------------------------------------------- apps

fn app_from(row: &Row) -> App {
    App {
        tenant: row.text(0),
        id: row.text(1),
        name: row.text(2),
        domain: row.text(3),
        aud: row.text(4),
        kind: row.text(5),
        created_at: row.int(6),
    }
}

pub fn insert_app(c: &mut dyn Conn, app: &App) -> Result<()> {
    c.execute(
        "INSERT INTO apps (tenant, id, name, domain, aud, kind, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            app.tenant.as_str().into(),
            app.id.as_str().into(),
            app.name.as_str().into(),
            app.domain.as_str().into(),
            app.aud.as_str().into(),
            app.kind.as_str().into(),
            app.created_at.into(),
        ],
    )?;
    Ok(())
}

pub fn list_apps(c: &mut dyn Conn, tenant: &str) -> Result<Vec<App>> {
    let rows = c.query(
        "SELECT tenant, id, name, domain, aud, kind, created_at FROM apps WHERE tenant = $1 ORDER BY created_at, name",
        &[tenant.into()],
    )?;
    Ok(rows.iter().map(app_from).collect())
}

// ---------------------------------------------------------------- settings

/// A named settings document of a tenant (e.g. the Access organization).
pub struct Setting {
    pub document: Map<String, Json>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A tenant's named settings document, if it has one.
pub fn get_setting(c: &mut dyn Conn, tenant: &str, name: &str) -> Result<Option<Setting>> {
    let rows = c.query(
        "SELECT document, created_at, updated_at FROM settings WHERE tenant = $1 AND name = $2",
        &[tenant.into(), name.into()],
    )?;
    Ok(rows.first().map(|r| Setting { document: json_map(&r.text(0)), created_at: r.int(1), updated_at: r.int(2) }))
}

/// [`get_setting`] to change it: locked until the transaction ends.
pub fn get_setting_for_update(c: &mut dyn Conn, tenant: &str, name: &str) -> Result<Option<Setting>> {
    let lock = for_update(c);
    let rows = c.query(
        &format!("SELECT document, created_at, updated_at FROM settings WHERE tenant = $1 AND name = $2{lock}"),
        &[tenant.into(), name.into()],
    )?;
    Ok(rows.first().map(|r| Setting { document: json_map(&r.text(0)), created_at: r.int(1), updated_at: r.int(2) }))
}

/// Creates a settings document; false if the tenant already has one of that name (on
/// PostgreSQL a concurrent create from another node waits for this one, then finds it).
pub fn insert_setting(
    c: &mut dyn Conn,
    tenant: &str,
    name: &str,
    doc: &Map<String, Json>,
    now: Timestamp,
) -> Result<bool> {
    let inserted = c.execute(
        "INSERT INTO settings (tenant, name, document, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (tenant, name) DO NOTHING",
        &[tenant.into(), name.into(), json_text(doc).into(), now.into()],
    )?;
    Ok(inserted > 0)
}

/// Creates or replaces a settings document.
pub fn put_setting(c: &mut dyn Conn, tenant: &str, name: &str, doc: &Map<String, Json>, now: Timestamp) -> Result<()> {
    c.execute(
        "INSERT INTO settings (tenant, name, document, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (tenant, name) DO UPDATE SET document = $3, updated_at = $4",
        &[tenant.into(), name.into(), json_text(doc).into(), now.into()],
    )?;
    Ok(())
}

// ---------------------------------------------------------------- audit

pub fn insert_audit(
    c: &mut dyn Conn,
    tenant: &str,
    at: Timestamp,
    actor: &str,
    action: &str,
    target: &str,
    detail: &Json,
) -> Result<()> {
    c.execute(
        "INSERT INTO audit (tenant, at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        &[tenant.into(), at.into(), actor.into(), action.into(), target.into(), json_text(detail).into()],
    )?;
    Ok(())
}

/// The journal of a tenant after sequence number `after`, oldest first.
pub fn list_audit(c: &mut dyn Conn, tenant: &str, after: i64, limit: i64) -> Result<Vec<AuditRecord>> {
    let rows = c.query(
        "SELECT seq, tenant, at, actor, action, target, detail FROM audit
         WHERE tenant = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        &[tenant.into(), after.into(), limit.into()],
    )?;
    Ok(rows
        .iter()
        .map(|r| AuditRecord {
            seq: r.int(0),
            tenant: r.text(1),
            at: r.int(2),
            actor: r.text(3),
            action: r.text(4),
            target: r.text(5),
            detail: serde_json::from_str(&r.text(6)).unwrap_or(Json::Null),
        })
        .collect())
}

/// Retention: deletes the oldest of a tenant's journal records, up to `limit`, as long
/// as each is older than `before`. Only a prefix in sequence order goes (a reset moves
/// the clock back, so `at` is not monotonic): the journal never gets holes, and "since
/// the last reset" stays right for whatever remains. Returns how many went.
pub fn prune_audit(c: &mut dyn Conn, tenant: &str, before: Timestamp, limit: u32) -> Result<u64> {
    let oldest = c.query(
        "SELECT seq, at FROM audit WHERE tenant = $1 ORDER BY seq LIMIT $2",
        &[tenant.into(), i64::from(limit).into()],
    )?;
    let last = oldest.iter().take_while(|r| r.int(1) < before).last().map(|r| r.int(0));
    match last {
        Some(seq) => c.execute("DELETE FROM audit WHERE tenant = $1 AND seq <= $2", &[tenant.into(), seq.into()]),
        None => Ok(0),
    }
}

// ---------------------------------------------------------------- rate windows

/// What [`lease_rate_window`] granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLease {
    /// The window's hits after this lease (granted or not yet).
    pub hits: i64,
    pub window_start: Timestamp,
    /// How many hits this lease took (1 to the number asked for).
    pub granted: i64,
}

/// Takes up to `wanted` hits (at least 1, at most `limit`) for one node from `key`'s
/// window starting at `window_start`, never taking the window past `limit`. A newer
/// window replaces the stored one; a request from an older window (a node a little
/// behind) takes from the newer one. `None` when the window is full. One statement:
/// atomic on its own (in SET, the stored row's columns are the values before it).
pub fn lease_rate_window(
    c: &mut dyn Conn,
    key: &str,
    window_start: Timestamp,
    window_ms: i64,
    limit: i64,
    wanted: i64,
) -> Result<Option<RateLease>> {
    let rows = c.query(
        "INSERT INTO rate_windows (key, window_start, window_ms, hits, granted) VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (key) DO UPDATE SET
             granted = CASE WHEN rate_windows.window_start < excluded.window_start THEN excluded.granted
                            WHEN $5 - rate_windows.hits < excluded.granted THEN $5 - rate_windows.hits
                            ELSE excluded.granted END,
             hits = CASE WHEN rate_windows.window_start < excluded.window_start THEN excluded.hits
                         WHEN $5 - rate_windows.hits < excluded.granted THEN $5
                         ELSE rate_windows.hits + excluded.granted END,
             window_start = CASE WHEN rate_windows.window_start < excluded.window_start
                                 THEN excluded.window_start ELSE rate_windows.window_start END,
             window_ms = excluded.window_ms
         WHERE rate_windows.window_start < excluded.window_start OR rate_windows.hits < $5
         RETURNING hits, window_start, granted",
        // SQLite numbers `$N` parameters in order of first appearance: $4 comes before $5.
        &[key.into(), window_start.into(), window_ms.into(), wanted.clamp(1, limit.max(1)).into(), limit.into()],
    )?;
    Ok(rows.first().map(|r| RateLease { hits: r.int(0), window_start: r.int(1), granted: r.int(2) }))
}

/// The stored window of `key`: its start and its hits.
pub fn get_rate_window(c: &mut dyn Conn, key: &str) -> Result<Option<(Timestamp, i64)>> {
    let rows = c.query("SELECT window_start, hits FROM rate_windows WHERE key = $1", &[key.into()])?;
    Ok(rows.first().map(|r| (r.int(0), r.int(1))))
}

/// Forgets windows that ended before `before`; returns how many.
pub fn delete_rate_windows_ended_before(c: &mut dyn Conn, before: Timestamp) -> Result<u64> {
    c.execute("DELETE FROM rate_windows WHERE window_start + window_ms < $1", &[before.into()])
}

// ---------------------------------------------------------------- Cloudflare-facing reads and writes

/// Filters for a page of principals: exact email, exact name, and a substring search.
#[derive(Debug, Clone, Default)]
pub struct PrincipalFilter {
    pub email: Option<String>,
    pub name: Option<String>,
    pub search: Option<String>,
}

impl PrincipalFilter {
    /// The WHERE clause and its parameters, naming only the filters given (so that an
    /// exact email is an index lookup, and no filter walks the email index in order).
    fn condition(&self, tenant: &str) -> (String, Vec<Value>) {
        let mut sql = String::from("tenant = $1");
        let mut params: Vec<Value> = vec![tenant.into()];
        if let Some(email) = &self.email {
            params.push(email.to_ascii_lowercase().into());
            sql.push_str(&format!(" AND email = ${}", params.len()));
        }
        if let Some(name) = &self.name {
            params.push(name.trim().to_lowercase().into());
            sql.push_str(&format!(" AND lower(trim(first_name || ' ' || last_name)) = ${}", params.len()));
        }
        if let Some(search) = &self.search {
            params.push(format!("%{}%", search.to_lowercase()).into());
            let n = params.len();
            sql.push_str(&format!(" AND (lower(email) LIKE ${n} OR lower(first_name || ' ' || last_name) LIKE ${n})"));
        }
        (sql, params)
    }

    fn is_empty(&self) -> bool {
        self.email.is_none() && self.name.is_none() && self.search.is_none()
    }
}

/// A page of principals in email order, `skip` from the start (page-numbered lists),
/// each with its number of live (unrevoked) device registrations. The start is found on
/// the email index without loading the rows skipped; the page is then a keyset read.
pub fn page_principals(
    c: &mut dyn Conn,
    tenant: &str,
    filter: &PrincipalFilter,
    skip: u64,
    limit: u32,
) -> Result<Vec<(Principal, i64)>> {
    let (condition, mut params) = filter.condition(tenant);
    let mut after = String::new();
    if skip > 0 {
        let mut start = params.clone();
        start.push(offset_value(skip - 1));
        let n = start.len();
        let rows = c.query(
            &format!("SELECT email FROM principals WHERE {condition} ORDER BY email LIMIT 1 OFFSET ${n}"),
            &start,
        )?;
        match rows.first() {
            Some(row) => after = row.text(0),
            None => return Ok(Vec::new()),
        }
    }
    params.push(after.into());
    params.push(i64::from(limit).into());
    let (after, limit) = (params.len() - 1, params.len());
    let rows = c.query(
        &format!(
            "SELECT {PRINCIPAL_COLUMNS},
                    (SELECT count(*) FROM devices d
                     WHERE d.tenant = principals.tenant AND d.principal = principals.id AND d.revoked_at IS NULL)
             FROM principals WHERE {condition} AND email > ${after} ORDER BY email LIMIT ${limit}"
        ),
        &params,
    )?;
    Ok(rows.iter().map(|r| (principal_from(r), r.int(17))).collect())
}

/// How many principals match a [`PrincipalFilter`]: from the counters without filters,
/// else counted (an exact email is one index lookup; a name or search scans the tenant).
pub fn count_filtered_principals(c: &mut dyn Conn, tenant: &str, filter: &PrincipalFilter) -> Result<i64> {
    let rows = if filter.is_empty() {
        c.query("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM principal_counts WHERE tenant = $1", &[tenant.into()])?
    } else {
        let (condition, params) = filter.condition(tenant);
        c.query(&format!("SELECT count(*) FROM principals WHERE {condition}"), &params)?
    };
    Ok(rows.first().map_or(0, |r| r.int(0)))
}

/// Stores a registration's revocation time and generation, last-seen time and
/// attributes as given (read it with [`get_device_for_update`] first).
pub fn update_device(c: &mut dyn Conn, d: &Device) -> Result<bool> {
    let changed = c.execute(
        "UPDATE devices SET revoked_at = $1, last_seen_at = $2, attributes = $3, generation = $4
         WHERE tenant = $5 AND id = $6",
        &[
            d.revoked_at.into(),
            d.last_seen_at.into(),
            json_text(&d.attributes).into(),
            d.generation.into(),
            d.tenant.as_str().into(),
            d.id.as_str().into(),
        ],
    )?;
    Ok(changed > 0)
}

/// A principal's most recently issued token of the given kinds.
pub fn latest_token(
    c: &mut dyn Conn,
    tenant: &str,
    principal: &str,
    kinds: [TokenKind; 2],
) -> Result<Option<IssuedToken>> {
    let rows = c.query(
        &format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens WHERE tenant = $1 AND principal = $2 AND (kind = $3 OR kind = $4)
             ORDER BY issued_at DESC, nonce DESC LIMIT 1"
        ),
        &[tenant.into(), principal.into(), kinds[0].as_str().into(), kinds[1].as_str().into()],
    )?;
    rows.first().map(token_from).transpose()
}

/// The newest journal records of one action on one target since the tenant was last
/// created or reset (the state a reset goes back to had none), newest first.
pub fn list_audit_for(
    c: &mut dyn Conn,
    tenant: &str,
    action: &str,
    target: &str,
    limit: i64,
) -> Result<Vec<AuditRecord>> {
    let rows = c.query(
        "SELECT seq, tenant, at, actor, action, target, detail FROM audit
         WHERE tenant = $1 AND action = $2 AND target = $3
           AND seq > (SELECT COALESCE(MAX(seq), 0) FROM audit
                      WHERE tenant = $1 AND (action = 'tenant.created' OR action = 'tenant.reset'))
         ORDER BY seq DESC LIMIT $4",
        &[tenant.into(), action.into(), target.into(), limit.into()],
    )?;
    Ok(rows
        .iter()
        .map(|r| AuditRecord {
            seq: r.int(0),
            tenant: r.text(1),
            at: r.int(2),
            actor: r.text(3),
            action: r.text(4),
            target: r.text(5),
            detail: serde_json::from_str(&r.text(6)).unwrap_or(Json::Null),
        })
        .collect())
}
