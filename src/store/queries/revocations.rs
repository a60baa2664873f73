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
