//! Snapshots, forks and resets that rotate secrets: a test prepares a world once, then
//! puts it back, or copies it for each of its parallel runs.
//!
//! A snapshot is every tenant-scoped row (see `store::snapshots::TENANT_TABLES`), the
//! tenant's clock and its journal position, stored as one document in the database.
//! Each operation is one transaction: a failure applies nothing.

use serde_json::json;

use crate::domain::clock::{self, Clock};
use crate::domain::tenant::TenantSpec;
use crate::domain::{Error, Result, Tenant, Timestamp, ops};
use crate::store::snapshots::{self as snap, SnapshotInfo};
use crate::store::{Store, queries as q};

/// At most this many snapshots per tenant: a create past it is refused (delete one).
pub const MAX_PER_TENANT: i64 = 16;
/// A snapshot's document is at most this large (a test world, not a production copy).
pub const MAX_BYTES: usize = 64 << 20;

/// A snapshot name: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.
pub fn validate_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "name",
            "a snapshot name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        ))
    }
}

fn locked_tenant(c: &mut dyn crate::store::Conn, account: &str) -> Result<Tenant> {
    q::get_tenant_for_update(c, account)?.ok_or_else(|| Error::not_found("tenant", account))
}

/// The limiter's in-process counters of a tenant (key, window start, hits): on SQLite
/// its rate-limit windows live in the server, not the database.
pub type LocalWindows = Vec<(String, Timestamp, u64)>;

/// Captures the tenant's state under `name`, with the limiter's `local_windows`.
pub async fn create(
    store: &Store,
    clock: &Clock,
    account: &str,
    name: &str,
    local_windows: LocalWindows,
) -> Result<SnapshotInfo> {
    validate_name(name)?;
    let (account, name, clock) = (account.to_owned(), name.to_owned(), *clock);
    store
        .write(move |c| {
            let tenant = locked_tenant(c, &account)?;
            if snap::get_snapshot_data(c, &account, &name)?.is_some() {
                return Err(Error::Conflict(format!("snapshot {name} already exists (delete it first)")));
            }
            if snap::count_snapshots(c, &account)? >= MAX_PER_TENANT {
                return Err(Error::Refused(format!(
                    "a tenant keeps at most {MAX_PER_TENANT} snapshots; delete one first"
                )));
            }
            let now = tenant.now(&clock);
            let windows = json!(local_windows);
            let data = snap::capture(c, &account, now, tenant.clock_frozen_at.is_some(), windows)?.to_string();
            if data.len() > MAX_BYTES {
                return Err(Error::Refused(format!("the tenant's state is larger than {MAX_BYTES} bytes")));
            }
            let created_at = clock.now(0);
            let size = snap::insert_snapshot(c, &account, &name, created_at, &data)?;
            q::insert_audit(c, &account, now, "admin", "snapshot.created", &name, &json!({"size": size}))?;
            Ok(SnapshotInfo { name, created_at, size })
        })
        .await
}

pub async fn list(store: &Store, account: &str) -> Result<Vec<SnapshotInfo>> {
    let account = account.to_owned();
    store
        .read(move |c| {
            q::get_tenant(c, &account)?.ok_or_else(|| Error::not_found("tenant", &account))?;
            Ok(snap::list_snapshots(c, &account)?)
        })
        .await
}

pub async fn delete(store: &Store, account: &str, name: &str) -> Result<()> {
    let (account, name) = (account.to_owned(), name.to_owned());
    store
        .write(move |c| {
            locked_tenant(c, &account)?;
            if snap::delete_snapshot(c, &account, &name)? { Ok(()) } else { Err(Error::not_found("snapshot", &name)) }
        })
        .await
}

/// Puts the tenant back as it was when `name` was taken: every row, and the clock at
/// the captured instant (the one way a clock goes backwards); the journal loses what
/// was recorded since, then records the restore. Returns the limiter's captured
/// in-process counters, for the caller to put back.
pub async fn restore(store: &Store, clock: &Clock, account: &str, name: &str) -> Result<(Tenant, LocalWindows)> {
    let (account, name, clock) = (account.to_owned(), name.to_owned(), *clock);
    store
        .write(move |c| {
            locked_tenant(c, &account)?;
            let data =
                snap::get_snapshot_data(c, &account, &name)?.ok_or_else(|| Error::not_found("snapshot", &name))?;
            let captured = snap::restore(c, &account, &data)?;
            let (offset, frozen_at) = clock::settings_at(clock.now(0), captured.now, captured.frozen)?;
            q::set_clock(c, &account, offset, frozen_at)?;
            q::insert_audit(c, &account, captured.now, "admin", "snapshot.restored", &name, &json!({}))?;
            let windows = serde_json::from_value(captured.local_windows).unwrap_or_default();
            Ok((locked_tenant(c, &account)?, windows))
        })
        .await
}

/// Copies `source` under the account of `spec` (the source's document with new secrets,
/// made by its dialect): users, epochs, revocations, delegations, devices, apps and
/// settings as they are now, the source's clock; credentials from `spec` (new
/// secrets); no sessions or tokens (their secrets are not known), no journal.
pub async fn fork(store: &Store, clock: &Clock, source: &str, spec: TenantSpec) -> Result<Tenant> {
    let (source, clock) = (source.to_owned(), *clock);
    store
        .write(move |c| {
            let from = locked_tenant(c, &source)?;
            if q::get_tenant(c, &spec.account_id)?.is_some() {
                return Err(Error::Conflict(format!("tenant {} already exists", spec.account_id)));
            }
            let created_at = clock.now(0);
            let forked = Tenant {
                account_id: spec.account_id.clone(),
                provider: from.provider,
                plan: from.plan.clone(),
                rate_limits: from.rate_limits,
                clock_offset_ms: from.clock_offset_ms,
                clock_frozen_at: from.clock_frozen_at,
                created_at,
                fault_rules: from.fault_rules,
            };
            q::insert_tenant(c, &forked, &spec.document)?;
            q::set_clock(c, &forked.account_id, forked.clock_offset_ms, forked.clock_frozen_at)?;
            snap::copy_forked(c, &source, &forked.account_id)?;
            for credential in &spec.seed.credentials {
                let credential =
                    crate::domain::Credential { tenant: forked.account_id.clone(), created_at, ..credential.clone() };
                q::insert_credential(c, &credential).map_err(|e| match Error::from(e) {
                    Error::Conflict(_) => Error::Conflict("a credential of the fork is already used".into()),
                    other => other,
                })?;
            }
            let now = forked.now(&clock);
            q::insert_audit(c, &forked.account_id, now, "admin", "tenant.forked", &source, &json!({}))?;
            Ok(forked)
        })
        .await
}

/// A reset to `spec` (the kept document with new secrets): the document is replaced,
/// then the tenant re-seeded from it as [`ops::reset_tenant`] does.
pub async fn reset_rotating(store: &Store, clock: &Clock, spec: TenantSpec) -> Result<Tenant> {
    let clock = *clock;
    store
        .write(move |c| {
            let mut tenant = locked_tenant(c, &spec.account_id)?;
            let now: Timestamp = clock.now(0);
            q::clear_tenant_state(c, &tenant.account_id)?;
            q::set_clock_offset(c, &tenant.account_id, 0)?;
            (tenant.clock_offset_ms, tenant.clock_frozen_at) = (0, None);
            snap::set_document(c, &tenant.account_id, &spec.document)?;
            ops::seed(&mut crate::store::SqlTx::new(c), &tenant.account_id, &spec.seed, now)?;
            let detail = json!({"rotate_secrets": true});
            q::insert_audit(c, &tenant.account_id, now, "admin", "tenant.reset", &tenant.account_id, &detail)?;
            Ok(tenant)
        })
        .await
}
