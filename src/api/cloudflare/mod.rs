//! The Cloudflare API v4 dialect (Zero Trust / Access slice), nested under `/client/v4`.
//!
//! Every answer is the v4 envelope; errors always carry a non-2xx status; every answer
//! carries `Ratelimit` and `Ratelimit-Policy` (and `Retry-After` on a 429). The order of
//! checks is Cloudflare's: route and object ids (7003), credentials (9106 / 6003 / 9103 /
//! 9109), rate limit (971), the account or zone (9109), the permission group (10000),
//! then the request itself (12130) and the objects it names (12135).
//!
//! - [`access`]: revoke_user, the organization, users and their sessions, applications.
//! - [`devices`]: legacy devices, physical devices and registrations.
//! - [`tokens`]: token verification.
//! - [`auth`]: credentials, the rate limit, the permission groups each endpoint needs.

mod access;
mod auth;
mod devices;
pub mod dialect;
mod envelope;
mod error;
mod extract;
mod ids;
pub mod params;
pub mod provider;
pub mod tenant;
mod tokens;

pub use error::CfError;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{FromRequestParts, OriginalUri, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::api::operation::OperationTable;
use crate::state::AppState;

/// Cloudflare's operation names (stable: fault rules, the request journal and metrics use
/// them). Account and zone routes of one call share its name.
pub const OPERATIONS: OperationTable = &[
    ("POST", "/client/v4/accounts/{account_id}/access/organizations/revoke_user", "cloudflare.access.revoke_user"),
    ("POST", "/client/v4/zones/{zone_id}/access/organizations/revoke_user", "cloudflare.access.revoke_user"),
    ("GET", "/client/v4/accounts/{account_id}/access/organizations", "cloudflare.access.organization.get"),
    ("POST", "/client/v4/accounts/{account_id}/access/organizations", "cloudflare.access.organization.create"),
    ("PUT", "/client/v4/accounts/{account_id}/access/organizations", "cloudflare.access.organization.update"),
    ("GET", "/client/v4/zones/{zone_id}/access/organizations", "cloudflare.access.organization.get"),
    ("POST", "/client/v4/zones/{zone_id}/access/organizations", "cloudflare.access.organization.create"),
    ("PUT", "/client/v4/zones/{zone_id}/access/organizations", "cloudflare.access.organization.update"),
    ("GET", "/client/v4/accounts/{account_id}/access/users", "cloudflare.access.users.list"),
    (
        "GET",
        "/client/v4/accounts/{account_id}/access/users/{user_id}/active_sessions",
        "cloudflare.access.users.active_sessions.list",
    ),
    (
        "GET",
        "/client/v4/accounts/{account_id}/access/users/{user_id}/active_sessions/{nonce}",
        "cloudflare.access.users.active_sessions.get",
    ),
    (
        "GET",
        "/client/v4/accounts/{account_id}/access/users/{user_id}/last_seen_identity",
        "cloudflare.access.users.last_seen_identity.get",
    ),
    (
        "GET",
        "/client/v4/accounts/{account_id}/access/users/{user_id}/failed_logins",
        "cloudflare.access.users.failed_logins.list",
    ),
    ("GET", "/client/v4/accounts/{account_id}/access/apps", "cloudflare.access.apps.list"),
    ("GET", "/client/v4/zones/{zone_id}/access/apps", "cloudflare.access.apps.list"),
    ("GET", "/client/v4/accounts/{account_id}/devices", "cloudflare.devices.list"),
    ("GET", "/client/v4/accounts/{account_id}/devices/{device_id}", "cloudflare.devices.get"),
    ("POST", "/client/v4/accounts/{account_id}/devices/revoke", "cloudflare.devices.revoke"),
    ("POST", "/client/v4/accounts/{account_id}/devices/unrevoke", "cloudflare.devices.unrevoke"),
    ("GET", "/client/v4/accounts/{account_id}/devices/physical-devices", "cloudflare.devices.physical.list"),
    ("GET", "/client/v4/accounts/{account_id}/devices/physical-devices/{device_id}", "cloudflare.devices.physical.get"),
    (
        "POST",
        "/client/v4/accounts/{account_id}/devices/physical-devices/{device_id}/revoke",
        "cloudflare.devices.physical.revoke",
    ),
    ("GET", "/client/v4/accounts/{account_id}/devices/registrations", "cloudflare.devices.registrations.list"),
    (
        "GET",
        "/client/v4/accounts/{account_id}/devices/registrations/{registration_id}",
        "cloudflare.devices.registrations.get",
    ),
    (
        "POST",
        "/client/v4/accounts/{account_id}/devices/registrations/revoke",
        "cloudflare.devices.registrations.revoke",
    ),
    (
        "POST",
        "/client/v4/accounts/{account_id}/devices/registrations/unrevoke",
        "cloudflare.devices.registrations.unrevoke",
    ),
    ("GET", "/client/v4/user/tokens/verify", "cloudflare.user.tokens.verify"),
    ("GET", "/client/v4/accounts/{account_id}/tokens/verify", "cloudflare.accounts.tokens.verify"),
];

/// The Cloudflare routes: under `/client/v4`, and `/client/v4/` itself, which a nested
/// router does not see.
pub fn router() -> Router<AppState> {
    Router::new().nest("/client/v4", routes()).route("/client/v4/", root_route())
}

/// The routes below `/client/v4`.
fn routes() -> Router<AppState> {
    const ACCOUNT: &str = "/accounts/{account_id}";
    const ZONE: &str = "/zones/{zone_id}";
    const USER: &str = "/accounts/{account_id}/access/users/{user_id}";
    let organization =
        || get(access::get_organization).post(access::create_organization).put(access::update_organization);
    Router::new()
        .route(&format!("{ACCOUNT}/access/organizations/revoke_user"), post(access::revoke_user))
        .route(&format!("{ZONE}/access/organizations/revoke_user"), post(access::revoke_user))
        .route(&format!("{ACCOUNT}/access/organizations"), organization())
        .route(&format!("{ZONE}/access/organizations"), organization())
        .route(&format!("{ACCOUNT}/access/users"), get(access::list_users))
        .route(&format!("{USER}/active_sessions"), get(access::active_sessions))
        .route(&format!("{USER}/active_sessions/{{nonce}}"), get(access::active_session))
        .route(&format!("{USER}/last_seen_identity"), get(access::last_seen_identity))
        .route(&format!("{USER}/failed_logins"), get(access::failed_logins))
        .route(&format!("{ACCOUNT}/access/apps"), get(access::list_apps))
        .route(&format!("{ZONE}/access/apps"), get(access::list_apps))
        .route(&format!("{ACCOUNT}/devices"), get(devices::list_legacy))
        .route(&format!("{ACCOUNT}/devices/{{device_id}}"), get(devices::get_legacy))
        .route(&format!("{ACCOUNT}/devices/revoke"), post(devices::revoke_legacy))
        .route(&format!("{ACCOUNT}/devices/unrevoke"), post(devices::unrevoke_legacy))
        .route(&format!("{ACCOUNT}/devices/physical-devices"), get(devices::list_physical))
        .route(&format!("{ACCOUNT}/devices/physical-devices/{{device_id}}"), get(devices::get_physical))
        .route(&format!("{ACCOUNT}/devices/physical-devices/{{device_id}}/revoke"), post(devices::revoke_physical))
        .route(&format!("{ACCOUNT}/devices/registrations"), get(devices::list_registrations))
        .route(&format!("{ACCOUNT}/devices/registrations/{{registration_id}}"), get(devices::get_registration))
        .route(&format!("{ACCOUNT}/devices/registrations/revoke"), post(devices::revoke_registrations))
        .route(&format!("{ACCOUNT}/devices/registrations/unrevoke"), post(devices::unrevoke_registrations))
        .route("/user/tokens/verify", get(tokens::verify_user_token))
        .route(&format!("{ACCOUNT}/tokens/verify"), get(tokens::verify_account_token))
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(|r, n| crate::api::faults::layer(&dialect::SPEC, r, n)))
        .layer(axum::middleware::from_fn(|request, next| crate::api::operation::tag(OPERATIONS, request, next)))
        .layer(axum::middleware::from_fn(wire))
        .layer(axum::middleware::from_fn(crate::api::log_failures))
}

/// `/client/v4/` itself: for `.route` next to the nest.
fn root_route() -> axum::routing::MethodRouter<AppState> {
    axum::routing::any(unknown_route).layer(axum::middleware::from_fn(wire))
}

/// Any path under `/client/v4` that is not a route: 7003 + 7000.
async fn unknown_route(OriginalUri(uri): OriginalUri) -> CfError {
    CfError::no_route(uri.path())
}

/// A known path with another method: 7001.
async fn method_not_allowed(request: Request) -> CfError {
    CfError::method_not_available(request.method().as_str())
}

/// The limit on requests per token or key, and its window.
pub const RATE_LIMIT: u64 = 1200;
pub const RATE_WINDOW_SECONDS: i64 = 300;

/// What the rate limiter said about this request, for the response headers.
#[derive(Debug, Clone, Copy)]
pub struct RateState {
    pub remaining: u64,
    /// Seconds until the window resets.
    pub reset_seconds: i64,
    pub limited: bool,
}

/// Filled by [`auth::authenticate`] once the credential is known; read by [`wire`].
#[derive(Debug, Clone, Default)]
pub struct RateSlot(Arc<Mutex<Option<RateState>>>);

impl RateSlot {
    fn set(&self, state: RateState) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(state);
    }
    fn get(&self) -> Option<RateState> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The wire's safety net around every route: rate-limit headers on every answer, and
/// any framework default error body replaced by the v4 envelope.
async fn wire(mut request: Request, next: Next) -> Response {
    let slot = RateSlot::default();
    request.extensions_mut().insert(slot.clone());
    let path = request
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| request.uri().path().to_owned(), |u| u.path().to_owned());
    let method = request.method().as_str().to_owned();
    let mut response = next.run(request).await;
    let status = response.status();
    if (status.is_client_error() || status.is_server_error()) && !crate::api::is_json(response.headers()) {
        response = match status {
            StatusCode::NOT_FOUND => CfError::no_route(&path),
            StatusCode::METHOD_NOT_ALLOWED => CfError::method_not_available(&method),
            StatusCode::PAYLOAD_TOO_LARGE => crate::api::body::BodyError::TooLarge.into(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => crate::api::body::BodyError::UnsupportedType(String::new()).into(),
            s if s.is_server_error() => CfError { status: s, ..CfError::internal() },
            s => CfError { status: s, ..CfError::invalid(s.canonical_reason().unwrap_or("invalid request")) },
        }
        .into_response();
    }
    // Answers before a credential was known were not counted: they show the full quota.
    let state = slot.get().unwrap_or_else(|| RateState {
        remaining: RATE_LIMIT,
        reset_seconds: RATE_WINDOW_SECONDS
            - crate::domain::Clock.now(0).div_euclid(1000).rem_euclid(RATE_WINDOW_SECONDS),
        limited: false,
    });
    let headers = response.headers_mut();
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    put("ratelimit", format!("\"default\";r={};t={}", state.remaining, state.reset_seconds));
    put("ratelimit-policy", format!("\"default\";q={RATE_LIMIT};w={RATE_WINDOW_SECONDS}"));
    if state.limited {
        put("retry-after", state.reset_seconds.to_string());
    }
    response
}

/// What every handler needs from the request: the state, the headers, the full path,
/// the query string and the rate-limit slot.
pub struct Ctx {
    pub state: AppState,
    pub headers: HeaderMap,
    pub query: String,
    /// Where the request comes from, for the failed-authentication throttle.
    pub source: crate::throttle::SourceAddress,
    slot: RateSlot,
    /// The request's journal entry and fault (see `api::faults`).
    note: crate::api::faults::Note,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Ctx {
            state: state.clone(),
            headers: parts.headers.clone(),
            query: parts.uri.query().unwrap_or("").to_owned(),
            source: crate::throttle::SourceAddress::of(&parts.extensions),
            slot: parts.extensions.get::<RateSlot>().cloned().unwrap_or_default(),
            note: parts.extensions.get::<crate::api::faults::Note>().cloned().unwrap_or_default(),
        })
    }
}

impl Ctx {
    /// The query parameters (repeated keys kept).
    pub fn params(&self) -> Result<params::Params, CfError> {
        params::Params::parse(&self.query)
    }
}

/// Where an endpoint acts: an account, or a zone of an account.
#[derive(Debug, Clone)]
pub enum Scope {
    Account(String),
    Zone(String),
}

/// The ids in the path, checked: account and zone ids are 32 hex characters, user ids
/// UUIDs, other ids plain tokens. A malformed id is Cloudflare's 7003 "could not route".
pub struct Ids(HashMap<String, String>);

impl FromRequestParts<AppState> for Ids {
    type Rejection = CfError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let path =
            parts.extensions.get::<OriginalUri>().map_or_else(|| parts.uri.path().to_owned(), |u| u.path().to_owned());
        let Path(mut ids) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| CfError::no_route(&path))?;
        for (name, value) in ids.iter_mut() {
            *value = checked_path_id(name, value).ok_or_else(|| CfError::no_route(&path))?;
        }
        Ok(Ids(ids))
    }
}

impl Ids {
    /// The account or zone the path names.
    pub fn scope(&self) -> Scope {
        match (self.0.get("account_id"), self.0.get("zone_id")) {
            (Some(account), _) => Scope::Account(account.clone()),
            (None, Some(zone)) => Scope::Zone(zone.clone()),
            (None, None) => Scope::Account(String::new()),
        }
    }

    /// A path id by name ("" when the route has none by that name).
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }
}

/// A path id checked by its name, in its canonical form; None if malformed.
pub fn checked_path_id(name: &str, value: &str) -> Option<String> {
    match name {
        "account_id" | "zone_id" => is_tag(value).then(|| value.to_ascii_lowercase()),
        "user_id" => canonical_uuid(value),
        _ => is_plain_id(value).then(|| value.to_owned()),
    }
}

/// A Cloudflare tag: 32 hex characters.
fn is_tag(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A UUID, with or without dashes, in its dashed lower-case form.
pub fn canonical_uuid(id: &str) -> Option<String> {
    let plain: String = id.chars().filter(|c| *c != '-').collect::<String>().to_ascii_lowercase();
    let dashed_ok = id.len() == 36 && [8, 13, 18, 23].iter().all(|&i| id.as_bytes()[i] == b'-');
    if !(is_tag(&plain) && (dashed_ok || id.len() == 32)) {
        return None;
    }
    Some(format!("{}-{}-{}-{}-{}", &plain[..8], &plain[8..12], &plain[12..16], &plain[16..20], &plain[20..]))
}

fn is_plain_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
