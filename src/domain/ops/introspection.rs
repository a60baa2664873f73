use super::super::provider::SESSIONS;
use super::super::{Clock, InactiveReason, IssuedToken, Principal, Result, Status, Tenant, Timestamp, TokenState};
use super::last_revoked_at;
use crate::domain::cache::{Key, Value};
use crate::domain::{Storage, TokenInContext, Tx};

/// What introspection knows about a token.
#[derive(Debug, Clone)]
pub struct Introspection {
    pub token: IssuedToken,
    pub tenant: Tenant,
    pub state: TokenState,
    pub principal: Option<Principal>,
}

/// Looks a bearer token up and decides whether it is still good, and if not why.
/// `None` means userplane never issued it.
pub async fn introspect(store: &dyn Storage, clock: &Clock, secret: &str) -> Result<Option<Introspection>> {
    let hash = store.secrets().hash(secret);
    let Some(cache) = store.cache() else {
        let clock = *clock;
        return store.read(move |c| introspect_in(c, &clock, &hash)).await;
    };
    let key = Key::Token(hash.clone());
    // Only an active token is remembered; it stays active until it expires (or a write
    // touches its tenant or principal, which ends the entry).
    if let Some(Value::Token(found)) = cache.get(&key)
        && found.token.expires_at > found.tenant.now(clock)
    {
        return Ok(Some(*found));
    }
    let (fill, clock) = (cache.begin(), *clock);
    let found = store.read(move |c| introspect_in(c, &clock, &hash)).await?;
    if let Some(found) = &found
        && remembered(found)
    {
        let (tenant, principal) = (found.token.tenant.clone(), found.token.principal.clone());
        cache.fill(fill, key, Value::Token(Box::new(found.clone())), &tenant, principal.as_deref());
    }
    Ok(found)
}

/// A principal looked up ahead of need, under the key it was asked for.
#[derive(Debug, Clone)]
pub struct Prefetched {
    pub key: String,
    /// `None`: the tenant has no such user.
    pub principal: Option<Principal>,
}

/// [`introspect`], and the principal a request names (`target`: an id or an email) in the
/// token's tenant, read together: a request about one user learns both in one round
/// trip. Only where that saves one: on a backend with a read cache, where either is
/// usually remembered, the principal is not read here (`None`) but when it is needed.
pub async fn introspect_with_target(
    store: &dyn Storage,
    clock: &Clock,
    secret: &str,
    target: &str,
) -> Result<Option<(Introspection, Option<Prefetched>)>> {
    if store.cache().is_some() {
        return Ok(introspect(store, clock, secret).await?.map(|found| (found, None)));
    }
    let (hash, clock, key) = (store.secrets().hash(secret), *clock, target.to_owned());
    store
        .read(move |c| {
            let Some((context, principal)) = c.find_token_in_context_and_principal(&hash, &key)? else {
                return Ok(None);
            };
            let found = judge(c, &clock, context)?;
            Ok(Some((found, Some(Prefetched { key, principal }))))
        })
        .await
}

/// Whether an introspection may be remembered: an active token whose state follows only
/// its tenant and its principal (a device session also follows its device: not kept).
fn remembered(found: &Introspection) -> bool {
    matches!(found.state, TokenState::Active) && found.token.device_generation.is_none()
}

fn introspect_in(c: &mut dyn Tx, clock: &Clock, hash: &str) -> Result<Option<Introspection>> {
    let Some(context) = c.find_token_in_context(hash)? else { return Ok(None) };
    judge(c, clock, context).map(Some)
}

/// Whether a token found in its context is still good, and if not why.
fn judge(c: &mut dyn Tx, clock: &Clock, (token, tenant, credential_alive): TokenInContext) -> Result<Introspection> {
    let now = tenant.now(clock);
    // An app's own token (no scope) names its owner only to resolve `me`; the owner's
    // revocations don't govern it.
    let principal = match (&token.principal, &token.scope) {
        (Some(id), Some(_)) => c.get_principal(&token.tenant, id)?,
        _ => None,
    };
    // Every reason the token may be dead, with when it died; the earliest one wins.
    let mut causes: Vec<(Timestamp, InactiveReason)> = Vec::new();
    if token.expires_at <= now {
        causes.push((token.expires_at, InactiveReason::Expired));
    }
    if credential_alive == Some(false) {
        causes.push((now, InactiveReason::CredentialRevoked));
    }
    if let (Some(_), Some(scope)) = (&token.principal, &token.scope) {
        match &principal {
            None => causes.push((now, InactiveReason::UserDeleted)),
            Some(p) => {
                causes.extend(scope_cause(c, &token, p, scope, now)?);
                if token.device_generation.is_some() {
                    causes.extend(device_cause(c, &token, now)?);
                }
            }
        }
    }
    let state = match causes.into_iter().min_by_key(|(at, _)| *at) {
        None => TokenState::Active,
        Some((since, reason)) => TokenState::Inactive { reason, since },
    };
    Ok(Introspection { token, tenant, state, principal })
}

/// Why the principal's revocations ended the token, if they did: its scope's epoch moved
/// on (or, for sessions, the user is no longer active).
fn scope_cause(
    c: &mut dyn Tx,
    token: &IssuedToken,
    p: &Principal,
    scope: &str,
    now: Timestamp,
) -> Result<Vec<(Timestamp, InactiveReason)>> {
    let mut causes = Vec::new();
    let (epoch, moved_at) = if scope == SESSIONS {
        (p.session_epoch, p.sessions_revoked_at)
    } else {
        c.scope_epoch(&token.tenant, &p.id, scope)?
    };
    if epoch != token.epoch {
        let (at, reason) = c
            .find_revocation(&token.tenant, &p.id, scope, token.epoch + 1)?
            .unwrap_or((moved_at.unwrap_or(now), String::new()));
        causes.push((at, InactiveReason::parse(&reason).unwrap_or(InactiveReason::SessionsRevoked)));
    }
    if scope == SESSIONS && p.status != Status::Active {
        causes.push((p.updated_at, InactiveReason::UserDeactivated));
    }
    Ok(causes)
}

/// Why the device registration a device session was issued on ended it, if it did.
fn device_cause(c: &mut dyn Tx, token: &IssuedToken, now: Timestamp) -> Result<Option<(Timestamp, InactiveReason)>> {
    let device = match &token.subject {
        Some(id) => c.get_device(&token.tenant, id)?,
        None => None,
    };
    Ok(match device {
        None => Some((now, InactiveReason::DeviceRevoked)),
        Some(d) => match d.revoked_at {
            Some(at) => Some((at, InactiveReason::DeviceRevoked)),
            // Revoked, then un-revoked: the sessions of before stay dead.
            None if token.device_generation.unwrap_or(0) != d.generation => {
                Some((last_revoked_at(&d).unwrap_or(now), InactiveReason::DeviceRevoked))
            }
            None => None,
        },
    })
}
