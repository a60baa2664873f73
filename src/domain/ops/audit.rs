use super::super::{AuditRecord, Clock, Error, Result};
use crate::domain::Storage;

/// The tenant's audit journal after sequence number `after`.
pub async fn journal(store: &dyn Storage, account_id: &str, after: i64, limit: i64) -> Result<Vec<AuditRecord>> {
    let account_id = account_id.to_owned();
    store
        .read(move |c| {
            c.get_tenant(&account_id)?.ok_or_else(|| Error::not_found("tenant", &account_id))?;
            c.list_audit(&account_id, after, limit)
        })
        .await
}

/// What one retention batch removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub tokens: u64,
    pub revocations: u64,
    pub audit: u64,
}

/// One retention batch of a tenant, in one transaction, by the tenant's own clock: up to
/// `limit` tokens that expired more than `retain_tokens_ms` ago, as many revocations from
/// before then that no remaining token needs, and as many of the oldest journal records
/// from more than `retain_audit_ms` ago. A token still alive (revoked or not) is never
/// removed: introspection answers it honestly until it expires, and for
/// `retain_tokens_ms` after that.
pub async fn prune_batch(
    store: &dyn Storage,
    clock: &Clock,
    account_id: &str,
    retain_tokens_ms: i64,
    retain_audit_ms: i64,
    limit: u32,
) -> Result<Pruned> {
    let (account_id, clock) = (account_id.to_owned(), *clock);
    store
        .write(move |c| {
            let Some(tenant) = c.get_tenant(&account_id)? else { return Ok(Pruned::default()) };
            let now = tenant.now(&clock);
            let tokens_before = now.saturating_sub(retain_tokens_ms);
            let tokens = c.prune_expired_tokens(&account_id, tokens_before, limit)?;
            let revocations = c.prune_revocations(&account_id, tokens_before, limit)?;
            let audit = c.prune_audit(&account_id, now.saturating_sub(retain_audit_ms), limit)?;
            Ok(Pruned { tokens, revocations, audit })
        })
        .await
}
