//! The operations every dialect calls. Each state change is one store transaction that
//! also writes its audit record.

use serde_json::{Map, Value as Json, json};

use super::ids;
use super::tenant::{TenantSeed, TenantSpec};
use super::{
    Actor, App, AuditRecord, Clock, Credential, CredentialKind, Delegation, Device, Error, InactiveReason, IssuedToken,
    NewPrincipal, Principal, Result, Status, Tenant, Timestamp, TokenKind, TokenState,
};
use crate::store::{Conn, Store, queries as q};

/// Lifetimes of the credentials userplane issues, in milliseconds.
pub mod ttl {
    pub const OAUTH_ACCESS: i64 = 3_600_000;
    pub const SSO: i64 = 24 * 3_600_000;
    pub const ZAK: i64 = 2 * 3_600_000;
    pub const ACCESS: i64 = 24 * 3_600_000;
    pub const WARP: i64 = 24 * 3_600_000;
}

fn audit(
    c: &mut dyn Conn,
    tenant: &str,
    at: Timestamp,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: Json,
) -> Result<()> {
    Ok(q::insert_audit(c, tenant, at, &actor.0, action, target, &detail)?)
}

// ---------------------------------------------------------------- tenants

/// Creates a tenant and seeds its world (a dialect made the spec from its document).
pub async fn create_tenant(store: &Store, clock: &Clock, spec: TenantSpec) -> Result<Tenant> {
    let now = clock.now(0);
    store.write(move |c| create_in(c, &spec, now)).await
}

/// Creates those of a world's tenants that do not exist yet, all in one transaction:
/// a failure creates none of them. Returns each account id and whether it was created
/// now (an existing tenant keeps its state).
pub async fn create_missing_tenants(
    store: &Store,
    clock: &Clock,
    specs: Vec<TenantSpec>,
) -> Result<Vec<(String, bool)>> {
    let now = clock.now(0);
    let specs = std::sync::Arc::new(specs);
    let attempt = |specs: std::sync::Arc<Vec<TenantSpec>>| {
        store.write(move |c| {
            let mut loaded = Vec::with_capacity(specs.len());
            for spec in specs.iter() {
                let exists = q::get_tenant(c, &spec.account_id)?.is_some();
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

fn create_in(c: &mut dyn Conn, spec: &TenantSpec, now: Timestamp) -> Result<Tenant> {
    let tenant = Tenant {
        account_id: spec.account_id.clone(),
        provider: spec.provider,
        plan: spec.plan.clone(),
        rate_limits: spec.rate_limits,
        clock_offset_ms: 0,
        created_at: now,
    };
    if q::get_tenant(c, &tenant.account_id)?.is_some() {
        return Err(Error::Conflict(format!("tenant {} already exists", tenant.account_id)));
    }
    q::insert_tenant(c, &tenant, &spec.document)?;
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
pub async fn reset_tenant(store: &Store, clock: &Clock, account_id: &str, seed_data: TenantSeed) -> Result<Tenant> {
    let (account_id, clock) = (account_id.to_owned(), *clock);
    store
        .write(move |c| {
            let mut tenant =
                q::get_tenant_for_update(c, &account_id)?.ok_or_else(|| Error::not_found("tenant", &account_id))?;
            let now = clock.now(0);
            q::clear_tenant_state(c, &account_id)?;
            tenant.clock_offset_ms = 0;
            q::set_clock_offset(c, &account_id, 0)?;
            seed(c, &account_id, &seed_data, now)?;
            audit(c, &account_id, now, &Actor::admin(), "tenant.reset", &account_id, json!({}))?;
            Ok(tenant)
        })
        .await
}

/// Deletes a tenant and everything it holds.
pub async fn delete_tenant(store: &Store, account_id: &str) -> Result<()> {
    let account_id = account_id.to_owned();
    store
        .write(
            move |c| {
                if q::delete_tenant(c, &account_id)? { Ok(()) } else { Err(Error::not_found("tenant", &account_id)) }
            },
        )
        .await
}

pub async fn get_tenant(store: &Store, account_id: &str) -> Result<Tenant> {
    let account_id = account_id.to_owned();
    store.read(move |c| q::get_tenant(c, &account_id)?.ok_or_else(|| Error::not_found("tenant", &account_id))).await
}

pub async fn list_tenants(store: &Store) -> Result<Vec<Tenant>> {
    store.read(|c| Ok(q::list_tenants(c)?)).await
}

/// A tenant's document (secrets as hashes), as created and as a reset restores it.
pub async fn tenant_document(store: &Store, account_id: &str) -> Result<Json> {
    let account_id = account_id.to_owned();
    store
        .read(move |c| q::get_tenant_document(c, &account_id)?.ok_or_else(|| Error::not_found("tenant", &account_id)))
        .await
}

/// Moves a tenant's clock forward by `seconds`; returns the tenant with its new offset.
pub async fn advance_clock(store: &Store, clock: &Clock, account_id: &str, seconds: i64) -> Result<Tenant> {
    if !(0..=10 * 366 * 86_400).contains(&seconds) {
        return Err(Error::invalid("seconds", "seconds must be between 0 and ten years"));
    }
    let account_id = account_id.to_owned();
    let clock = *clock;
    store
        .write(move |c| {
            let mut tenant =
                q::get_tenant_for_update(c, &account_id)?.ok_or_else(|| Error::not_found("tenant", &account_id))?;
            tenant.clock_offset_ms += seconds * 1000;
            q::set_clock_offset(c, &account_id, tenant.clock_offset_ms)?;
            let now = tenant.now(&clock);
            audit(c, &account_id, now, &Actor::admin(), "clock.advanced", &account_id, json!({"seconds": seconds}))?;
            Ok(tenant)
        })
        .await
}

/// The tenant's audit journal after sequence number `after`.
pub async fn journal(store: &Store, account_id: &str, after: i64, limit: i64) -> Result<Vec<AuditRecord>> {
    let account_id = account_id.to_owned();
    store
        .read(move |c| {
            q::get_tenant(c, &account_id)?.ok_or_else(|| Error::not_found("tenant", &account_id))?;
            Ok(q::list_audit(c, &account_id, after, limit)?)
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
    store: &Store,
    clock: &Clock,
    account_id: &str,
    retain_tokens_ms: i64,
    retain_audit_ms: i64,
    limit: u32,
) -> Result<Pruned> {
    let (account_id, clock) = (account_id.to_owned(), *clock);
    store
        .write(move |c| {
            let Some(tenant) = q::get_tenant(c, &account_id)? else { return Ok(Pruned::default()) };
            let now = tenant.now(&clock);
            let tokens_before = now.saturating_sub(retain_tokens_ms);
            let tokens = q::prune_expired_tokens(c, &account_id, tokens_before, limit)?;
            let revocations = q::prune_revocations(c, &account_id, tokens_before, limit)?;
            let audit = q::prune_audit(c, &account_id, now.saturating_sub(retain_audit_ms), limit)?;
            Ok(Pruned { tokens, revocations, audit })
        })
        .await
}

/// Stores a tenant's seed, every object stamped with the tenant and `now`.
fn seed(c: &mut dyn Conn, account: &str, seed: &TenantSeed, now: Timestamp) -> Result<()> {
    q::insert_principals(c, account, &seed.principals, now)?;
    for delegation in &seed.delegations {
        q::insert_delegation(c, account, &Delegation { created_at: now, ..delegation.clone() })?;
    }
    for credential in &seed.credentials {
        q::insert_credential(c, &Credential { tenant: account.to_owned(), created_at: now, ..credential.clone() })?;
    }
    for app in &seed.apps {
        q::insert_app(c, &App { tenant: account.to_owned(), created_at: now, ..app.clone() })?;
    }
    for device in &seed.devices {
        q::insert_device(c, &Device { tenant: account.to_owned(), created_at: now, ..device.clone() })?;
    }
    for (name, document) in &seed.settings {
        q::put_setting(c, account, name, document, now)?;
    }
    Ok(())
}

// ---------------------------------------------------------------- credentials and tokens

/// Finds an API credential by kind and lookup key.
pub async fn find_credential(
    store: &Store,
    kind: CredentialKind,
    lookup: &str,
) -> Result<Option<(Credential, Tenant)>> {
    let lookup = lookup.to_owned();
    store
        .read(move |c| {
            let Some(cred) = q::find_credential(c, kind, &lookup)? else { return Ok(None) };
            let tenant =
                q::get_tenant(c, &cred.tenant)?.ok_or_else(|| Error::Internal("credential without tenant".into()))?;
            Ok(Some((cred, tenant)))
        })
        .await
}

/// Issues a new bearer token; returns it in clear (the only time it exists in clear).
#[allow(clippy::too_many_arguments)]
pub async fn issue_token(
    store: &Store,
    clock: &Clock,
    tenant: &Tenant,
    kind: TokenKind,
    principal: Option<&Principal>,
    credential: Option<&str>,
    grants: Vec<String>,
    ttl_ms: i64,
    subject: Option<String>,
    actor: &Actor,
) -> Result<(String, IssuedToken)> {
    let secret = ids::new_secret(token_prefix(kind));
    let now = tenant.now(clock);
    let epoch = match (kind, principal) {
        (TokenKind::Warp, Some(p)) => p.warp_epoch,
        (_, Some(p)) => p.session_epoch,
        (_, None) => 0,
    };
    let token = IssuedToken {
        hash: store.secrets().hash(&secret),
        tenant: tenant.account_id.clone(),
        kind,
        principal: principal.map(|p| p.id.clone()),
        credential: credential.map(str::to_owned),
        grants,
        epoch,
        issued_at: now,
        expires_at: now + ttl_ms,
        subject,
        nonce: ids::nonce(),
        device_generation: None,
    };
    let stored = token.clone();
    let actor = actor.clone();
    let expected_epoch = principal.map(|_| epoch);
    store
        .write(move |c| {
            // The principal may have been revoked or deactivated since it was read:
            // never issue a session under a dead epoch, or for an inactive user.
            let session_like = token.kind.bound_to_sessions() || token.kind == TokenKind::Warp;
            if let (Some(id), Some(epoch), true) = (&token.principal, expected_epoch, session_like) {
                let current =
                    q::get_principal_for_update(c, &token.tenant, id)?.ok_or_else(|| Error::not_found("user", id))?;
                let current_epoch =
                    if token.kind == TokenKind::Warp { current.warp_epoch } else { current.session_epoch };
                if current_epoch != epoch || (token.kind.bound_to_sessions() && current.status != Status::Active) {
                    return Err(Error::Refused("the user's sessions changed while logging in; try again".into()));
                }
            }
            q::insert_token(c, &token)?;
            let target = token.principal.clone().unwrap_or_else(|| token.credential.clone().unwrap_or_default());
            audit(
                c,
                &token.tenant,
                now,
                &actor,
                "token.issued",
                &target,
                json!({"kind": token.kind.as_str(), "nonce": token.nonce}),
            )
        })
        .await?;
    Ok((secret, stored))
}

/// How the tokens of each kind begin (so that a leaked one says what it is).
fn token_prefix(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::OauthAccess | TokenKind::UserOauth => "upz_at_",
        TokenKind::Sso => "upz_sso_",
        TokenKind::Zak => "upz_zak_",
        TokenKind::Access => "upcf_access_",
        TokenKind::Warp => "upcf_warp_",
    }
}

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
pub async fn introspect(store: &Store, clock: &Clock, secret: &str) -> Result<Option<Introspection>> {
    let hash = store.secrets().hash(secret);
    let clock = *clock;
    let found = store.read(move |c| introspect_in(c, &clock, &hash)).await?;
    crate::metrics::introspected(found.as_ref(), &clock);
    Ok(found)
}

fn introspect_in(c: &mut dyn Conn, clock: &Clock, hash: &str) -> Result<Option<Introspection>> {
    let Some((token, tenant, credential_alive)) = q::find_token_in_context(c, hash)? else { return Ok(None) };
    let now = tenant.now(clock);
    let governed_by_user = token.kind.bound_to_sessions() || token.kind == TokenKind::Warp;
    let principal = match &token.principal {
        Some(id) if governed_by_user => q::get_principal(c, &token.tenant, id)?,
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
    // An app's token names its owner only to resolve `me`; the owner's sessions don't govern it.
    if token.principal.is_some() && governed_by_user {
        match &principal {
            None => causes.push((now, InactiveReason::UserDeleted)),
            Some(p) => {
                if token.kind.bound_to_sessions() && p.session_epoch != token.epoch {
                    let (at, reason) = q::find_revocation(c, &token.tenant, &p.id, "sessions", token.epoch + 1)?
                        .unwrap_or((p.sessions_revoked_at.unwrap_or(now), String::new()));
                    causes.push((at, InactiveReason::parse(&reason).unwrap_or(InactiveReason::SessionsRevoked)));
                }
                if token.kind.bound_to_sessions() && p.status != Status::Active {
                    causes.push((p.updated_at, InactiveReason::UserDeactivated));
                }
                if token.kind == TokenKind::Warp {
                    if p.warp_epoch != token.epoch {
                        let at = q::find_revocation(c, &token.tenant, &p.id, "warp", token.epoch + 1)?
                            .map_or(p.warp_revoked_at.unwrap_or(now), |(at, _)| at);
                        causes.push((at, InactiveReason::WarpReauthRequired));
                    }
                    let device = match &token.subject {
                        Some(id) => q::get_device(c, &token.tenant, id)?,
                        None => None,
                    };
                    match device {
                        None => causes.push((now, InactiveReason::DeviceRevoked)),
                        Some(d) => {
                            if let Some(at) = d.revoked_at {
                                causes.push((at, InactiveReason::DeviceRevoked));
                            } else if token.device_generation.unwrap_or(0) != d.generation {
                                // Revoked, then un-revoked: the sessions of before stay dead.
                                causes.push((last_revoked_at(&d).unwrap_or(now), InactiveReason::DeviceRevoked));
                            }
                        }
                    }
                }
            }
        }
    }
    let state = match causes.into_iter().min_by_key(|(at, _)| *at) {
        None => TokenState::Active,
        Some((since, reason)) => TokenState::Inactive { reason, since },
    };
    Ok(Some(Introspection { token, tenant, state, principal }))
}

// ---------------------------------------------------------------- principals

/// Finds a user by id or email (case-insensitive).
pub async fn resolve_principal(store: &Store, tenant: &str, key: &str) -> Result<Principal> {
    let (tenant, key) = (tenant.to_owned(), key.to_owned());
    store.read(move |c| resolve_in(c, &tenant, &key)).await
}

fn resolve_in(c: &mut dyn Conn, tenant: &str, key: &str) -> Result<Principal> {
    let found =
        if key.contains('@') { q::find_principal_by_email(c, tenant, key)? } else { q::get_principal(c, tenant, key)? };
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
    store: &Store,
    tenant: &str,
    status: Status,
    role: Option<String>,
    start: PageStart,
    size: u32,
) -> Result<(Vec<Principal>, i64)> {
    let tenant = tenant.to_owned();
    store
        .read(move |c| {
            let scope = q::StatusScope { status, role: role.as_deref() };
            let total = q::count_principals(c, &tenant, scope)?;
            let after = match start {
                PageStart::After(email) => email,
                PageStart::Skip(0) => String::new(),
                PageStart::Skip(n) if n >= u64::try_from(total).unwrap_or(0) => return Ok((Vec::new(), total)),
                PageStart::Skip(n) => match q::email_at(c, &tenant, scope, n - 1)? {
                    Some(email) => email,
                    None => return Ok((Vec::new(), total)),
                },
            };
            let page = q::list_principals(c, &tenant, scope, &after, size.saturating_add(1))?;
            Ok((page, total))
        })
        .await
}

/// Every user of a tenant.
pub async fn all_principals(store: &Store, tenant: &str) -> Result<Vec<Principal>> {
    let tenant = tenant.to_owned();
    store.read(move |c| Ok(q::all_principals(c, &tenant)?)).await
}

/// Creates a user. A duplicate email is a conflict.
pub async fn create_principal(
    store: &Store,
    clock: &Clock,
    tenant: &Tenant,
    new: NewPrincipal,
    actor: &Actor,
) -> Result<Principal> {
    let (account, now, actor) = (tenant.account_id.clone(), tenant.now(clock), actor.clone());
    store
        .write(move |c| {
            if q::find_principal_by_email(c, &account, &new.email)?.is_some() {
                return Err(Error::Conflict(new.email.clone()));
            }
            q::insert_principal(c, &account, &new, now)?;
            audit(c, &account, now, &actor, "user.created", &new.id, json!({"email": new.email}))?;
            q::get_principal(c, &account, &new.id)?.ok_or_else(|| Error::Internal("created user vanished".into()))
        })
        .await
}

/// Applies `change` to the stored user inside one transaction (so concurrent updates
/// never lose each other's fields) and records it.
pub async fn update_principal<F>(
    store: &Store,
    clock: &Clock,
    tenant: &Tenant,
    id: &str,
    action: &'static str,
    actor: &Actor,
    change: F,
) -> Result<Principal>
where
    F: FnOnce(&mut Principal) -> Result<Json> + Send + 'static,
{
    let (account, id, now, actor) = (tenant.account_id.clone(), id.to_owned(), tenant.now(clock), actor.clone());
    store
        .write(move |c| {
            let mut principal =
                q::get_principal_for_update(c, &account, &id)?.ok_or_else(|| Error::not_found("user", &id))?;
            let detail = change(&mut principal)?;
            principal.updated_at = now;
            if let Some(other) = q::find_principal_by_email(c, &account, &principal.email)?
                && other.id != principal.id
            {
                return Err(Error::Conflict(principal.email.clone()));
            }
            q::update_principal(c, &principal)?;
            audit(c, &account, now, &actor, action, &id, detail)?;
            Ok(principal)
        })
        .await
}

/// Activates or deactivates a user. Deactivating removes the license, ends every
/// session and blocks new ones; activating revives none of the old sessions.
/// Returns the user as it was before the change.
pub async fn set_status(
    store: &Store,
    clock: &Clock,
    tenant: &Tenant,
    id: &str,
    status: Status,
    actor: &Actor,
) -> Result<Principal> {
    let (account, id, now, actor) = (tenant.account_id.clone(), id.to_owned(), tenant.now(clock), actor.clone());
    store
        .write(move |c| {
            let before = q::get_principal_for_update(c, &account, &id)?.ok_or_else(|| Error::not_found("user", &id))?;
            let mut after = before.clone();
            after.status = status;
            after.updated_at = now;
            if status == Status::Inactive {
                // Deactivation removes every license: the user falls back to Basic.
                after.license = 1;
            }
            q::update_principal(c, &after)?;
            if status == Status::Inactive {
                q::revoke_sessions(c, &account, &id, now, InactiveReason::UserDeactivated.as_str())?;
            }
            let action = if status == Status::Inactive { "user.deactivated" } else { "user.activated" };
            audit(c, &account, now, &actor, action, &id, json!({"from": before.status.as_str()}))?;
            Ok(before)
        })
        .await
}

/// Ends every session of a user, whatever their number: one epoch increment.
pub async fn revoke_sessions(
    store: &Store,
    clock: &Clock,
    tenant: &Tenant,
    id: &str,
    reason: InactiveReason,
    actor: &Actor,
) -> Result<()> {
    let (account, id, now, actor) = (tenant.account_id.clone(), id.to_owned(), tenant.now(clock), actor.clone());
    store
        .write(move |c| {
            if !q::revoke_sessions(c, &account, &id, now, reason.as_str())? {
                return Err(Error::not_found("user", &id));
            }
            audit(c, &account, now, &actor, "sessions.revoked", &id, json!({"reason": reason.as_str()}))
        })
        .await
}

/// Deletes a user, with their delegations and devices. Their tokens die with them.
pub async fn delete_principal(
    store: &Store,
    clock: &Clock,
    tenant: &Tenant,
    id: &str,
    mode: &str,
    actor: &Actor,
) -> Result<()> {
    let (account, id, now, actor, mode) =
        (tenant.account_id.clone(), id.to_owned(), tenant.now(clock), actor.clone(), mode.to_owned());
    store
        .write(move |c| {
            if !q::delete_principal(c, &account, &id)? {
                return Err(Error::not_found("user", &id));
            }
            audit(c, &account, now, &actor, "user.deleted", &id, json!({"action": mode}))
        })
        .await
}

/// Counts a user's live sessions of one kind (issued under the current epoch, unexpired).
pub async fn live_sessions(
    store: &Store,
    clock: &Clock,
    tenant: &Tenant,
    principal: &Principal,
    kind: TokenKind,
) -> Result<Vec<IssuedToken>> {
    let (account, id, epoch, now) =
        (tenant.account_id.clone(), principal.id.clone(), principal.session_epoch, tenant.now(clock));
    let epoch = if kind == TokenKind::Warp { principal.warp_epoch } else { epoch };
    store.read(move |c| Ok(q::live_tokens(c, &account, &id, kind, epoch, now)?)).await
}

// ---------------------------------------------------------------- delegations

/// The delegates (assistants) of a user, with their principals.
pub async fn delegates_of(store: &Store, tenant: &str, principal: &str) -> Result<Vec<(Delegation, Principal)>> {
    let (tenant, principal) = (tenant.to_owned(), principal.to_owned());
    store
        .read(move |c| {
            let mut out = Vec::new();
            for d in q::delegates_of(c, &tenant, &principal)? {
                if let Some(p) = q::get_principal(c, &tenant, &d.delegate)? {
                    out.push((d, p));
                }
            }
            Ok(out)
        })
        .await
}

/// The users a delegate acts for (the delegate's schedulers).
pub async fn delegators_of(store: &Store, tenant: &str, delegate: &str) -> Result<Vec<(Delegation, Principal)>> {
    let (tenant, delegate) = (tenant.to_owned(), delegate.to_owned());
    store
        .read(move |c| {
            let mut out = Vec::new();
            for d in q::principals_delegating_to(c, &tenant, &delegate)? {
                if let Some(p) = q::get_principal(c, &tenant, &d.principal)? {
                    out.push((d, p));
                }
            }
            Ok(out)
        })
        .await
}

/// Adds delegates to a user; returns the ids added (already-present ones are skipped).
pub async fn add_delegates(
    store: &Store,
    clock: &Clock,
    tenant: &Tenant,
    principal: &str,
    delegates: Vec<(String, bool)>,
    actor: &Actor,
) -> Result<Vec<String>> {
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
                if q::insert_delegation(c, &account, &d)? {
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
pub async fn remove_delegations(
    store: &Store,
    clock: &Clock,
    tenant: &Tenant,
    principal: Option<&str>,
    delegate: Option<&str>,
    actor: &Actor,
) -> Result<u64> {
    let (account, now, actor) = (tenant.account_id.clone(), tenant.now(clock), actor.clone());
    let (principal, delegate) = (principal.map(str::to_owned), delegate.map(str::to_owned));
    store
        .write(move |c| {
            let removed = q::delete_delegations(c, &account, principal.as_deref(), delegate.as_deref())?;
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

// ---------------------------------------------------------------- sessions (simulated logins)

/// What a simulated login asks for.
#[derive(Debug, Clone)]
pub enum LoginKind {
    Sso,
    UserOauth {
        scopes: Vec<String>,
    },
    /// An Access application, by aud or name.
    Access {
        app: String,
    },
    /// A WARP session on a device registration, by id or name.
    Warp {
        device: String,
    },
}

/// A simulated login: issues a session for an active user, or refuses. A refused Access
/// or WARP login is journaled as `login.failed` (what Cloudflare's failed_logins lists).
///
/// One transaction: the user (and for WARP the device registration) is read locked, so
/// a revocation, deactivation or device revoke from any node either comes before the
/// login (which is refused, or issues under the new epoch or generation) or after it
/// (and kills the session it issued).
pub async fn login(
    store: &Store,
    clock: &Clock,
    tenant: &Tenant,
    user: &str,
    kind: LoginKind,
) -> Result<(String, IssuedToken)> {
    let (account, clock, tenant) = (tenant.account_id.clone(), *clock, tenant.clone());
    let (user, secrets) = (user.to_owned(), store.secrets().clone());
    let outcome = store
        .write(move |c| {
            let found = resolve_in(c, &account, &user)?;
            let principal =
                q::get_principal_for_update(c, &account, &found.id)?.ok_or_else(|| Error::not_found("user", &user))?;
            let now = tenant.now(&clock);
            let refused = match login_in(c, &secrets, now, &principal, &kind)? {
                Ok(issued) => return Ok(Ok(issued)),
                Err(reason) => reason,
            };
            if matches!(kind, LoginKind::Access { .. } | LoginKind::Warp { .. }) {
                record_failed_login(c, &account, now, &principal, &kind, &refused)?;
            }
            Ok(Err(refused))
        })
        .await?;
    outcome.map_err(Error::Refused)
}

/// Issues the session of a login inside its transaction, `principal` locked; `Err` is
/// why the login is refused (nothing written yet).
fn login_in(
    c: &mut dyn Conn,
    secrets: &ids::SecretHasher,
    now: Timestamp,
    principal: &Principal,
    kind: &LoginKind,
) -> Result<std::result::Result<(String, IssuedToken), String>> {
    if principal.status != Status::Active {
        return Ok(Err(format!("user {} is {}", principal.email, principal.status.as_str())));
    }
    let account = principal.tenant.as_str();
    let (token_kind, ttl_ms, subject, grants, device_generation) = match kind {
        LoginKind::Sso => (TokenKind::Sso, ttl::SSO, None, vec![], None),
        LoginKind::UserOauth { scopes } => (TokenKind::UserOauth, ttl::OAUTH_ACCESS, None, scopes.clone(), None),
        LoginKind::Access { app } => {
            let found = q::list_apps(c, account)?.into_iter().find(|a| &a.aud == app || &a.name == app || &a.id == app);
            let app = found.ok_or_else(|| Error::not_found("app", app))?;
            (TokenKind::Access, ttl::ACCESS, Some(app.aud), vec![], None)
        }
        LoginKind::Warp { device } => {
            let found = q::list_devices_for_update(c, account, &principal.id)?
                .into_iter()
                .find(|d| &d.id == device || &d.name == device || &d.device_id == device);
            let device = found.ok_or_else(|| Error::not_found("device", device))?;
            if device.revoked_at.is_some() {
                return Ok(Err(format!("device {} is revoked", device.name)));
            }
            q::touch_device(c, account, &device.id, now)?;
            (TokenKind::Warp, ttl::WARP, Some(device.id), vec![], Some(device.generation))
        }
    };
    let secret = ids::new_secret(token_prefix(token_kind));
    let token = IssuedToken {
        hash: secrets.hash(&secret),
        tenant: account.to_owned(),
        kind: token_kind,
        principal: Some(principal.id.clone()),
        credential: None,
        grants,
        epoch: if token_kind == TokenKind::Warp { principal.warp_epoch } else { principal.session_epoch },
        issued_at: now,
        expires_at: now + ttl_ms,
        subject,
        nonce: ids::nonce(),
        device_generation,
    };
    q::insert_token(c, &token)?;
    q::update_principal(c, &Principal { last_login_at: Some(now), ..principal.clone() })?;
    let detail = json!({"kind": token_kind.as_str(), "nonce": token.nonce});
    audit(c, account, now, &Actor::admin(), "token.issued", &principal.id, detail)?;
    Ok(Ok((secret, token)))
}

/// The device attribute that remembers the last revocation (when un-revoked sessions of
/// before died, for introspection; whether they did is the generation's business).
pub const DEVICE_SESSIONS_REVOKED_THROUGH: &str = "sessions_revoked_through";
/// The device attribute holding when its state last changed.
pub const DEVICE_UPDATED_AT: &str = "updated_at";

fn last_revoked_at(device: &Device) -> Option<Timestamp> {
    device.attributes.get(DEVICE_SESSIONS_REVOKED_THROUGH).and_then(Json::as_i64)
}

/// Journals a refused Access or WARP login (inside the login's transaction).
fn record_failed_login(
    c: &mut dyn Conn,
    account: &str,
    now: Timestamp,
    principal: &Principal,
    kind: &LoginKind,
    reason: &str,
) -> Result<()> {
    let mut detail = json!({"email": principal.email, "reason": reason});
    match kind {
        LoginKind::Access { app } => {
            let found = q::list_apps(c, account)?.into_iter().find(|a| &a.aud == app || &a.name == app);
            detail["kind"] = json!("access");
            detail["app_name"] = json!(found.as_ref().map_or(app.as_str(), |a| a.name.as_str()));
            detail["aud"] = json!(found.as_ref().map_or("", |a| a.aud.as_str()));
        }
        LoginKind::Warp { device } => {
            let found = q::list_devices(c, account, Some(&principal.id))?
                .into_iter()
                .find(|d| &d.id == device || &d.name == device || &d.device_id == device);
            detail["kind"] = json!("warp");
            detail["device"] = json!(found.as_ref().map_or(device.as_str(), |d| d.id.as_str()));
            detail["device_name"] = json!(found.as_ref().map_or(device.as_str(), |d| d.name.as_str()));
        }
        _ => {}
    }
    audit(c, account, now, &Actor::admin(), "login.failed", &principal.id, detail)
}

// ---------------------------------------------------------------- access sessions and devices

/// What revoking a user's access covers besides their application sessions.
#[derive(Debug, Clone, Copy, Default)]
pub struct RevokeAccess {
    /// Also revoke every device registration of the user (their WARP sessions die with them).
    pub devices: bool,
    /// Also end every WARP session of the user (they must log in to WARP again).
    pub warp_sessions: bool,
}

/// Ends every application (Access) session of the user with this email, in one
/// transaction with its journal record, whatever the number of sessions (one epoch
/// increment). `user_id`, when given, must name the same user (with or without dashes).
/// Returns the user (as before the change) and how many device registrations were revoked.
pub async fn revoke_user_access(
    store: &Store,
    clock: &Clock,
    tenant: &Tenant,
    email: &str,
    user_id: Option<String>,
    what: RevokeAccess,
    actor: &Actor,
) -> Result<(Principal, u64)> {
    let (account, now, actor) = (tenant.account_id.clone(), tenant.now(clock), actor.clone());
    // Found outside the write transaction, which then stays short: an email always names
    // the same user here, and revoke_sessions below fails if that user is gone.
    let principal = {
        let (account, email) = (account.clone(), email.to_owned());
        store
            .read(move |c| {
                q::find_principal_by_email(c, &account, &email)?.ok_or_else(|| Error::not_found("user", &email))
            })
            .await?
    };
    if let Some(uid) = &user_id {
        let plain = |s: &str| s.replace('-', "").to_ascii_lowercase();
        if plain(uid) != plain(&principal.id) {
            return Err(Error::invalid("user_uid", "user_uid does not match the user with this email"));
        }
    }
    store
        .write(move |c| {
            if !q::revoke_sessions(c, &account, &principal.id, now, InactiveReason::AccessRevoked.as_str())? {
                return Err(Error::not_found("user", &principal.email));
            }
            let mut revoked = 0;
            if what.devices {
                for mut device in q::list_devices_for_update(c, &account, &principal.id)? {
                    if device.revoked_at.is_none() {
                        mark_revoked(&mut device, now);
                        q::update_device(c, &device)?;
                        revoked += 1;
                    }
                }
            }
            if what.warp_sessions {
                q::revoke_warp_sessions(c, &account, &principal.id, now)?;
            }
            audit(
                c,
                &account,
                now,
                &actor,
                "access.revoked",
                &principal.id,
                json!({"email": principal.email, "devices": what.devices, "devices_revoked": revoked,
                       "warp_session_reauth": what.warp_sessions}),
            )?;
            Ok((principal, revoked))
        })
        .await
}

/// Revokes a registration (read locked): a new generation, so every WARP session
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
pub async fn set_devices_revoked(
    store: &Store,
    clock: &Clock,
    tenant: &Tenant,
    ids: Vec<String>,
    revoked: bool,
    actor: &Actor,
) -> Result<Vec<Device>> {
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
                        q::get_device_for_update(c, &account, id)?.ok_or_else(|| Error::not_found("device", id))?;
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
                    q::update_device(c, device)?;
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
pub async fn list_devices(store: &Store, tenant: &str, principal: Option<&str>) -> Result<Vec<Device>> {
    let (tenant, principal) = (tenant.to_owned(), principal.map(str::to_owned));
    store.read(move |c| Ok(q::list_devices(c, &tenant, principal.as_deref())?)).await
}

/// Every application of a tenant.
pub async fn list_apps(store: &Store, tenant: &str) -> Result<Vec<App>> {
    let tenant = tenant.to_owned();
    store.read(move |c| Ok(q::list_apps(c, &tenant)?)).await
}

/// A page of users `skip` from the start with the filters given, the total that match,
/// and the number of live device registrations of each user on the page.
pub async fn page_principals(
    store: &Store,
    tenant: &str,
    filter: q::PrincipalFilter,
    skip: u64,
    limit: u32,
) -> Result<(Vec<(Principal, i64)>, i64)> {
    let tenant = tenant.to_owned();
    store
        .read(move |c| {
            let total = q::count_filtered_principals(c, &tenant, &filter)?;
            if skip >= u64::try_from(total).unwrap_or(0) {
                return Ok((Vec::new(), total));
            }
            Ok((q::page_principals(c, &tenant, &filter, skip, limit)?, total))
        })
        .await
}

/// One of a user's sessions by its nonce.
pub async fn session_by_nonce(
    store: &Store,
    tenant: &str,
    principal: &str,
    nonce: &str,
) -> Result<Option<IssuedToken>> {
    let (tenant, principal, nonce) = (tenant.to_owned(), principal.to_owned(), nonce.to_owned());
    store.read(move |c| Ok(q::find_token_by_nonce(c, &tenant, &principal, &nonce)?)).await
}

/// A user's most recent Access or WARP session (their last login).
pub async fn last_access_or_warp_session(store: &Store, tenant: &str, principal: &str) -> Result<Option<IssuedToken>> {
    let (tenant, principal) = (tenant.to_owned(), principal.to_owned());
    store.read(move |c| Ok(q::latest_token(c, &tenant, &principal, [TokenKind::Access, TokenKind::Warp])?)).await
}

/// A user's refused Access and WARP logins, newest first.
pub async fn failed_logins(store: &Store, tenant: &str, principal: &str, limit: i64) -> Result<Vec<AuditRecord>> {
    let (tenant, principal) = (tenant.to_owned(), principal.to_owned());
    store.read(move |c| Ok(q::list_audit_for(c, &tenant, "login.failed", &principal, limit)?)).await
}

// ---------------------------------------------------------------- settings documents

/// A tenant's named settings document (e.g. a Cloudflare Access organization), if it has one.
pub async fn get_setting(store: &Store, tenant: &str, name: &str) -> Result<Option<q::Setting>> {
    let (tenant, name) = (tenant.to_owned(), name.to_owned());
    store.read(move |c| Ok(q::get_setting(c, &tenant, &name)?)).await
}

/// Creates a settings document (a conflict if it exists) or updates one (not found if
/// it does not), merging `fields` over what is stored. Returns it as stored.
pub async fn put_setting(
    store: &Store,
    clock: &Clock,
    tenant: &Tenant,
    name: &'static str,
    create: bool,
    fields: Map<String, Json>,
    actor: &Actor,
) -> Result<q::Setting> {
    let (account, now, actor) = (tenant.account_id.clone(), tenant.now(clock), actor.clone());
    store
        .write(move |c| {
            let changed: Vec<String> = fields.keys().cloned().collect();
            if create {
                // One statement decides: of two creates from two nodes, one finds the other's.
                if !q::insert_setting(c, &account, name, &fields, now)? {
                    return Err(Error::Conflict(format!("{name} already exists")));
                }
            } else {
                // Locked: a concurrent update of other fields waits, then merges over ours.
                let mut document = q::get_setting_for_update(c, &account, name)?
                    .ok_or_else(|| Error::not_found("setting", name))?
                    .document;
                document.extend(fields);
                q::put_setting(c, &account, name, &document, now)?;
            }
            let action = if create { "setting.created" } else { "setting.updated" };
            audit(c, &account, now, &actor, action, name, json!({"fields": changed}))?;
            q::get_setting(c, &account, name)?.ok_or_else(|| Error::Internal("setting vanished".into()))
        })
        .await
}
