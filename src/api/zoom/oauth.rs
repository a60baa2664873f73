//! `POST /oauth/token`: Server-to-Server OAuth (`grant_type=account_credentials`).
//! Errors use the OAuth endpoint's own shape, `{"reason", "error"}`.

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::ZoomError;
use super::provider;
use crate::api::{InternalFailure, body};
use crate::domain::error::STORAGE_FULL_RETRY_AFTER_SECONDS;
use crate::domain::ops;
use crate::domain::{Actor, Credential, Error, Tenant};
use crate::state::AppState;
use crate::throttle::SourceAddress;

fn oauth_error(error: &str, reason: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"reason": reason, "error": error}))).into_response()
}

/// A failure of userplane, in the OAuth shape: 503 `temporarily_unavailable` with
/// `Retry-After` when the storage is full, else 500 `server_error`; the cause is logged.
fn server_error(err: Error) -> Response {
    let mut response = match &err {
        Error::StorageFull(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, STORAGE_FULL_RETRY_AFTER_SECONDS.to_string())],
            Json(json!({"reason": "Temporarily unavailable", "error": "temporarily_unavailable"})),
        )
            .into_response(),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"reason": "Internal error", "error": "server_error"})))
            .into_response(),
    };
    response.extensions_mut().insert(InternalFailure(format!("oauth: {err}")));
    response
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// What a token request asks for, from the query (Zoom's docs) or a form body (Zoom's
/// sample app); the first of repeated names wins, and what does not parse is ignored.
struct TokenRequest {
    grant_type: Option<String>,
    account_id: Option<String>,
}

impl TokenRequest {
    fn parse(query: Option<&str>, body: &[u8]) -> TokenRequest {
        let mut params: Vec<(String, String)> =
            query.and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default();
        if let Ok(form) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) {
            params.extend(form);
        }
        let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        TokenRequest { grant_type: param("grant_type"), account_id: param("account_id") }
    }
}

/// Issues a one-hour access token to an app of the account, with the app's scopes.
pub async fn token(
    State(state): State<AppState>,
    address: SourceAddress,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let request = match body::read(body).await {
        Ok(bytes) => TokenRequest::parse(query.as_deref(), &bytes),
        Err(_) => return oauth_error("invalid_request", "Invalid request body"),
    };
    if request.grant_type.as_deref() != Some("account_credentials") {
        return oauth_error("unsupported_grant_type", "unsupported grant type");
    }
    let Some((client_id, secret)) = basic_credentials(&headers) else {
        return oauth_error("invalid_client", "Invalid client_id or client_secret");
    };
    let found = match ops::find_credential(&state.store, provider::APP, &client_id).await {
        Ok(found) => found,
        Err(err) => return server_error(err),
    };
    let Some((app, tenant)) = found.filter(|(app, _)| state.store.secrets().matches(&secret, &app.secret_hash)) else {
        // Counted against the address and the client id: past the limit, a 429.
        let keys = [address.key(), Some(format!("zoom_client:{client_id}"))];
        if let Some(seconds) = state.auth_throttle.failed(&keys) {
            return ZoomError::too_many_failed_attempts(seconds).into_response();
        }
        return oauth_error("invalid_client", "Invalid client_id or client_secret");
    };
    let Some(account_id) = request.account_id.filter(|a| !a.is_empty()) else {
        return oauth_error("invalid_request", "Missing account_id");
    };
    if account_id != tenant.account_id || tenant.provider != provider::PROVIDER {
        return oauth_error("invalid_request", "Invalid account_id");
    }
    if app.status != "active" {
        return oauth_error("invalid_client", "The app is deactivated");
    }
    grant(&state, &app, &tenant, &client_id, &headers).await
}

/// The access token for an admitted app: `me` is its owner, if the owner still exists.
async fn grant(state: &AppState, app: &Credential, tenant: &Tenant, client_id: &str, headers: &HeaderMap) -> Response {
    // An owner deleted since the app was made leaves the app without `me`.
    let owner = match &app.owner {
        Some(id) => match ops::resolve_principal(&state.store, &tenant.account_id, id).await {
            Ok(owner) => Some(owner),
            Err(Error::NotFound { .. }) => None,
            Err(err) => return server_error(err),
        },
        None => None,
    };
    let actor = Actor(format!("zoom_app:{client_id}"));
    let issued = ops::issue_token(
        ops::Ctx::new(&state.store, &state.clock, tenant, &actor),
        &provider::OAUTH_ACCESS,
        owner.as_ref(),
        Some(&app.id),
        app.grants.clone(),
        provider::OAUTH_ACCESS.ttl_ms,
        None,
    )
    .await;
    let (token, _) = match issued {
        Ok(issued) => issued,
        Err(err) => return server_error(err),
    };
    // api_url: where this account's API lives; for userplane, the host the client used.
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let body: Value = json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": provider::OAUTH_ACCESS.ttl_ms / 1000,
        "scope": app.grants.join(" "),
        "api_url": format!("http://{host}"),
    });
    (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}
