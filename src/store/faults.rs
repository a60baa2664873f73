//! Fault rules: one row per rule, its canonical JSON plus two counters bumped in SQL.

use super::{Conn, Row, StoreError};
use crate::domain::Timestamp;

type Result<T> = std::result::Result<T, StoreError>;

/// A rule as stored: its canonical JSON (the harness reads it back) and its counters.
pub struct StoredRule {
    pub id: String,
    pub rule: serde_json::Value,
    pub seen: u64,
    pub fired: u64,
    pub created_at: Timestamp,
}

fn rule_from(row: &Row) -> Result<StoredRule> {
    let rule = serde_json::from_str(&row.text(1)).map_err(|e| StoreError::other(format!("fault rule: {e}")))?;
    Ok(StoredRule {
        id: row.text(0),
        rule,
        seen: u64::try_from(row.int(2)).unwrap_or(0),
        fired: u64::try_from(row.int(3)).unwrap_or(0),
        created_at: row.int(4),
    })
}

/// A tenant's rules in the order they were created (the order they are tried in).
pub fn list(c: &mut dyn Conn, tenant: &str) -> Result<Vec<StoredRule>> {
    let rows = c.query(
        "SELECT id, rule, seen, fired, created_at FROM fault_rules WHERE tenant = $1 ORDER BY created_seq, id",
        &[tenant.into()],
    )?;
    rows.iter().map(rule_from).collect()
}

pub fn count(c: &mut dyn Conn, tenant: &str) -> Result<u64> {
    let rows = c.query("SELECT count(*) FROM fault_rules WHERE tenant = $1", &[tenant.into()])?;
    Ok(rows.first().map_or(0, |r| u64::try_from(r.int(0)).unwrap_or(0)))
}

pub fn insert(c: &mut dyn Conn, tenant: &str, id: &str, rule: &serde_json::Value, at: Timestamp) -> Result<()> {
    c.execute(
        "INSERT INTO fault_rules (tenant, id, created_seq, rule, created_at)
         VALUES ($1, $2, (SELECT COALESCE(MAX(created_seq), 0) + 1 FROM fault_rules WHERE tenant = $1), $3, $4)",
        &[tenant.into(), id.into(), rule.to_string().into(), at.into()],
    )?;
    Ok(())
}

/// Deletes one rule; false if there was none by that id.
pub fn delete(c: &mut dyn Conn, tenant: &str, id: &str) -> Result<bool> {
    Ok(c.execute("DELETE FROM fault_rules WHERE tenant = $1 AND id = $2", &[tenant.into(), id.into()])? > 0)
}

/// Deletes every rule of a tenant (also on reset and delete); returns how many.
pub fn delete_all(c: &mut dyn Conn, tenant: &str) -> Result<u64> {
    c.execute("DELETE FROM fault_rules WHERE tenant = $1", &[tenant.into()])
}

/// Counts one more matching request (locking the row on PostgreSQL until commit) and
/// returns the new count and how often the rule fired; None if the rule is gone.
pub fn count_match(c: &mut dyn Conn, tenant: &str, id: &str) -> Result<Option<(u64, u64)>> {
    let rows = c.query(
        "UPDATE fault_rules SET seen = seen + 1 WHERE tenant = $1 AND id = $2 RETURNING seen, fired",
        &[tenant.into(), id.into()],
    )?;
    Ok(rows.first().map(|r| (u64::try_from(r.int(0)).unwrap_or(0), u64::try_from(r.int(1)).unwrap_or(0))))
}

pub fn count_fired(c: &mut dyn Conn, tenant: &str, id: &str) -> Result<()> {
    c.execute("UPDATE fault_rules SET fired = fired + 1 WHERE tenant = $1 AND id = $2", &[tenant.into(), id.into()])?;
    Ok(())
}
