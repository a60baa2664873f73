//! Access: revoke_user, the organization, Zero Trust users and their sessions,
//! applications. A zone path acts on the account that owns the zone (its one
//! organization, its users, its applications).
//!
//! **An unknown email in revoke_user is 404 12135 `access.api.error.not_found`**, and
//! nothing changes. Cloudflare's own answer is not documented; a 200 would let an
//! offboarding script with a typo in the address report success while the person keeps
//! their access, so userplane says so instead.

use std::collections::HashMap;

use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::auth::{Caller, Schemes, authenticate, needs};
use super::provider;
use super::extract::{CfJson, CfQuery, FromParams};
use super::params::{PageNumber, Params};
use super::tenant::ACCESS_ORGANIZATION;
use super::{CfError, Ctx, Ids, canonical_uuid, envelope};
use crate::api::body::Field;
use crate::domain::clock::rfc3339;
use crate::domain::ops::{self, RevokeAccess};
use crate::domain::tenant::normalize_email;
use crate::domain::{App, IssuedToken, Principal, Status, Timestamp};
use crate::domain::{PrincipalFilter, Setting};

type Result<T> = std::result::Result<T, CfError>;

/// Authenticates, then checks the path's account or zone and the permission group.
async fn caller(ctx: &Ctx, ids: &Ids, needs: &[&str]) -> Result<Caller> {
    let caller = authenticate(ctx, Schemes::TokenOrKey).await?;
    caller.authorize(ctx, &ids.scope()).await?;
    caller.require(needs)?;
    Ok(caller)
}

/// The query of `revoke_user`.
pub struct RevokeQuery {
    devices: Option<bool>,
}

impl FromParams for RevokeQuery {
    fn from_params(params: &Params) -> Result<Self> {
        Ok(RevokeQuery { devices: params.bool("devices")? })
    }
}

/// The body of `revoke_user`.
#[derive(Deserialize)]
pub struct RevokeUser {
    #[serde(default)]
    email: Field<String>,
    #[serde(default)]
    devices: Field<bool>,
    #[serde(default)]
    warp_session_reauth: Field<bool>,
    #[serde(default)]
    user_uid: Field<String>,
}

fn optional_bool(field: Field<bool>, name: &str) -> Result<Option<bool>> {
    match field {
        Field::Absent => Ok(None),
        Field::Valid(b) => Ok(Some(b)),
        Field::Invalid => Err(CfError::invalid(format!("{name} must be a boolean"))),
    }
}

/// `POST /{accounts|zones}/{id}/access/organizations/revoke_user`: ends every Access
/// session of the user; `devices` (in the body or the query: true in either place) also
/// revokes their device registrations; `warp_session_reauth` ends their WARP sessions.
/// The zones variant takes the same fields and, like the SDKs send it, tokens as well as
/// global keys.
pub async fn revoke_user(
    ctx: Ctx,
    ids: Ids,
    query: CfQuery<RevokeQuery>,
    body: CfJson<RevokeUser>,
) -> Result<Response> {
    let caller = caller(&ctx, &ids, needs::REVOKE_USER).await?;
    let query_devices = query.read()?.devices;
    let request = body.read().await?;
    let email = match request.email {
        Field::Absent => return Err(CfError::invalid("email is required")),
        Field::Valid(email) => normalize_email(&email).ok_or_else(|| CfError::invalid("email is invalid"))?,
        Field::Invalid => return Err(CfError::invalid("email must be a string")),
    };
    let body_devices = optional_bool(request.devices, "devices")?;
    let warp_sessions = optional_bool(request.warp_session_reauth, "warp_session_reauth")?.unwrap_or(false);
    let user_uid = match request.user_uid {
        Field::Absent => None,
        Field::Valid(uid) => Some(canonical_uuid(&uid).ok_or_else(|| CfError::invalid("user_uid is invalid"))?),
        Field::Invalid => return Err(CfError::invalid("user_uid must be a string")),
    };
    let devices = query_devices.unwrap_or(false) || body_devices.unwrap_or(false);
    let what = RevokeAccess { devices, scopes: vec![(&provider::WARP_REAUTH, warp_sessions)] };
    let state = &ctx.state;
    ops::revoke_user_access(
        ops::Ctx::new(&state.store, &state.clock, &caller.tenant, &caller.actor()),
        &email,
        user_uid,
        what,
    )
    .await?;
    Ok(envelope::ok(json!(true)))
}

// ---------------------------------------------------------------- organization

/// The organization's fields that can be set, with their JSON types.
const ORGANIZATION_FIELDS: &[(&str, &str)] = &[
    ("name", "string"),
    ("auth_domain", "string"),
    ("session_duration", "string"),
    ("warp_auth_session_duration", "string"),
    ("user_seat_expiration_inactive_time", "string"),
    ("ui_read_only_toggle_reason", "string"),
    ("allow_authenticate_via_warp", "boolean"),
    ("auto_redirect_to_identity", "boolean"),
    ("is_ui_read_only", "boolean"),
    ("deny_unmatched_requests", "boolean"),
    ("mfa_required_for_all_apps", "boolean"),
    ("strict_service_token_auth", "boolean"),
    ("warp_auth_non_browser_401", "boolean"),
    ("login_design", "object"),
    ("custom_pages", "object"),
    ("mfa_config", "object"),
    ("mfa_piv_key_requirements", "object"),
    ("service_token_inactivity", "object"),
    ("deny_unmatched_requests_exempted_zone_names", "array"),
];

/// The settable fields of a request body, type-checked; unknown fields are ignored
/// (newer SDKs send fields this slice does not model).
fn organization_fields(fields: Map<String, Value>, creating: bool) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for (name, kind) in ORGANIZATION_FIELDS {
        let Some(value) = fields.get(*name) else { continue };
        let ok = match *kind {
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "object" => value.is_object(),
            _ => value.is_array(),
        };
        if !ok {
            return Err(CfError::invalid(format!(
                "{name} must be a{} {kind}",
                if *kind == "object" || *kind == "array" { "n" } else { "" }
            )));
        }
        out.insert((*name).to_owned(), value.clone());
    }
    for required in ["name", "auth_domain"] {
        let value = out.get(required).and_then(Value::as_str).map(str::trim);
        match value {
            Some("") => return Err(CfError::invalid(format!("{required} must not be empty"))),
            None if creating => return Err(CfError::invalid(format!("{required} is required"))),
            _ => {}
        }
    }
    if let Some(domain) = out.get("auth_domain").and_then(Value::as_str) {
        let ok = domain.contains('.') && domain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !ok {
            return Err(CfError::invalid("auth_domain must be a domain name"));
        }
    }
    Ok(out)
}

fn organization_view(setting: &Setting) -> Value {
    let mut view = json!({
        "name": "",
        "auth_domain": "",
        "allow_authenticate_via_warp": false,
        "auto_redirect_to_identity": false,
        "is_ui_read_only": false,
        "ui_read_only_toggle_reason": "",
        "deny_unmatched_requests": false,
        "mfa_required_for_all_apps": false,
        // The lifetime of the Access sessions userplane issues.
        "session_duration": "24h",
        "warp_auth_session_duration": "24h",
        "user_seat_expiration_inactive_time": "",
        "login_design": {},
        "custom_pages": {},
    });
    if let Some(map) = view.as_object_mut() {
        for (k, v) in &setting.document {
            map.insert(k.clone(), v.clone());
        }
        map.insert("created_at".into(), json!(rfc3339(setting.created_at)));
        map.insert("updated_at".into(), json!(rfc3339(setting.updated_at)));
    }
    view
}

/// `GET /{accounts|zones}/{id}/access/organizations` (the SDK's `organizations.list()`,
/// which returns one object). 404 12135 when the account has none.
pub async fn get_organization(ctx: Ctx, ids: Ids) -> Result<Response> {
    let caller = caller(&ctx, &ids, needs::ORGANIZATION_READ).await?;
    let setting = ops::get_setting(&ctx.state.store, &caller.tenant.account_id, ACCESS_ORGANIZATION)
        .await?
        .ok_or_else(CfError::not_found)?;
    Ok(envelope::ok(organization_view(&setting)))
}

/// The body of a write to the organization: a document, whose known fields
/// [`organization_fields`] type-checks.
type OrganizationBody = CfJson<Map<String, Value>>;

/// `POST .../access/organizations`: creates the organization (201); `name` and
/// `auth_domain` are required; 409 if there already is one.
pub async fn create_organization(ctx: Ctx, ids: Ids, body: OrganizationBody) -> Result<Response> {
    Ok(envelope::created(write_organization(ctx, ids, body, true).await?))
}

/// `PUT .../access/organizations`: updates the fields given; 404 if there is none yet.
pub async fn update_organization(ctx: Ctx, ids: Ids, body: OrganizationBody) -> Result<Response> {
    Ok(envelope::ok(write_organization(ctx, ids, body, false).await?))
}

/// Creates (`creating`) or updates the organization; returns its view.
async fn write_organization(ctx: Ctx, ids: Ids, body: OrganizationBody, creating: bool) -> Result<Value> {
    let caller = caller(&ctx, &ids, needs::ORGANIZATION_WRITE).await?;
    let fields = organization_fields(body.read().await?, creating)?;
    let state = &ctx.state;
    let setting = ops::put_setting(
        ops::Ctx::new(&state.store, &state.clock, &caller.tenant, &caller.actor()),
        ACCESS_ORGANIZATION,
        creating,
        fields,
    )
    .await?;
    Ok(organization_view(&setting))
}

// ---------------------------------------------------------------- users

fn user_name(p: &Principal) -> String {
    match p.attributes.get("name").and_then(Value::as_str) {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => format!("{} {}", p.first_name, p.last_name).trim().to_owned(),
    }
}

fn user_view(p: &Principal, live_devices: i64) -> Value {
    json!({
        "id": p.id,
        "uid": p.id,
        "email": p.email,
        "name": user_name(p),
        // A seat is taken by logging in: to an application (Access) or with WARP (Gateway).
        "access_seat": p.last_login_at.is_some(),
        "gateway_seat": live_devices > 0,
        "active_device_count": live_devices,
        "last_successful_login": p.last_login_at.map(rfc3339),
        "created_at": rfc3339(p.created_at),
        "updated_at": rfc3339(p.updated_at),
    })
}

/// The query of `GET .../access/users`.
pub struct UsersQuery {
    page: PageNumber,
    filter: PrincipalFilter,
}

impl FromParams for UsersQuery {
    fn from_params(params: &Params) -> Result<Self> {
        let page = params.page_number(1000, 1000)?;
        let filter =
            PrincipalFilter { email: params.text("email"), name: params.text("name"), search: params.text("search") };
        Ok(UsersQuery { page, filter })
    }
}

/// `GET /accounts/{id}/access/users`: page-numbered (`page` from 1, `per_page` 1..=1000,
/// default 1000), filters `email` (exact), `name` (exact), `search` (substring of email
/// or name). A page past the end is empty.
pub async fn list_users(ctx: Ctx, ids: Ids, query: CfQuery<UsersQuery>) -> Result<Response> {
    let caller = caller(&ctx, &ids, needs::USERS_READ).await?;
    let UsersQuery { page, filter } = query.read()?;
    let (users, total) =
        ops::page_principals(&ctx.state.store, &caller.tenant.account_id, filter, page.skip(), page.per_page).await?;
    let items = users.iter().map(|(p, devices)| user_view(p, *devices)).collect();
    Ok(envelope::page(items, page.page.into(), page.per_page.into(), total))
}

/// The user named by the path, or 404 12135.
async fn path_user(ctx: &Ctx, caller: &Caller, ids: &Ids) -> Result<Principal> {
    ops::resolve_principal(&ctx.state.store, &caller.tenant.account_id, ids.get("user_id")).await.map_err(CfError::from)
}

fn apps_by_aud(apps: Vec<App>) -> HashMap<String, App> {
    apps.into_iter().map(|a| (a.aud.clone(), a)).collect()
}

fn secs(at: Timestamp) -> i64 {
    at.div_euclid(1000)
}

fn session_view(user: &Principal, token: &IssuedToken, apps: &HashMap<String, App>) -> Value {
    let mut app_map = Map::new();
    if let Some(aud) = &token.subject {
        let app = apps.get(aud);
        app_map.insert(
            aud.clone(),
            json!({
                "hostname": app.map_or("", |a| a.domain.as_str()),
                "name": app.map_or("", |a| a.name.as_str()),
                "type": app.map_or("self_hosted", |a| a.kind.as_str()),
                "uid": app.map_or("", |a| a.id.as_str()),
            }),
        );
    }
    json!({
        "name": user_name(user),
        "expiration": secs(token.expires_at),
        "metadata": {
            "apps": app_map,
            "expires": secs(token.expires_at),
            "iat": secs(token.issued_at),
            "nonce": token.nonce,
            "ttl": secs(token.expires_at - token.issued_at),
        },
    })
}

/// `GET .../access/users/{user_id}/active_sessions`: the user's live Access sessions
/// (one page).
pub async fn active_sessions(ctx: Ctx, ids: Ids) -> Result<Response> {
    let caller = caller(&ctx, &ids, needs::USERS_READ).await?;
    let user = path_user(&ctx, &caller, &ids).await?;
    let state = &ctx.state;
    let tokens = ops::live_sessions(
        ops::Ctx::new(&state.store, &state.clock, &caller.tenant, &caller.actor()),
        &user,
        &provider::ACCESS,
    )
    .await?;
    let apps = apps_by_aud(ops::list_apps(&state.store, &caller.tenant.account_id).await?);
    Ok(envelope::single_page(tokens.iter().map(|t| session_view(&user, t, &apps)).collect()))
}

/// An identity as Access records it at login. What a simulated login does not know
/// (address, country, identity provider, certificates) is empty, never made up.
async fn identity_view(ctx: &Ctx, caller: &Caller, user: &Principal, token: &IssuedToken) -> Result<Value> {
    let mut device_id = String::new();
    let mut device_sessions = Map::new();
    if token.kind == provider::WARP.kind
        && let Some(registration) = &token.subject
    {
        let devices = ops::list_devices(&ctx.state.store, &caller.tenant.account_id, Some(&user.id)).await?;
        if let Some(device) = devices.iter().find(|d| &d.id == registration) {
            device_id = device.device_id.clone();
            device_sessions.insert(device.device_id.clone(), json!({"last_authenticated": secs(token.issued_at)}));
        }
    }
    Ok(json!({
        "account_id": caller.tenant.account_id,
        "auth_status": "NONE",
        "common_name": "",
        "devicePosture": {},
        "device_id": device_id,
        "device_sessions": device_sessions,
        "email": user.email,
        "geo": {"country": ""},
        "iat": secs(token.issued_at),
        "idp": {"id": "", "type": ""},
        "ip": "",
        "is_gateway": false,
        "is_warp": token.kind == provider::WARP.kind,
        "mtls_auth": {"auth_status": "NONE", "cert_issuer_dn": "", "cert_issuer_ski": "", "cert_presented": false, "cert_serial": ""},
        "service_token_id": "",
        "service_token_status": false,
        "user_uuid": user.id,
        "version": 2,
    }))
}

/// `GET .../active_sessions/{nonce}`: one Access session's identity, with `isActive`
/// (false once it expired or was revoked). 404 12135 for a nonce the user never had.
pub async fn active_session(ctx: Ctx, ids: Ids) -> Result<Response> {
    let caller = caller(&ctx, &ids, needs::USERS_READ).await?;
    let user = path_user(&ctx, &caller, &ids).await?;
    let token = ops::session_by_nonce(&ctx.state.store, &caller.tenant.account_id, &user.id, ids.get("nonce"))
        .await?
        .filter(|t| t.kind == provider::ACCESS.kind)
        .ok_or_else(CfError::not_found)?;
    let now = caller.tenant.now(&ctx.state.clock);
    let active = token.expires_at > now && token.epoch == user.session_epoch && user.status == Status::Active;
    let mut view = identity_view(&ctx, &caller, &user, &token).await?;
    view["isActive"] = json!(active);
    Ok(envelope::ok(view))
}

/// `GET .../last_seen_identity`: the identity of the user's last Access or WARP login;
/// 404 12135 if they never logged in.
pub async fn last_seen_identity(ctx: Ctx, ids: Ids) -> Result<Response> {
    let caller = caller(&ctx, &ids, needs::USERS_READ).await?;
    let user = path_user(&ctx, &caller, &ids).await?;
    let token = ops::latest_session(
        &ctx.state.store,
        &caller.tenant.account_id,
        &user.id,
        [provider::ACCESS.kind.clone(), provider::WARP.kind.clone()],
    )
    .await?
    .ok_or_else(CfError::not_found)?;
    let mut view = identity_view(&ctx, &caller, &user, &token).await?;
    view["passkeys"] = json!([]);
    Ok(envelope::ok(view))
}

/// `GET .../failed_logins`: the user's refused Access and WARP logins, newest first (the
/// last 100), as journaled by the control plane's simulated logins.
pub async fn failed_logins(ctx: Ctx, ids: Ids) -> Result<Response> {
    let caller = caller(&ctx, &ids, needs::USERS_READ).await?;
    let user = path_user(&ctx, &caller, &ids).await?;
    let records = ops::failed_logins(&ctx.state.store, &caller.tenant.account_id, &user.id, 100).await?;
    let items = records
        .iter()
        .map(|r| {
            let detail = |k: &str| r.detail.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            let app_name =
                if detail("kind") == "warp" { format!("WARP: {}", detail("device_name")) } else { detail("app_name") };
            json!({
                "metadata": {
                    "app_name": app_name,
                    "aud": detail("aud"),
                    "datetime": rfc3339(r.at),
                    "ray_id": format!("{:016x}", r.seq),
                    "user_email": user.email,
                    "user_uuid": user.id,
                },
            })
        })
        .collect();
    Ok(envelope::single_page(items))
}

// ---------------------------------------------------------------- applications

fn app_view(app: &App) -> Value {
    json!({
        "id": app.id,
        "uid": app.id,
        "type": app.kind,
        "name": app.name,
        "domain": app.domain,
        "aud": app.aud,
        "self_hosted_domains": [app.domain],
        "destinations": [{"type": "public", "uri": app.domain}],
        "session_duration": "24h",
        "app_launcher_visible": true,
        "created_at": rfc3339(app.created_at),
        "updated_at": rfc3339(app.created_at),
    })
}

/// The query of `GET .../access/apps`.
pub struct AppsQuery {
    page: i64,
    per_page: i64,
    exact: bool,
    name: Option<String>,
    domain: Option<String>,
    aud: Option<String>,
    search: Option<String>,
}

impl FromParams for AppsQuery {
    fn from_params(params: &Params) -> Result<Self> {
        Ok(AppsQuery {
            page: params.int("page", 1, 1_000_000)?.unwrap_or(1),
            per_page: params.int("per_page", 1, 1000)?.unwrap_or(1000),
            exact: params.bool("exact")?.unwrap_or(false),
            name: params.text("name"),
            domain: params.text("domain"),
            aud: params.text("aud"),
            search: params.text("search").map(|s| s.to_lowercase()),
        })
    }
}

impl AppsQuery {
    fn matches(&self, app: &App) -> bool {
        let field = |have: &str, want: &Option<String>| match want {
            None => true,
            Some(want) if self.exact => have == want,
            Some(want) => have.to_lowercase().contains(&want.to_lowercase()),
        };
        let searched = |s: &String| [&app.name, &app.domain, &app.aud].iter().any(|f| f.to_lowercase().contains(s));
        field(&app.name, &self.name)
            && field(&app.domain, &self.domain)
            && field(&app.aud, &self.aud)
            && self.search.as_ref().is_none_or(searched)
    }
}

/// `GET /{accounts|zones}/{id}/access/apps`: page-numbered; filters `name`, `domain`,
/// `aud` (substring, or equality with `exact=true`) and `search` (any of them).
pub async fn list_apps(ctx: Ctx, ids: Ids, query: CfQuery<AppsQuery>) -> Result<Response> {
    let caller = caller(&ctx, &ids, needs::APPS_LIST).await?;
    let query = query.read()?;
    let apps: Vec<App> = ops::list_apps(&ctx.state.store, &caller.tenant.account_id)
        .await?
        .into_iter()
        .filter(|a| query.matches(a))
        .collect();
    let (page, per_page) = (query.page, query.per_page);
    let total = apps.len() as i64;
    let items = apps.iter().skip(((page - 1) * per_page) as usize).take(per_page as usize).map(app_view).collect();
    Ok(envelope::page(items, page, per_page, total))
}
