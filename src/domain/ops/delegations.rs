use serde_json::json;

use super::super::{Delegation, Principal, Result};
use super::{Ctx, audit};
use crate::domain::Storage;

/// The delegates (assistants) of a user, with their principals.
pub async fn delegates_of(store: &dyn Storage, tenant: &str, principal: &str) -> Result<Vec<(Delegation, Principal)>> {
    let (tenant, principal) = (tenant.to_owned(), principal.to_owned());
    store
        .read(move |c| {
            let mut out = Vec::new();
            for d in c.delegates_of(&tenant, &principal)? {
                if let Some(p) = c.get_principal(&tenant, &d.delegate)? {
                    out.push((d, p));
                }
            }
            Ok(out)
        })
        .await
}

/// The users a delegate acts for (the delegate's schedulers).
pub async fn delegators_of(store: &dyn Storage, tenant: &str, delegate: &str) -> Result<Vec<(Delegation, Principal)>> {
    let (tenant, delegate) = (tenant.to_owned(), delegate.to_owned());
    store
        .read(move |c| {
            let mut out = Vec::new();
            for d in c.principals_delegating_to(&tenant, &delegate)? {
                if let Some(p) = c.get_principal(&tenant, &d.principal)? {
                    out.push((d, p));
                }
            }
            Ok(out)
        })
        .await
}

/// Adds delegates to a user; returns the ids added (already-present ones are skipped).
pub async fn add_delegates(ctx: Ctx<'_>, principal: &str, delegates: Vec<(String, bool)>) -> Result<Vec<String>> {
    let Ctx { store, clock, tenant, actor } = ctx;
    let (account, principal, now, actor) =
        (tenant.account_id.clone(), principal.to_owned(), tenant.now(clock), actor.clone());
    store
        .write(move |c| {
            let mut added = Vec::new();
            for (delegate, can_manage) in delegates {
                let d = Delegation {
                    principal: principal.clone(),
                    delegate: delegate.clone(),
                    can_manage_host_private_event: can_manage,
                    created_at: now,
                };
                if c.insert_delegation(&account, &d)? {
                    added.push(delegate);
                }
            }
            audit(c, &account, now, &actor, "delegates.added", &principal, json!({"delegates": added}))?;
            Ok(added)
        })
        .await
}

/// Removes delegations: all of a user's delegates, all of a delegate's principals, or
/// one pair. Returns how many went.
pub async fn remove_delegations(ctx: Ctx<'_>, principal: Option<&str>, delegate: Option<&str>) -> Result<u64> {
    let Ctx { store, clock, tenant, actor } = ctx;
    let (account, now, actor) = (tenant.account_id.clone(), tenant.now(clock), actor.clone());
    let (principal, delegate) = (principal.map(str::to_owned), delegate.map(str::to_owned));
    store
        .write(move |c| {
            let removed = c.delete_delegations(&account, principal.as_deref(), delegate.as_deref())?;
            let target = principal.clone().or_else(|| delegate.clone()).unwrap_or_default();
            audit(
                c,
                &account,
                now,
                &actor,
                "delegations.removed",
                &target,
                json!({"principal": principal, "delegate": delegate, "removed": removed}),
            )?;
            Ok(removed)
        })
        .await
}
