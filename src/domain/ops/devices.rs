use serde_json::{Value as Json, json};

use super::super::{Device, Error, InactiveReason, Principal, Result, Timestamp};
use super::{Ctx, audit};
use crate::domain::Storage;

/// The device attribute that remembers the last revocation (when un-revoked sessions of
/// before died, for introspection; whether they did is the generation's business).
pub const DEVICE_SESSIONS_REVOKED_THROUGH: &str = "sessions_revoked_through";

/// The device attribute holding when its state last changed.
pub const DEVICE_UPDATED_AT: &str = "updated_at";

pub(super) fn last_revoked_at(device: &Device) -> Option<Timestamp> {
    device.attributes.get(DEVICE_SESSIONS_REVOKED_THROUGH).and_then(Json::as_i64)
}

/// What revoking a user's access covers besides their application sessions.
#[derive(Debug, Clone, Default)]
pub struct RevokeAccess {
    /// Also revoke every device registration of the user (their device sessions die with them).
    pub devices: bool,
    /// Named revocation scopes the call may also end, each with whether it does.
    pub scopes: Vec<(&'static ScopeRevocation, bool)>,
}

/// A named revocation scope a dialect lets a call end (WARP sessions, for Cloudflare).
#[derive(Debug)]
pub struct ScopeRevocation {
    pub scope: &'static str,
    /// Why its tokens died, as introspection says it.
    pub reason: InactiveReason,
    /// The journal field that records whether the call ended it.
    pub journal_field: &'static str,
}

/// Ends every application (Access) session of the user with this email, in one
/// transaction with its journal record, whatever the number of sessions (one epoch
/// increment). `user_id`, when given, must name the same user (with or without dashes).
/// Returns the user (as before the change) and how many device registrations were revoked.
pub async fn revoke_user_access(
    ctx: Ctx<'_>,
    email: &str,
    user_id: Option<String>,
    what: RevokeAccess,
) -> Result<(Principal, u64)> {
    let Ctx { store, clock, tenant, actor } = ctx;
    let (account, now, actor) = (tenant.account_id.clone(), tenant.now(clock), actor.clone());
    // With a read cache the user is usually remembered, and the write (on SQLite's one
    // writer) stays short; without one, it is read inside the write: one round trip fewer.
    // Either way revoke_sessions fails if that user is gone by then.
    let known = match store.cache() {
        Some(_) => Some(super::resolve_principal(store, &account, email).await?),
        None => None,
    };
    let email = email.to_owned();
    store
        .write(move |c| {
            let principal = match known {
                Some(principal) => principal,
                None => c.find_principal_by_email(&account, &email)?.ok_or_else(|| Error::not_found("user", &email))?,
            };
            if let Some(uid) = &user_id {
                let plain = |s: &str| s.replace('-', "").to_ascii_lowercase();
                if plain(uid) != plain(&principal.id) {
                    return Err(Error::invalid("user_uid", "user_uid does not match the user with this email"));
                }
            }
            if !c.revoke_sessions(&account, &principal.id, now, InactiveReason::AccessRevoked.as_str())? {
                return Err(Error::not_found("user", &principal.email));
            }
            let mut revoked = 0;
            if what.devices {
                for mut device in c.list_devices_for_update(&account, &principal.id)? {
                    if device.revoked_at.is_none() {
                        mark_revoked(&mut device, now);
                        c.update_device(&device)?;
                        revoked += 1;
                    }
                }
            }
            for (revocation, wanted) in &what.scopes {
                if *wanted {
                    c.revoke_scope(&account, &principal.id, revocation.scope, now, revocation.reason.as_str())?;
                }
            }
            let mut detail = json!({"email": principal.email, "devices": what.devices, "devices_revoked": revoked});
            for (revocation, wanted) in &what.scopes {
                detail[revocation.journal_field] = json!(wanted);
            }
            audit(c, &account, now, &actor, "access.revoked", &principal.id, detail)?;
            Ok((principal, revoked))
        })
        .await
}

/// Revokes a registration (read locked): a new generation, so every device session
/// issued on it so far stays dead even after an un-revoke.
fn mark_revoked(device: &mut Device, now: Timestamp) {
    device.revoked_at = Some(now);
    device.generation += 1;
    device.attributes.insert(DEVICE_SESSIONS_REVOKED_THROUGH.into(), json!(now));
    device.attributes.insert(DEVICE_UPDATED_AT.into(), json!(now));
}

/// Revokes (or un-revokes) device registrations by id, all or none: an unknown id fails
/// the whole call. Revoking kills the WARP sessions on them; un-revoking lets the device
/// log in again but brings none of those sessions back. Returns the registrations after.
pub async fn set_devices_revoked(ctx: Ctx<'_>, ids: Vec<String>, revoked: bool) -> Result<Vec<Device>> {
    let Ctx { store, clock, tenant, actor } = ctx;
    let (account, now, actor) = (tenant.account_id.clone(), tenant.now(clock), actor.clone());
    store
        .write(move |c| {
            // Locked in id order (as every writer of several registrations does), so two
            // calls on the same registrations queue instead of deadlocking.
            let mut locked = std::collections::BTreeMap::new();
            let mut sorted: Vec<&String> = ids.iter().collect();
            sorted.sort();
            for id in sorted {
                if !locked.contains_key(id) {
                    let device =
                        c.get_device_for_update(&account, id)?.ok_or_else(|| Error::not_found("device", id))?;
                    locked.insert(id.clone(), device);
                }
            }
            let mut out = Vec::with_capacity(ids.len());
            for id in &ids {
                let device = locked.get_mut(id).ok_or_else(|| Error::not_found("device", id))?;
                let changed = match (revoked, device.revoked_at) {
                    (true, None) => {
                        mark_revoked(device, now);
                        true
                    }
                    (false, Some(_)) => {
                        device.revoked_at = None;
                        device.attributes.insert(DEVICE_UPDATED_AT.into(), json!(now));
                        true
                    }
                    _ => false,
                };
                if changed {
                    c.update_device(device)?;
                    let action = if revoked { "device.revoked" } else { "device.unrevoked" };
                    audit(c, &account, now, &actor, action, &device.id, json!({"user": device.principal}))?;
                }
                out.push(device.clone());
            }
            Ok(out)
        })
        .await
}

/// Every device registration of a tenant, or of one user.
pub async fn list_devices(store: &dyn Storage, tenant: &str, principal: Option<&str>) -> Result<Vec<Device>> {
    let (tenant, principal) = (tenant.to_owned(), principal.map(str::to_owned));
    store.read(move |c| c.list_devices(&tenant, principal.as_deref())).await
}
