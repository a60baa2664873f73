use serde_json::{Value as Json, json};

use super::super::provider::{SESSIONS, TokenSpec};
use super::super::{Error, InactiveReason, IssuedToken, NewPrincipal, Principal, Result, Status};
use super::{Ctx, audit};
use crate::domain::cache::{Key, Value};
use crate::domain::{PrincipalFilter, StatusScope, Storage, Tx};

/// Finds a user by id or email (case-insensitive).
pub async fn resolve_principal(store: &dyn Storage, tenant: &str, key: &str) -> Result<Principal> {
    let Some(cache) = store.cache() else {
        let (tenant, key) = (tenant.to_owned(), key.to_owned());
        return store.read(move |c| resolve_in(c, &tenant, &key)).await;
    };
    let cache_key = Key::principal(tenant, key);
    if let Some(Value::Principal(found)) = cache.get(&cache_key) {
        return Ok(*found);
    }
    let fill = cache.begin();
    let (owned_tenant, owned_key) = (tenant.to_owned(), key.to_owned());
    let found = store.read(move |c| resolve_in(c, &owned_tenant, &owned_key)).await?;
    cache.fill(fill, cache_key, Value::Principal(Box::new(found.clone())), tenant, Some(&found.id));
    Ok(found)
}

pub(super) fn resolve_in(c: &mut dyn Tx, tenant: &str, key: &str) -> Result<Principal> {
    let found = if key.contains('@') { c.find_principal_by_email(tenant, key)? } else { c.get_principal(tenant, key)? };
    found.ok_or_else(|| Error::not_found("user", key))
}

/// Where a page of users starts: after an email (a page token), or after skipping so
/// many users (a page number).
#[derive(Debug, Clone)]
pub enum PageStart {
    After(String),
    Skip(u64),
}

/// A page of the users of one status (and optionally one role: `owner`, `admin`,
/// `member`) in email order: up to `size` + 1 users (the extra one says there is more),
/// and how many the status (and role) holds. Its cost follows `size`, not the tenant:
/// the total comes from maintained counters, the start from the index.
pub async fn list_principals(
    store: &dyn Storage,
    tenant: &str,
    status: Status,
    role: Option<String>,
    start: PageStart,
    size: u32,
) -> Result<(Vec<Principal>, i64)> {
    let tenant = tenant.to_owned();
    store
        .read(move |c| {
            let scope = StatusScope { status, role: role.as_deref() };
            let total = c.count_principals(&tenant, scope)?;
            let after = match start {
                PageStart::After(email) => email,
                PageStart::Skip(0) => String::new(),
                PageStart::Skip(n) if n >= u64::try_from(total).unwrap_or(0) => return Ok((Vec::new(), total)),
                PageStart::Skip(n) => match c.email_at(&tenant, scope, n - 1)? {
                    Some(email) => email,
                    None => return Ok((Vec::new(), total)),
                },
            };
            let page = c.list_principals(&tenant, scope, &after, size.saturating_add(1))?;
            Ok((page, total))
        })
        .await
}

/// Every user of a tenant.
pub async fn all_principals(store: &dyn Storage, tenant: &str) -> Result<Vec<Principal>> {
    let tenant = tenant.to_owned();
    store.read(move |c| c.all_principals(&tenant)).await
}

/// Creates a user. A duplicate email is a conflict.
pub async fn create_principal(ctx: Ctx<'_>, new: NewPrincipal) -> Result<Principal> {
    let Ctx { store, clock, tenant, actor } = ctx;
    let (account, now, actor) = (tenant.account_id.clone(), tenant.now(clock), actor.clone());
    store
        .write(move |c| {
            if c.find_principal_by_email(&account, &new.email)?.is_some() {
                return Err(Error::Conflict(new.email.clone()));
            }
            c.insert_principal(&account, &new, now)?;
            audit(c, &account, now, &actor, "user.created", &new.id, json!({"email": new.email}))?;
            c.get_principal(&account, &new.id)?.ok_or_else(|| Error::Internal("created user vanished".into()))
        })
        .await
}

/// Applies `change` to the stored user inside one transaction (so concurrent updates
/// never lose each other's fields) and records it.
pub async fn update_principal<F>(ctx: Ctx<'_>, id: &str, action: &'static str, change: F) -> Result<Principal>
where
    F: FnOnce(&mut Principal) -> Result<Json> + Send + 'static,
{
    let Ctx { store, clock, tenant, actor } = ctx;
    let (account, id, now, actor) = (tenant.account_id.clone(), id.to_owned(), tenant.now(clock), actor.clone());
    store
        .write(move |c| {
            let mut principal =
                c.get_principal_for_update(&account, &id)?.ok_or_else(|| Error::not_found("user", &id))?;
            let detail = change(&mut principal)?;
            principal.updated_at = now;
            if let Some(other) = c.find_principal_by_email(&account, &principal.email)?
                && other.id != principal.id
            {
                return Err(Error::Conflict(principal.email.clone()));
            }
            c.update_principal(&principal)?;
            audit(c, &account, now, &actor, action, &id, detail)?;
            Ok(principal)
        })
        .await
}

/// Activates or deactivates a user. Deactivating ends every session, blocks new ones
/// and does what the provider's `on_deactivate` says (Zoom: the license goes);
/// activating revives none of the old sessions. Returns the user as it was before.
pub async fn set_status(
    ctx: Ctx<'_>,
    id: &str,
    status: Status,
    on_deactivate: fn(&mut Principal),
) -> Result<Principal> {
    let Ctx { store, clock, tenant, actor } = ctx;
    let (account, id, now, actor) = (tenant.account_id.clone(), id.to_owned(), tenant.now(clock), actor.clone());
    store
        .write(move |c| {
            let before = c.get_principal_for_update(&account, &id)?.ok_or_else(|| Error::not_found("user", &id))?;
            let mut after = before.clone();
            after.status = status;
            after.updated_at = now;
            if status == Status::Inactive {
                on_deactivate(&mut after);
            }
            c.update_principal(&after)?;
            if status == Status::Inactive {
                c.revoke_sessions(&account, &id, now, InactiveReason::UserDeactivated.as_str())?;
            }
            let action = if status == Status::Inactive { "user.deactivated" } else { "user.activated" };
            audit(c, &account, now, &actor, action, &id, json!({"from": before.status.as_str()}))?;
            Ok(before)
        })
        .await
}

/// Ends every session of a user, whatever their number: one epoch increment.
pub async fn revoke_sessions(ctx: Ctx<'_>, id: &str, reason: InactiveReason) -> Result<()> {
    let Ctx { store, clock, tenant, actor } = ctx;
    let (account, id, now, actor) = (tenant.account_id.clone(), id.to_owned(), tenant.now(clock), actor.clone());
    store
        .write(move |c| {
            if !c.revoke_sessions(&account, &id, now, reason.as_str())? {
                return Err(Error::not_found("user", &id));
            }
            audit(c, &account, now, &actor, "sessions.revoked", &id, json!({"reason": reason.as_str()}))
        })
        .await
}

/// Deletes a user, with their delegations and devices. Their tokens die with them.
pub async fn delete_principal(ctx: Ctx<'_>, id: &str, mode: &str) -> Result<()> {
    let Ctx { store, clock, tenant, actor } = ctx;
    let (account, id, now, actor, mode) =
        (tenant.account_id.clone(), id.to_owned(), tenant.now(clock), actor.clone(), mode.to_owned());
    store
        .write(move |c| {
            if !c.delete_principal(&account, &id)? {
                return Err(Error::not_found("user", &id));
            }
            audit(c, &account, now, &actor, "user.deleted", &id, json!({"action": mode}))
        })
        .await
}

/// A user's live sessions of one kind (issued under their scope's current epoch, unexpired).
pub async fn live_sessions(ctx: Ctx<'_>, principal: &Principal, spec: &TokenSpec) -> Result<Vec<IssuedToken>> {
    let Ctx { store, clock, tenant, .. } = ctx;
    let (account, id, now) = (tenant.account_id.clone(), principal.id.clone(), tenant.now(clock));
    let (kind, scope, session_epoch) = (spec.kind.clone(), spec.scope, principal.session_epoch);
    store
        .read(move |c| {
            let epoch = match scope {
                Some(scope) if scope != SESSIONS => c.scope_epoch(&account, &id, scope)?.0,
                _ => session_epoch,
            };
            c.live_tokens(&account, &id, kind, epoch, now)
        })
        .await
}

/// A page of users `skip` from the start with the filters given, the total that match,
/// and the number of live device registrations of each user on the page.
pub async fn page_principals(
    store: &dyn Storage,
    tenant: &str,
    filter: PrincipalFilter,
    skip: u64,
    limit: u32,
) -> Result<(Vec<(Principal, i64)>, i64)> {
    let tenant = tenant.to_owned();
    store
        .read(move |c| {
            let total = c.count_filtered_principals(&tenant, &filter)?;
            if skip >= u64::try_from(total).unwrap_or(0) {
                return Ok((Vec::new(), total));
            }
            Ok((c.page_principals(&tenant, &filter, skip, limit)?, total))
        })
        .await
}
