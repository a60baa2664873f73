use serde_json::json;

use super::super::ids;
use super::super::provider::{SESSIONS, TokenSpec};
use super::super::{Actor, App, AuditRecord, Error, IssuedToken, Principal, Result, Status, Timestamp, TokenKind};
use super::{Ctx, audit, resolve_in};
use crate::domain::{Storage, Tx};

/// What a simulated login asks for: a session of a kind its dialect declares.
#[derive(Debug, Clone)]
pub struct Login {
    pub token: &'static TokenSpec,
    pub grants: Vec<String>,
    pub at: LoginAt,
}

/// Where a simulated login happens.
#[derive(Debug, Clone)]
pub enum LoginAt {
    /// The user alone (an SSO session, a user-level OAuth token).
    User,
    /// An application the user logs in to, by aud, name or id.
    App(String),
    /// A device registration of the user, by id, name or device id: the session also
    /// dies with the registration.
    Device(String),
}

impl Login {
    pub fn user(token: &'static TokenSpec, grants: Vec<String>) -> Self {
        Login { token, grants, at: LoginAt::User }
    }

    pub fn app(token: &'static TokenSpec, app: String) -> Self {
        Login { token, grants: Vec::new(), at: LoginAt::App(app) }
    }

    pub fn device(token: &'static TokenSpec, device: String) -> Self {
        Login { token, grants: Vec::new(), at: LoginAt::Device(device) }
    }
}

/// A simulated login: issues a session for an active user, or refuses. A refused login
/// to an application or on a device is journaled as `login.failed` (what Cloudflare's
/// failed_logins lists).
///
/// One transaction: the user (and a device registration) is read locked, so a
/// revocation, deactivation or device revoke from any node either comes before the
/// login (which is refused, or issues under the new epoch or generation) or after it
/// (and kills the session it issued).
pub async fn login(ctx: Ctx<'_>, user: &str, login: Login) -> Result<(String, IssuedToken)> {
    let Ctx { store, clock, tenant, .. } = ctx;
    let (account, clock, tenant) = (tenant.account_id.clone(), *clock, tenant.clone());
    let (user, secrets) = (user.to_owned(), store.secrets().clone());
    let outcome = store
        .write(move |c| {
            let found = resolve_in(c, &account, &user)?;
            let principal =
                c.get_principal_for_update(&account, &found.id)?.ok_or_else(|| Error::not_found("user", &user))?;
            let now = tenant.now(&clock);
            let refused = match login_in(c, &secrets, now, &principal, &login)? {
                Ok(issued) => return Ok(Ok(issued)),
                Err(reason) => reason,
            };
            if !matches!(login.at, LoginAt::User) {
                record_failed_login(c, &account, now, &principal, &login, &refused)?;
            }
            Ok(Err(refused))
        })
        .await?;
    outcome.map_err(Error::Refused)
}

/// Issues the session of a login inside its transaction, `principal` locked; `Err` is
/// why the login is refused (nothing written yet).
fn login_in(
    c: &mut dyn Tx,
    secrets: &ids::SecretHasher,
    now: Timestamp,
    principal: &Principal,
    login: &Login,
) -> Result<std::result::Result<(String, IssuedToken), String>> {
    if principal.status != Status::Active {
        return Ok(Err(format!("user {} is {}", principal.email, principal.status.as_str())));
    }
    let account = principal.tenant.as_str();
    let (subject, device_generation) = match &login.at {
        LoginAt::User => (None, None),
        LoginAt::App(app) => {
            let found = c.list_apps(account)?.into_iter().find(|a| &a.aud == app || &a.name == app || &a.id == app);
            let app = found.ok_or_else(|| Error::not_found("app", app))?;
            (Some(app.aud), None)
        }
        LoginAt::Device(device) => {
            let found = c
                .list_devices_for_update(account, &principal.id)?
                .into_iter()
                .find(|d| &d.id == device || &d.name == device || &d.device_id == device);
            let device = found.ok_or_else(|| Error::not_found("device", device))?;
            if device.revoked_at.is_some() {
                return Ok(Err(format!("device {} is revoked", device.name)));
            }
            c.touch_device(account, &device.id, now)?;
            (Some(device.id), Some(device.generation))
        }
    };
    let spec = login.token;
    let epoch = match spec.scope {
        Some(scope) if scope != SESSIONS => c.scope_epoch(account, &principal.id, scope)?.0,
        _ => principal.session_epoch,
    };
    let secret = ids::new_secret(spec.prefix);
    let token = IssuedToken {
        hash: secrets.hash(&secret),
        tenant: account.to_owned(),
        kind: spec.kind.clone(),
        principal: Some(principal.id.clone()),
        credential: None,
        grants: login.grants.clone(),
        scope: spec.scope.map(str::to_owned),
        epoch,
        issued_at: now,
        expires_at: now + spec.ttl_ms,
        subject,
        nonce: ids::nonce(),
        device_generation,
    };
    c.insert_token(&token)?;
    c.update_principal(&Principal { last_login_at: Some(now), ..principal.clone() })?;
    let detail = json!({"kind": token.kind.as_str(), "nonce": token.nonce});
    audit(c, account, now, &Actor::admin(), "token.issued", &principal.id, detail)?;
    Ok(Ok((secret, token)))
}

/// Journals a refused login to an application or on a device (inside the login's
/// transaction).
fn record_failed_login(
    c: &mut dyn Tx,
    account: &str,
    now: Timestamp,
    principal: &Principal,
    login: &Login,
    reason: &str,
) -> Result<()> {
    let mut detail = json!({"email": principal.email, "reason": reason});
    match &login.at {
        LoginAt::App(app) => {
            let found = c.list_apps(account)?.into_iter().find(|a| &a.aud == app || &a.name == app);
            detail["kind"] = json!(login.token.kind.as_str());
            detail["app_name"] = json!(found.as_ref().map_or(app.as_str(), |a| a.name.as_str()));
            detail["aud"] = json!(found.as_ref().map_or("", |a| a.aud.as_str()));
        }
        LoginAt::Device(device) => {
            let found = c
                .list_devices(account, Some(&principal.id))?
                .into_iter()
                .find(|d| &d.id == device || &d.name == device || &d.device_id == device);
            detail["kind"] = json!(login.token.kind.as_str());
            detail["device"] = json!(found.as_ref().map_or(device.as_str(), |d| d.id.as_str()));
            detail["device_name"] = json!(found.as_ref().map_or(device.as_str(), |d| d.name.as_str()));
        }
        LoginAt::User => {}
    }
    audit(c, account, now, &Actor::admin(), "login.failed", &principal.id, detail)
}

/// One of a user's sessions by its nonce.
pub async fn session_by_nonce(
    store: &dyn Storage,
    tenant: &str,
    principal: &str,
    nonce: &str,
) -> Result<Option<IssuedToken>> {
    let (tenant, principal, nonce) = (tenant.to_owned(), principal.to_owned(), nonce.to_owned());
    store.read(move |c| c.find_token_by_nonce(&tenant, &principal, &nonce)).await
}

/// A user's most recent session of either kind (their last login).
pub async fn latest_session(
    store: &dyn Storage,
    tenant: &str,
    principal: &str,
    kinds: [TokenKind; 2],
) -> Result<Option<IssuedToken>> {
    let (tenant, principal) = (tenant.to_owned(), principal.to_owned());
    store.read(move |c| c.latest_token(&tenant, &principal, &kinds)).await
}

/// A user's refused logins to applications and on devices, newest first.
pub async fn failed_logins(store: &dyn Storage, tenant: &str, principal: &str, limit: i64) -> Result<Vec<AuditRecord>> {
    let (tenant, principal) = (tenant.to_owned(), principal.to_owned());
    store.read(move |c| c.list_audit_for(&tenant, "login.failed", &principal, limit)).await
}

/// Every application of a tenant.
pub async fn list_apps(store: &dyn Storage, tenant: &str) -> Result<Vec<App>> {
    let tenant = tenant.to_owned();
    store.read(move |c| c.list_apps(&tenant)).await
}
