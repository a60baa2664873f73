use super::super::Conn;
use super::Result;
use crate::domain::Timestamp;

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

/// Ends every token a principal holds under a named revocation `scope` (one a dialect
/// declares, such as WARP sessions): one increment of that scope's epoch, and one row
/// that remembers when and why. Returns false if there is no such principal.
pub fn revoke_scope(
    c: &mut dyn Conn,
    tenant: &str,
    id: &str,
    scope: &str,
    at: Timestamp,
    reason: &str,
) -> Result<bool> {
    let exists = c.query("SELECT 1 FROM principals WHERE tenant = $1 AND id = $2", &[tenant.into(), id.into()])?;
    if exists.is_empty() {
        return Ok(false);
    }
    c.execute(
        "INSERT INTO scope_epochs (tenant, principal, scope, epoch, revoked_at) VALUES ($1, $2, $3, 1, $4)
         ON CONFLICT (tenant, principal, scope) DO UPDATE SET epoch = scope_epochs.epoch + 1, revoked_at = $4",
        &[tenant.into(), id.into(), scope.into(), at.into()],
    )?;
    c.execute(
        "INSERT INTO revocations (tenant, principal, scope, epoch, at, reason)
         SELECT tenant, principal, scope, epoch, $1, $2 FROM scope_epochs
         WHERE tenant = $3 AND principal = $4 AND scope = $5",
        &[at.into(), reason.into(), tenant.into(), id.into(), scope.into()],
    )?;
    Ok(true)
}

/// A principal's current epoch of a named revocation scope, and when it last moved
/// (epoch 0, never, without a row).
pub fn scope_epoch(c: &mut dyn Conn, tenant: &str, principal: &str, scope: &str) -> Result<(i64, Option<Timestamp>)> {
    let rows = c.query(
        "SELECT epoch, revoked_at FROM scope_epochs WHERE tenant = $1 AND principal = $2 AND scope = $3",
        &[tenant.into(), principal.into(), scope.into()],
    )?;
    Ok(rows.first().map_or((0, None), |r| (r.int(0), r.opt_int(1))))
}

/// The revocation that started `epoch` of a principal's `scope` (`sessions` or a named one):
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
