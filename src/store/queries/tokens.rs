use std::sync::LazyLock;

use super::super::{Conn, Row};
use super::principals::{principal_at, principal_columns};
use super::tenants::{tenant_at, tenant_columns};
use super::{Result, json_list, json_text};
use crate::domain::{IssuedToken, Principal, Timestamp, TokenInContext, TokenKind};

const TOKEN_COLUMNS: &str = "hash, tenant, kind, principal, credential, grants, epoch, issued_at, expires_at, subject, nonce, device_generation, scope";

fn token_from(row: &Row) -> Result<IssuedToken> {
    Ok(IssuedToken {
        hash: row.text(0),
        tenant: row.text(1),
        kind: TokenKind::parse(&row.text(2)),
        principal: row.opt_text(3),
        credential: row.opt_text(4),
        grants: json_list(&row.text(5)),
        epoch: row.int(6),
        issued_at: row.int(7),
        expires_at: row.int(8),
        subject: row.opt_text(9),
        nonce: row.text(10),
        device_generation: row.opt_int(11),
        scope: row.opt_text(12),
    })
}

pub fn insert_token(c: &mut dyn Conn, token: &IssuedToken) -> Result<()> {
    c.execute(
        "INSERT INTO tokens (hash, tenant, kind, principal, credential, grants, epoch, issued_at, expires_at, subject, nonce,
                             device_generation, scope)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
            token.scope.clone().into(),
        ],
    )?;
    Ok(())
}

// A token with its tenant and whether the credential that issued it is still active.
static TOKEN_IN_CONTEXT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "t.hash, t.tenant, t.kind, t.principal, t.credential, t.grants, t.epoch, t.issued_at,
         t.expires_at, t.subject, t.nonce, t.device_generation, t.scope, {},
         CASE WHEN t.credential IS NULL THEN NULL WHEN c.status = 'active' THEN 1 ELSE 0 END",
        tenant_columns("n")
    )
});
const TOKEN_IN_CONTEXT_FROM: &str = "FROM tokens t
     JOIN tenants n ON n.account_id = t.tenant
     LEFT JOIN credentials c ON c.tenant = t.tenant AND c.id = t.credential";
/// The columns of [`TOKEN_IN_CONTEXT`].
const TOKEN_IN_CONTEXT_LEN: usize = 22;

fn token_in_context(row: &Row) -> Result<TokenInContext> {
    let credential_alive = row.opt_int(TOKEN_IN_CONTEXT_LEN - 1).map(|alive| alive != 0);
    Ok((token_from(row)?, tenant_at(row, 13)?, credential_alive))
}

/// A token with its tenant and, if a credential issued it, whether that credential is
/// still active: what every authenticated request needs, in one query.
pub fn find_token_in_context(c: &mut dyn Conn, hash: &str) -> Result<Option<TokenInContext>> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {} {TOKEN_IN_CONTEXT_FROM} WHERE t.hash = $1", *TOKEN_IN_CONTEXT));
    let rows = c.query(&SQL, &[hash.into()])?;
    rows.first().map(token_in_context).transpose()
}

/// [`find_token_in_context`], and the principal `key` of the token's tenant (an id, or an
/// email if it has an `@`), in the same query.
pub fn find_token_in_context_and_principal(
    c: &mut dyn Conn,
    hash: &str,
    key: &str,
) -> Result<Option<(TokenInContext, Option<Principal>)>> {
    static BY_ID: LazyLock<String> = LazyLock::new(|| with_principal("p.id = $2"));
    static BY_EMAIL: LazyLock<String> = LazyLock::new(|| with_principal("p.email = $2"));
    fn with_principal(condition: &str) -> String {
        format!(
            "SELECT {}, {} {TOKEN_IN_CONTEXT_FROM}
             LEFT JOIN principals p ON p.tenant = t.tenant AND {condition}
             WHERE t.hash = $1",
            *TOKEN_IN_CONTEXT,
            principal_columns("p")
        )
    }
    let (sql, key) = if key.contains('@') { (&*BY_EMAIL, key.to_ascii_lowercase()) } else { (&*BY_ID, key.to_owned()) };
    let rows = c.query(sql, &[hash.into(), key.into()])?;
    let Some(row) = rows.first() else { return Ok(None) };
    // The principal's id (its second column) is NULL when the join found none.
    let principal = row.opt_text(TOKEN_IN_CONTEXT_LEN + 1).map(|_| principal_at(row, TOKEN_IN_CONTEXT_LEN));
    Ok(Some((token_in_context(row)?, principal)))
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

/// A principal's most recently issued token of the given kinds.
pub fn latest_token(
    c: &mut dyn Conn,
    tenant: &str,
    principal: &str,
    kinds: &[TokenKind; 2],
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
