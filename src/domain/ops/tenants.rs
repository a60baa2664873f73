use serde_json::{Value as Json, json};

use super::super::tenant::{TenantSeed, TenantSpec};
use super::super::{Actor, App, Clock, Credential, Delegation, Device, Error, Result, Tenant, Timestamp};
use super::audit;
use crate::domain::clock::{self, ClockChange};
use crate::domain::{Storage, Tx};

/// Creates a tenant and seeds its world (a dialect made the spec from its document).
pub async fn create_tenant(store: &dyn Storage, clock: &Clock, spec: TenantSpec) -> Result<Tenant> {
    let now = clock.now(0);
    store.write(move |c| create_in(c, &spec, now)).await
}

/// Creates those of a world's tenants that do not exist yet, all in one transaction:
/// a failure creates none of them. Returns each account id and whether it was created
/// now (an existing tenant keeps its state).
pub async fn create_missing_tenants(
    store: &dyn Storage,
    clock: &Clock,
    specs: Vec<TenantSpec>,
) -> Result<Vec<(String, bool)>> {
    let now = clock.now(0);
    let specs = std::sync::Arc::new(specs);
    let attempt = |specs: std::sync::Arc<Vec<TenantSpec>>| {
        store.write(move |c| {
            let mut loaded = Vec::with_capacity(specs.len());
            for spec in specs.iter() {
                let exists = c.get_tenant(&spec.account_id)?.is_some();
                if !exists {
                    create_in(c, spec, now)?;
                }
                loaded.push((spec.account_id.clone(), !exists));
            }
            Ok(loaded)
        })
    };
    match attempt(specs.clone()).await {
        // Another node loading the same world committed some of these tenants first:
        // once more, and they are found existing (a real conflict fails again).
        Err(Error::Conflict(_)) => attempt(specs).await,
        other => other,
    }
}

fn create_in(c: &mut dyn Tx, spec: &TenantSpec, now: Timestamp) -> Result<Tenant> {
    let tenant = Tenant {
        account_id: spec.account_id.clone(),
        provider: spec.provider.clone(),
        plan: spec.plan.clone(),
        rate_limits: spec.rate_limits,
        clock_offset_ms: 0,
        clock_frozen_at: None,
        created_at: now,
        fault_rules: false,
    };
    if c.get_tenant(&tenant.account_id)?.is_some() {
        return Err(Error::Conflict(format!("tenant {} already exists", tenant.account_id)));
    }
    c.insert_tenant(&tenant, &spec.document)?;
    seed(c, &tenant.account_id, &spec.seed, now).map_err(credential_conflict)?;
    audit(c, &tenant.account_id, now, &Actor::admin(), "tenant.created", &tenant.account_id, json!({}))?;
    Ok(tenant)
}

fn credential_conflict(err: Error) -> Error {
    match err {
        Error::Conflict(_) => Error::Conflict("a credential in this document is already used by another tenant".into()),
        other => other,
    }
}

/// Puts a tenant back to its document (`seed` is what its dialect makes of the kept
/// document): every user, credential and setting as first created, no sessions, the
/// clock back to the wall clock.
pub async fn reset_tenant(
    store: &dyn Storage,
    clock: &Clock,
    account_id: &str,
    seed_data: TenantSeed,
) -> Result<Tenant> {
    let (account_id, clock) = (account_id.to_owned(), *clock);
    store
        .write(move |c| {
            let mut tenant =
                c.get_tenant_for_update(&account_id)?.ok_or_else(|| Error::not_found("tenant", &account_id))?;
            let now = clock.now(0);
            c.clear_tenant_state(&account_id)?;
            (tenant.clock_offset_ms, tenant.clock_frozen_at) = (0, None);
            c.set_clock_offset(&account_id, 0)?;
            seed(c, &account_id, &seed_data, now)?;
            audit(c, &account_id, now, &Actor::admin(), "tenant.reset", &account_id, json!({}))?;
            Ok(tenant)
        })
        .await
}

/// Deletes a tenant and everything it holds.
pub async fn delete_tenant(store: &dyn Storage, account_id: &str) -> Result<()> {
    let account_id = account_id.to_owned();
    store
        .write(
            move |c| {
                if c.delete_tenant(&account_id)? { Ok(()) } else { Err(Error::not_found("tenant", &account_id)) }
            },
        )
        .await
}

pub async fn get_tenant(store: &dyn Storage, account_id: &str) -> Result<Tenant> {
    let account_id = account_id.to_owned();
    store.read(move |c| c.get_tenant(&account_id)?.ok_or_else(|| Error::not_found("tenant", &account_id))).await
}

pub async fn list_tenants(store: &dyn Storage) -> Result<Vec<Tenant>> {
    store.read(|c| c.list_tenants()).await
}

/// A tenant's document (secrets as hashes), as created and as a reset restores it.
pub async fn tenant_document(store: &dyn Storage, account_id: &str) -> Result<Json> {
    let account_id = account_id.to_owned();
    store
        .read(move |c| c.get_tenant_document(&account_id)?.ok_or_else(|| Error::not_found("tenant", &account_id)))
        .await
}

/// Advances, sets, freezes or unfreezes a tenant's clock, with an audit record. Setting
/// it before the tenant's current time is refused: only a restore goes back.
pub async fn change_clock(store: &dyn Storage, clock: &Clock, account_id: &str, change: ClockChange) -> Result<Tenant> {
    if let ClockChange::Advance { seconds } = change
        && !(0..=clock::MAX_ADVANCE_SECONDS).contains(&seconds)
    {
        return Err(if seconds < 0 {
            Error::Refused("the clock does not go backwards (restore a snapshot to go back)".into())
        } else {
            Error::invalid("advance_seconds", "advance_seconds must be between 0 and ten years")
        });
    }
    let (account_id, clock) = (account_id.to_owned(), *clock);
    store
        .write(move |c| {
            let tenant =
                c.get_tenant_for_update(&account_id)?.ok_or_else(|| Error::not_found("tenant", &account_id))?;
            let wall = clock.now(0);
            let now = tenant.clock_frozen_at.unwrap_or_else(|| wall.saturating_add(tenant.clock_offset_ms));
            let frozen = tenant.clock_frozen_at.is_some();
            let (target, frozen, action, detail) = match change {
                ClockChange::Advance { seconds } => {
                    let target = now.checked_add(seconds * 1000).unwrap_or(Timestamp::MAX);
                    (target, frozen, "clock.advanced", json!({"seconds": seconds}))
                }
                ClockChange::Set { at } if at < now => {
                    return Err(Error::Refused(format!(
                        "the clock does not go backwards: {} is before the tenant's time {} (restore a snapshot to go back)",
                        clock::rfc3339(at),
                        clock::rfc3339(now)
                    )));
                }
                ClockChange::Set { at } => (at, frozen, "clock.set", json!({"at": clock::rfc3339(at)})),
                ClockChange::Freeze => (now, true, "clock.frozen", json!({})),
                ClockChange::Unfreeze => (now, false, "clock.unfrozen", json!({})),
            };
            let (offset, frozen_at) = clock::settings_at(wall, target, frozen)?;
            c.set_clock(&account_id, offset, frozen_at)?;
            let tenant = Tenant { clock_offset_ms: offset, clock_frozen_at: frozen_at, ..tenant };
            audit(c, &account_id, tenant.now(&clock), &Actor::admin(), action, &account_id, detail)?;
            Ok(tenant)
        })
        .await
}

/// Moves a tenant's clock forward by `seconds` (running or frozen).
pub async fn advance_clock(store: &dyn Storage, clock: &Clock, account_id: &str, seconds: i64) -> Result<Tenant> {
    change_clock(store, clock, account_id, ClockChange::Advance { seconds }).await
}

/// Stores a tenant's seed, every object stamped with the tenant and `now`.
pub fn seed(c: &mut dyn Tx, account: &str, seed: &TenantSeed, now: Timestamp) -> Result<()> {
    c.insert_principals(account, &seed.principals, now)?;
    for delegation in &seed.delegations {
        c.insert_delegation(account, &Delegation { created_at: now, ..delegation.clone() })?;
    }
    for credential in &seed.credentials {
        c.insert_credential(&Credential { tenant: account.to_owned(), created_at: now, ..credential.clone() })?;
    }
    for app in &seed.apps {
        c.insert_app(&App { tenant: account.to_owned(), created_at: now, ..app.clone() })?;
    }
    for device in &seed.devices {
        c.insert_device(&Device { tenant: account.to_owned(), created_at: now, ..device.clone() })?;
    }
    for (name, document) in &seed.settings {
        c.put_setting(account, name, document, now)?;
    }
    Ok(())
}
