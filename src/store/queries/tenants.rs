use std::sync::LazyLock;

use serde_json::Value as Json;

use super::super::{Backend, Conn, Row, StoreError};
use super::{Result, for_update, json_text};
use crate::domain::{Provider, Tenant, Timestamp};

// The document lives in its own table (`tenant_documents`): requests read the tenant
// row all the time and need none of it; only create, reset and the control plane do.
// Whether it has fault rules comes with it (one probe of their index), so that a request
// of a tenant without any reads none.
static TENANT_COLUMNS: LazyLock<String> = LazyLock::new(|| tenant_columns("tenants"));

/// The columns [`tenant_at`] reads, of the table named `alias` (for joins).
pub(super) fn tenant_columns(alias: &str) -> String {
    let columns = "account_id, provider, plan, rate_limits, clock_offset_ms, created_at, clock_frozen_at";
    format!(
        "{}, EXISTS (SELECT 1 FROM fault_rules f WHERE f.tenant = {alias}.account_id)",
        super::qualified(alias, columns)
    )
}

fn tenant_from(row: &Row) -> Result<Tenant> {
    tenant_at(row, 0)
}

/// A tenant from [`tenant_columns`] starting at column `at`.
pub(super) fn tenant_at(row: &Row, at: usize) -> Result<Tenant> {
    let provider = Provider::parse(&row.text(at + 1));
    Ok(Tenant {
        account_id: row.text(at),
        provider,
        plan: row.text(at + 2),
        rate_limits: row.bool(at + 3),
        clock_offset_ms: row.int(at + 4),
        created_at: row.int(at + 5),
        clock_frozen_at: row.opt_int(at + 6),
        fault_rules: row.bool(at + 7),
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
    let rows =
        c.query(&format!("SELECT {} FROM tenants WHERE account_id = $1", *TENANT_COLUMNS), &[account_id.into()])?;
    rows.first().map(tenant_from).transpose()
}

/// Reads a tenant to change it: on PostgreSQL the row stays locked until the
/// transaction ends, so concurrent changes from several nodes (clock advances, resets)
/// queue instead of overwriting each other.
pub fn get_tenant_for_update(c: &mut dyn Conn, account_id: &str) -> Result<Option<Tenant>> {
    let lock = for_update(c);
    let rows =
        c.query(&format!("SELECT {} FROM tenants WHERE account_id = $1{lock}", *TENANT_COLUMNS), &[account_id.into()])?;
    rows.first().map(tenant_from).transpose()
}

pub fn list_tenants(c: &mut dyn Conn) -> Result<Vec<Tenant>> {
    let rows = c.query(&format!("SELECT {} FROM tenants ORDER BY created_at, account_id", *TENANT_COLUMNS), &[])?;
    rows.iter().map(tenant_from).collect()
}

/// The tables of a tenant's state: everything it holds except its row, its document and
/// its audit journal. None refers to another (each refers to `tenants` only), so they can
/// be emptied in any order, or all at once.
const TENANT_STATE_TABLES: [&str; 12] = [
    "tokens",
    "revocations",
    "scope_epochs",
    "delegations",
    "devices",
    "apps",
    "settings",
    "credentials",
    "principals",
    "principal_counts",
    "fault_rules",
    "requests",
];

/// Deletes everything a tenant holds except the tenant row itself (for reset and delete).
/// On PostgreSQL in one statement (data-modifying `WITH`s): one round trip, not twelve.
pub fn clear_tenant_state(c: &mut dyn Conn, account_id: &str) -> Result<()> {
    match c.backend() {
        Backend::Postgres => {
            c.execute(&CLEAR_TENANT_STATE_IN_ONE, &[account_id.into()])?;
        }
        Backend::Sqlite => {
            for table in TENANT_STATE_TABLES {
                c.execute(&format!("DELETE FROM {table} WHERE tenant = $1"), &[account_id.into()])?;
            }
        }
    }
    Ok(())
}

/// A data-modifying `WITH` runs to completion whether or not anything reads it.
static CLEAR_TENANT_STATE_IN_ONE: LazyLock<String> = LazyLock::new(|| {
    let withs: Vec<String> = TENANT_STATE_TABLES
        .iter()
        .map(|table| format!("cleared_{table} AS (DELETE FROM {table} WHERE tenant = $1)"))
        .collect();
    format!("WITH {} SELECT 1", withs.join(", "))
});

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

/// Sets a tenant's clock: running at the wall clock plus `offset_ms`, or frozen at an instant.
pub fn set_clock(c: &mut dyn Conn, account: &str, offset_ms: i64, frozen_at: Option<Timestamp>) -> Result<()> {
    c.execute(
        "UPDATE tenants SET clock_offset_ms = $1, clock_frozen_at = $2 WHERE account_id = $3",
        &[offset_ms.into(), frozen_at.into(), account.into()],
    )?;
    Ok(())
}
