use serde_json::{Map, Value as Json};

use super::super::Conn;
use super::{Result, for_update, json_map, json_text};
use crate::domain::{Setting, Timestamp};

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
