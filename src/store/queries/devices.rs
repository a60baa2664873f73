use super::super::{Conn, Row};
use super::{Result, for_update, json_map, json_text};
use crate::domain::{Device, Timestamp};

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
