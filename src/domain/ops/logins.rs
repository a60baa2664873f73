use serde_json::json;

use super::super::ids;
use super::super::{Actor, App, AuditRecord, Error, IssuedToken, Principal, Result, Status, Timestamp, TokenKind};
use super::{Ctx, audit, resolve_in, token_prefix, ttl};
use crate::store::{Conn, Store, queries as q};

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
pub async fn login(ctx: Ctx<'_>, user: &str, kind: LoginKind) -> Result<(String, IssuedToken)> {
    let Ctx { store, clock, tenant, .. } = ctx;
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

/// Every application of a tenant.
pub async fn list_apps(store: &Store, tenant: &str) -> Result<Vec<App>> {
    let tenant = tenant.to_owned();
    store.read(move |c| Ok(q::list_apps(c, &tenant)?)).await
}
