use super::super::{Conn, Row};
use super::Result;
use crate::domain::Delegation;

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
