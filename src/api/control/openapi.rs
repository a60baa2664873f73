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
                       the audit journal and the tenant clock. Every route but /health and the OpenAPI \
                       documents takes the admin token as `Authorization: Bearer <token>`. Errors are \
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
        control_document,
        zoom_slice,
        cloudflare_slice,
    ),
    modifiers(&AdminToken),
    security(("admin_token" = [])),
    tags((name = "control", description = "userplane's control plane"))
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
        for path in ["/_userplane/tenants", "/_userplane/tenants/{tenant}/journal", "/_userplane/introspect"] {
            assert!(paths.contains_key(path), "{path}");
        }
        assert_eq!(document["security"][0]["admin_token"], serde_json::json!([]));
        assert!(document["components"]["securitySchemes"]["admin_token"].is_object());
    }
}
