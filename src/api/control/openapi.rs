//! OpenAPI documents, public and embedded in the binary:
//! - `/_userplane/openapi.json`: the control plane, generated from the handlers'
//!   `#[utoipa::path]` annotations and the request/response types below;
//! - `/_userplane/openapi/zoom.json`, `/_userplane/openapi/cloudflare.json`: the slices of
//!   the providers' own documents that userplane implements (`src/api/openapi/`, cut by
//!   `make_slices.py`), each operation marked `x-userplane-implemented: true`.

use std::sync::LazyLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::handlers;

/// The control plane's document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "userplane control plane",
        description = "userplane's own API under /_userplane: tenants, simulated logins, introspection, \
                       the audit journal, the tenant clock, fault rules, the request journal, snapshots \
                       and forks, and the console's users. Every route but /health, the console's page \
                       and the OpenAPI documents takes the admin token as `Authorization: Bearer <token>`. Errors are \
                       `{\"error\": {\"code\", \"message\"}}`."
    ),
    paths(
        handlers::health,
        handlers::list_tenants,
        handlers::create_tenant,
        handlers::get_tenant,
        handlers::delete_tenant,
        handlers::reset_tenant,
        handlers::create_session,
        handlers::get_clock,
        handlers::change_clock,
        handlers::reset_all,
        handlers::journal,
        handlers::introspect,
        super::users::list,
        super::users::act,
        super::faults::list,
        super::faults::create,
        super::faults::delete_all,
        super::faults::delete_one,
        super::requests::list,
        super::requests::count,
        super::snapshots::list,
        super::snapshots::create,
        super::snapshots::delete,
        super::snapshots::restore,
        super::snapshots::fork,
        super::console::page,
        super::console::file,
        control_document,
        zoom_slice,
        cloudflare_slice,
    ),
    modifiers(&AdminToken),
    security(("admin_token" = [])),
    tags((name = "control", description = "userplane's control plane"), (name = "faults", description = "Fault rules: injected errors, resets, hangs and latency"),
        (name = "requests", description = "The request journal"), (name = "snapshots", description = "Snapshots and forks of a tenant"),
        (name = "users", description = "A tenant's users as the console shows them, and the admin's actions on one"),
        (name = "console", description = "The web console's page and assets"))
)]
pub struct ControlApi;

/// The admin token, a bearer token.
struct AdminToken;

impl Modify for AdminToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// A control-plane error.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable code: `invalid_request`, `unauthorized`, `not_found`, `conflict`, ...
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderName {
    Zoom,
    Cloudflare,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnOff {
    On,
    Off,
}

/// A tenant document: one provider's account with its users, apps and credentials (see
/// the README's "Worlds"). Secrets in it are kept as keyed hashes, never shown again.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum TenantDocument {
    Zoom(ZoomTenantDocument),
    Cloudflare(CloudflareTenantDocument),
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ZoomProvider {
    Zoom,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CloudflareProvider {
    Cloudflare,
}

/// A Zoom account.
// Optional fields are absent, not null: the server takes no null for them.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoomTenantDocument {
    pub provider: ZoomProvider,
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub account_id: String,
    /// `free` (the default), `pro`, `business`, `enterprise`.
    #[schema(nullable = false)]
    pub plan: Option<String>,
    #[schema(nullable = false)]
    pub rate_limits: Option<OnOff>,
    /// Server-to-Server OAuth apps: `{"client_id", "client_secret", "scopes", "owner"}`.
    #[schema(nullable = false)]
    pub apps: Option<Vec<Value>>,
    /// Users: `{"email", "first_name", "last_name", "type", "role", "status", ...}`.
    #[schema(nullable = false)]
    pub users: Option<Vec<Value>>,
}

/// A Cloudflare id: 32 hexadecimal digits.
#[derive(Serialize, ToSchema)]
#[schema(pattern = "^[0-9a-fA-F]{32}$")]
pub struct CloudflareId(String);

/// A Cloudflare account.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloudflareTenantDocument {
    pub provider: CloudflareProvider,
    /// 32 hexadecimal digits.
    #[schema(pattern = "^[0-9a-fA-F]{32}$")]
    pub account_id: String,
    #[schema(nullable = false)]
    pub rate_limits: Option<OnOff>,
    /// Zone ids, 32 hexadecimal digits each.
    #[schema(nullable = false, value_type = Option<Vec<CloudflareId>>)]
    pub zones: Option<Vec<String>>,
    /// API tokens: `{"id", "value", "permissions", "status"}`.
    #[schema(nullable = false)]
    pub api_tokens: Option<Vec<Value>>,
    /// Global API keys: `{"email", "key"}`.
    #[schema(nullable = false)]
    pub global_keys: Option<Vec<Value>>,
    /// The Access organization's settings (null: none).
    #[schema(value_type = Option<Object>)]
    pub organization: Option<Value>,
    #[schema(nullable = false)]
    pub apps: Option<Vec<Value>>,
    #[schema(nullable = false)]
    pub users: Option<Vec<Value>>,
    #[schema(nullable = false)]
    pub devices: Option<Vec<Value>>,
}

/// A tenant as the control plane shows it (its document without secrets or their hashes).
#[derive(Serialize, ToSchema)]
pub struct TenantView {
    pub account_id: String,
    pub provider: ProviderName,
    pub plan: String,
    pub rate_limits: OnOff,
    pub clock_offset_seconds: i64,
    /// RFC 3339.
    pub created_at: String,
    /// The tenant document; each secret is `<name>_set: true|false` instead.
    pub document: Value,
}

#[derive(Serialize, ToSchema)]
pub struct TenantList {
    pub tenants: Vec<TenantView>,
}

/// What a simulated login is: zoom `sso` or `user_oauth`; cloudflare `access` or `warp`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    Sso,
    UserOauth,
    Access,
    Warp,
}

/// A credential issued by a simulated login.
#[derive(Serialize, ToSchema)]
pub struct SessionCreated {
    /// The bearer secret: shown once, kept only as a keyed hash.
    pub token: String,
    pub kind: String,
    pub user: Option<String>,
    pub nonce: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// A tenant's clock.
#[derive(Serialize, ToSchema)]
pub struct ClockView {
    /// The tenant's time now, RFC 3339.
    pub now: String,
    pub offset_seconds: i64,
}

#[derive(Serialize, ToSchema)]
pub struct JournalEntry {
    pub seq: i64,
    /// RFC 3339, tenant clock.
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: Value,
}

#[derive(Serialize, ToSchema)]
pub struct JournalPage {
    pub entries: Vec<JournalEntry>,
}

/// RFC 7662-shaped: `active`, and for a token userplane issued what it knows of it.
#[derive(Serialize, ToSchema)]
pub struct IntrospectionView {
    pub active: bool,
    pub tenant: Option<String>,
    pub provider: Option<ProviderName>,
    pub kind: Option<String>,
    pub token_type: Option<String>,
    pub iat: Option<i64>,
    pub exp: Option<i64>,
    pub nonce: Option<String>,
    pub user: Option<String>,
    pub email: Option<String>,
    pub sub: Option<String>,
    pub client_id: Option<String>,
    pub scope: Option<String>,
    pub subject: Option<String>,
    /// Why it is not active: `expired`, `sessions_revoked`, `user_deactivated`, ...
    pub reason: Option<String>,
    /// RFC 3339, when it stopped being active (for any reason but expiry, when it was killed).
    pub revoked_at: Option<String>,
}

// ---------------------------------------------------------------- fault rules

/// A new fault rule (see the README's "Faults"): which requests, what happens to them,
/// how often. Checked strictly: an unknown field or a value out of range is a 400 naming it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultRuleRequest {
    /// Every field given must match; none given: every authenticated request.
    #[serde(rename = "match")]
    pub matcher: Option<FaultMatch>,
    pub effect: FaultEffect,
    /// Fires on this share of the matching requests (after `after`).
    #[schema(minimum = 0, maximum = 1)]
    pub probability: Option<f64>,
    /// Makes the `probability` draws reproducible: any whole number from 0 to 2^64 - 1.
    #[schema(schema_with = seed_schema)]
    pub seed: Option<u64>,
    /// Fires at most this many times.
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub times: Option<u64>,
    /// The first `after` matching requests pass untouched.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub after: Option<u64>,
    /// RFC 3339, on the tenant's clock: from then on the rule matches nothing.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

/// Which requests a rule applies to. Each text is 1 to 256 bytes, not only spaces.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultMatch {
    /// A dialect operation name of the tenant's provider (`zoom.users.status.update`).
    #[schema(min_length = 1, max_length = 256)]
    pub operation: Option<String>,
    /// GET, POST, PUT, PATCH or DELETE (any case).
    #[schema(
        pattern = r"^\s*([Gg][Ee][Tt]|[Pp][Oo][Ss][Tt]|[Pp][Uu][Tt]|[Pp][Aa][Tt][Cc][Hh]|[Dd][Ee][Ll][Ee][Tt][Ee])\s*$"
    )]
    pub method: Option<String>,
    /// A path starting with `/`, `*` for one segment, without a query.
    #[schema(pattern = r"^\s*/[^?# \x00]*\s*$", max_length = 256)]
    pub path: Option<String>,
    /// The target user: an id or an email.
    #[schema(min_length = 1, max_length = 256)]
    pub user: Option<String>,
    /// The credential's id: a Zoom client id, a Cloudflare token or key id.
    #[schema(min_length = 1, max_length = 256)]
    pub credential: Option<String>,
}

/// What a rule does: fail at once, add latency, or commit and then fail.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum FaultEffect {
    Failure(FaultFailure),
    Latency(LatencyEffect),
    CommitThen(CommitThenEffect),
}

/// The client's answer instead of the real one.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum FaultFailure {
    Status(StatusFailure),
    Reset(ResetFailure),
    Empty(EmptyFailure),
    Hang(HangFailure),
}

/// The provider's own error answer for this status.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusFailure {
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// `Retry-After`, in seconds (up to a day).
    #[schema(minimum = 0, maximum = 86_400)]
    pub retry_after: Option<u64>,
}

/// The connection is reset, no byte of an answer.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetFailure {
    #[schema(schema_with = only_true)]
    pub reset: bool,
}

/// The connection is closed without a byte.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyFailure {
    #[schema(schema_with = only_true)]
    pub empty: bool,
}

/// Nothing for this long, then the connection closes.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HangFailure {
    #[schema(minimum = 1, maximum = 300_000)]
    pub hang_ms: u64,
}

/// Waits, then gives the real answer.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LatencyEffect {
    pub latency_ms: LatencyMs,
}

/// A fixed wait or a uniform draw between two bounds (min not above max), in milliseconds.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum LatencyMs {
    Fixed(DelayMs),
    Uniform(LatencyBounds),
}

/// Milliseconds, up to 5 minutes.
#[derive(Serialize, ToSchema)]
#[schema(minimum = 0, maximum = 300_000)]
pub struct DelayMs(u64);

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LatencyBounds {
    #[schema(minimum = 0, maximum = 300_000)]
    pub min: u64,
    #[schema(minimum = 0, maximum = 300_000)]
    pub max: u64,
}

/// The request is handled and its change committed, then the client gets the failure.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitThenEffect {
    pub commit_then: FaultFailure,
}

/// A nullable whole number from 0 to `u64::MAX` (utoipa would say `int64`, which is narrower).
fn seed_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::schema::Type::Integer,
            utoipa::openapi::schema::Type::Null,
        ]))
        .minimum(Some(0))
        .maximum(Some(u64::MAX))
        .build()
}

/// `true`, the one value a flag effect takes.
fn only_true() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Boolean)
        .enum_values(Some([true]))
        .build()
}

/// A stored rule: as posted (canonical), with its id and counts.
#[derive(Serialize, ToSchema)]
pub struct FaultRule {
    pub id: String,
    #[serde(rename = "match")]
    #[schema(value_type = Object)]
    pub matcher: Value,
    #[schema(value_type = Object)]
    pub effect: Value,
    pub probability: Option<f64>,
    pub seed: Option<u64>,
    pub times: Option<u64>,
    pub after: u64,
    /// RFC 3339.
    pub expires_at: Option<String>,
    /// Matching requests counted so far.
    pub seen: u64,
    /// How many of them the rule answered.
    pub fired: u64,
    /// RFC 3339.
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct FaultRuleList {
    pub rules: Vec<FaultRule>,
}

#[derive(Serialize, ToSchema)]
pub struct Deleted {
    pub deleted: u64,
}

// ---------------------------------------------------------------- the request journal

/// One request a dialect answered for the tenant.
#[derive(Serialize, ToSchema)]
pub struct RequestEntry {
    pub seq: i64,
    /// RFC 3339 with milliseconds, the tenant's clock.
    pub at: String,
    /// RFC 3339 with milliseconds, the wall clock.
    pub wall_at: String,
    pub request_id: String,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// The credential's id, never its secret.
    pub credential_id: Option<String>,
    pub user: Option<String>,
    pub operation: Option<String>,
    pub status: u16,
    pub duration_ms: f64,
    pub error_code: Option<String>,
    /// `{"rule", "effect", ...}` when a fault rule answered.
    #[schema(value_type = Option<Object>)]
    pub fault: Option<Value>,
}

#[derive(Serialize, ToSchema)]
pub struct RequestPage {
    pub requests: Vec<RequestEntry>,
    /// The `after` of the next page; null when this page is not full.
    pub next_after: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct RequestCount {
    pub count: u64,
}

// ---------------------------------------------------------------- snapshots and forks

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotRequest {
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct SnapshotView {
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
    /// Bytes.
    pub size: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SnapshotList {
    pub snapshots: Vec<SnapshotView>,
}

#[derive(Serialize, ToSchema)]
pub struct SnapshotRestored {
    pub restored: String,
    /// The tenant's clock, RFC 3339, as it was when the snapshot was taken.
    pub now: String,
    pub frozen: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForkRequest {
    /// The new tenant's account id, in the provider's format.
    pub account_id: String,
}

/// A copy of a tenant under a new account id, with new secrets (shown once).
#[derive(Serialize, ToSchema)]
pub struct Forked {
    pub account_id: String,
    pub provider: ProviderName,
    pub forked_from: String,
    /// RFC 3339.
    pub now: String,
    #[schema(value_type = Object)]
    pub secrets: Value,
}

// ---------------------------------------------------------------- the console's users

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    Active,
    Inactive,
    Pending,
}

/// A user with their live sessions per kind and live device registrations.
#[derive(Serialize, ToSchema)]
pub struct ConsoleUser {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub status: UserStatus,
    /// Live sessions per session kind of the provider.
    pub sessions: std::collections::BTreeMap<String, u64>,
    pub devices: u64,
}

#[derive(Serialize, ToSchema)]
pub struct ConsoleUserPage {
    pub users: Vec<ConsoleUser>,
    /// The `after` of the next page; null on the last.
    pub next_after: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UserActionResult {
    pub user: ConsoleUser,
    /// False when the user was in that status already.
    pub changed: bool,
}

fn json(text: &'static str) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], text).into_response()
}

static CONTROL_DOCUMENT: LazyLock<String> =
    LazyLock::new(|| ControlApi::openapi().to_json().unwrap_or_else(|_| "{}".to_owned()));

/// This document.
#[utoipa::path(get, path = "/_userplane/openapi.json", tag = "control", security(()),
    responses((status = 200, description = "The control plane's OpenAPI document", content_type = "application/json", body = Object)))]
pub async fn control_document() -> Response {
    json(CONTROL_DOCUMENT.as_str())
}

/// The slice of Zoom's Users API v2 that userplane implements.
#[utoipa::path(get, path = "/_userplane/openapi/zoom.json", tag = "control", security(()),
    responses((status = 200, description = "Zoom's OpenAPI operations userplane implements", content_type = "application/json", body = Object)))]
pub async fn zoom_slice() -> Response {
    json(include_str!("../openapi/zoom.json"))
}

/// The slice of Cloudflare's API v4 that userplane implements.
#[utoipa::path(get, path = "/_userplane/openapi/cloudflare.json", tag = "control", security(()),
    responses((status = 200, description = "Cloudflare's OpenAPI operations userplane implements", content_type = "application/json", body = Object)))]
pub async fn cloudflare_slice() -> Response {
    json(include_str!("../openapi/cloudflare.json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::operation::OperationTable;

    /// `/v2/users/{userId}` and `/v2/users/{user_id}` are one route.
    fn shape(route: &str) -> String {
        let mut out = String::new();
        let mut in_param = false;
        for c in route.chars() {
            match c {
                '{' => {
                    in_param = true;
                    out.push_str("{}");
                }
                '}' => in_param = false,
                _ if in_param => {}
                _ => out.push(c),
            }
        }
        out
    }

    /// A slice has exactly the dialect's operations, each marked implemented and named.
    fn slice_matches(text: &str, table: OperationTable) {
        let document: Value = serde_json::from_str(text).unwrap();
        let mut in_slice = Vec::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                if ["parameters", "summary", "description"].contains(&method.as_str()) {
                    continue;
                }
                assert_eq!(operation["x-userplane-implemented"], true, "{method} {path}");
                let named = operation["x-userplane-operation"].as_str().unwrap();
                in_slice.push((method.to_uppercase(), shape(path), named.to_owned()));
            }
        }
        let mut in_table: Vec<_> =
            table.iter().map(|(m, r, name)| ((*m).to_owned(), shape(r), (*name).to_owned())).collect();
        in_slice.sort();
        in_table.sort();
        assert_eq!(in_slice, in_table);
    }

    #[test]
    fn the_zoom_slice_is_the_zoom_dialect() {
        slice_matches(include_str!("../openapi/zoom.json"), crate::api::zoom::OPERATIONS);
    }

    #[test]
    fn the_cloudflare_slice_is_the_cloudflare_dialect() {
        slice_matches(include_str!("../openapi/cloudflare.json"), crate::api::cloudflare::OPERATIONS);
    }

    /// The control document is valid JSON with the guarded routes behind the admin token.
    #[test]
    fn the_control_document_names_its_routes() {
        let document: Value = serde_json::from_str(&CONTROL_DOCUMENT).unwrap();
        assert!(document["openapi"].as_str().unwrap().starts_with("3."));
        let paths = document["paths"].as_object().unwrap();
        for path in [
            "/_userplane/tenants",
            "/_userplane/tenants/{tenant}/journal",
            "/_userplane/introspect",
            "/_userplane/tenants/{tenant}/faults",
            "/_userplane/tenants/{tenant}/requests",
            "/_userplane/tenants/{tenant}/snapshots",
            "/_userplane/tenants/{tenant}/users",
            "/_userplane/console",
        ] {
            assert!(paths.contains_key(path), "{path}");
        }
        assert_eq!(document["security"][0]["admin_token"], serde_json::json!([]));
        assert!(document["components"]["securitySchemes"]["admin_token"].is_object());
    }
}
