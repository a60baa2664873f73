use serde_json::Value as Json;

use super::super::{Conn, Row};
use super::{Result, json_text};
use crate::domain::{AuditRecord, Timestamp};

fn audit_from(r: &Row) -> AuditRecord {
    AuditRecord {
        seq: r.int(0),
        tenant: r.text(1),
        at: r.int(2),
        actor: r.text(3),
        action: r.text(4),
        target: r.text(5),
        detail: serde_json::from_str(&r.text(6)).unwrap_or(Json::Null),
    }
}

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
    Ok(rows.iter().map(audit_from).collect())
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
    Ok(rows.iter().map(audit_from).collect())
}
